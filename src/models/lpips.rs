//! LPIPS v0.1, AlexNet variant (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep
//! Features as a Perceptual Metric"): the distance most SR papers report beside PSNR. Both
//! images go through AlexNet's five convolutions; after each ReLU the feature vectors are
//! scaled to unit length, their squared difference is weighted by a learned linear head
//! (`ops::lpips`), averaged over the pixels, and the five layers' averages are summed.
//! 0 means identical; lower is closer.
//!
//! Parameter names are torchvision's `alexnet().features.{i}` and `lin{i}.weight` `[C]`, as
//! written by tools/convert_lpips_alex.py.

use crate::autograd::{self as ag, Tape, Var};
use crate::error::Result;
use crate::imaging::Planes;
use crate::nn::{io, Conv2d, Entry, Module};
use crate::rng::Rng;
use crate::{fail, Gpu, Tensor};
use std::path::{Path, PathBuf};

/// LPIPS' input scaling: images in [-1, 1], minus `SHIFT`, divided by `SCALE`.
const SHIFT: [f32; 3] = [-0.030, -0.088, -0.188];
const SCALE: [f32; 3] = [0.458, 0.448, 0.450];

/// AlexNet's convolutions: torchvision index, output channels, kernel, stride, padding, and
/// whether a 3x3 max pool every 2 pixels comes first.
const CONVS: [(usize, usize, usize, usize, usize, bool); 5] = [
    (0, 64, 11, 4, 2, false),
    (3, 192, 5, 1, 2, true),
    (6, 384, 3, 1, 1, true),
    (8, 256, 3, 1, 1, false),
    (10, 256, 3, 1, 1, false),
];

/// The smallest side AlexNet's two pools leave something of.
pub const MIN_SIDE: usize = 31;

/// Where `eval` and `compare` look for the converted weights.
pub fn default_weights() -> PathBuf {
    PathBuf::from("weights/lpips_alex.safetensors")
}

pub struct Lpips {
    /// Images in [0, 1] to LPIPS' input, as a fixed 1x1 convolution.
    input: (Tensor, Tensor),
    convs: Vec<Conv2d>,
    /// One weight per channel of each layer.
    heads: Vec<(String, Tensor)>,
}

impl Lpips {
    /// With random weights (tests; the real ones come from `load`). `width` scales the
    /// channel counts.
    pub fn new(gpu: &Gpu, seed: u64, width: f32) -> Lpips {
        let mut rng = Rng::new(seed);
        let mut cin = 3;
        let mut convs = Vec::new();
        let mut heads = Vec::new();
        for (n, &(i, c, k, stride, pad, _)) in CONVS.iter().enumerate() {
            let cout = ((c as f32 * width) as usize).max(1);
            let mut conv = Conv2d::new(
                gpu,
                &mut rng,
                &format!("features.{i}"),
                cin,
                cout,
                k,
                stride,
                true,
            );
            conv.pad = pad;
            convs.push(conv);
            // Non-negative, as LPIPS' trained heads are.
            let w: Vec<f32> = (0..cout).map(|_| rng.range(0.0, 0.2) as f32).collect();
            heads.push((
                format!("lin{n}.weight"),
                Tensor::from_slice(gpu, &[cout], &w),
            ));
            cin = cout;
        }
        // x' = (2x - 1 - shift) / scale per channel.
        let mut w = vec![0.0; 9];
        for c in 0..3 {
            w[c * 4] = 2.0 / SCALE[c];
        }
        let b: Vec<f32> = (0..3).map(|c| (-1.0 - SHIFT[c]) / SCALE[c]).collect();
        Lpips {
            input: (
                Tensor::from_slice(gpu, &[3, 3, 1, 1], &w),
                Tensor::from_slice(gpu, &[3], &b),
            ),
            convs,
            heads,
        }
    }

    /// Loads weights converted by tools/convert_lpips_alex.py.
    pub fn load(gpu: &Gpu, path: &Path) -> Result<Lpips> {
        let tool = "tools/convert_lpips_alex.py";
        let (file, first) =
            io::File::open_converted(path, tool, "features.0.weight", "LPIPS AlexNet")?;
        let lpips = Lpips::new(gpu, 0, first as f32 / 64.0);
        file.load_into(&lpips.entries(), false)?;
        Ok(lpips)
    }

    /// The five layers' features of images in [0, 1], [N, 3, H, W] with H, W >= MIN_SIDE.
    fn features(&self, t: &Tape, x: &Var) -> Vec<Var> {
        let (w, b) = (
            t.constant(self.input.0.clone()),
            t.constant(self.input.1.clone()),
        );
        let mut h = ag::conv2d(t, x, &w, Some(&b), 1, 0);
        let mut out = Vec::new();
        for (conv, &(.., pool_first)) in self.convs.iter().zip(&CONVS) {
            if pool_first {
                h = ag::max_pool(t, &h, 3, 2);
            }
            let w = t.constant(conv.weight.value());
            let b = conv.bias.as_ref().map(|b| t.constant(b.value()));
            h = ag::relu(t, &ag::conv2d(t, &h, &w, b.as_ref(), conv.stride, conv.pad));
            out.push(h.clone());
        }
        out
    }

    /// LPIPS between two batches of images in [0, 1], averaged over the batch: a one-element
    /// value. The weights are constants; gradients flow to both images.
    pub fn forward(&self, t: &Tape, a: &Var, b: &Var) -> Var {
        let (fa, fb) = (self.features(t, a), self.features(t, b));
        let mut total: Option<Var> = None;
        for ((x, y), (_, head)) in fa.iter().zip(&fb).zip(&self.heads) {
            let d = ag::mean(t, &ag::lpips_distance(t, x, y, head));
            total = Some(match total {
                Some(s) => ag::add(t, &s, &d),
                None => d,
            });
        }
        total.expect("five layers")
    }

    /// LPIPS between two RGB images of the same size in [0, 1]. Images whose tensors do not
    /// fit one storage binding are measured in tiles (`distance_maps_in_tiles`), to the same
    /// value.
    pub fn distance(&self, a: &Planes, b: &Planes) -> Result<f64> {
        check_pair(a, b)?;
        let maps = match self.tile_side(a.height, a.width)? {
            None => self.distance_maps(a, b)?,
            Some(side) => self.distance_maps_in_tiles(a, b, side)?,
        };
        Ok(mean_of_maps(&maps))
    }

    /// The side of the tiles `distance` measures an `h` x `w` image in on this GPU: none where
    /// the whole image fits one storage binding, else the largest tile that does (a multiple
    /// of `TILE_STEP`, with a core left inside its margins); an error where not even the
    /// smallest does.
    pub fn tile_side(&self, h: usize, w: usize) -> Result<Option<usize>> {
        if self.fits(h, w) {
            return Ok(None);
        }
        // The input alone takes 3 values a pixel: no larger tile fits.
        let values = self.input.0.gpu().max_binding() as usize / 4;
        let mut side = ((values / 3) as f64).sqrt() as usize / TILE_STEP * TILE_STEP;
        while side > 2 * TILE_MARGIN && !self.fits(side, side) {
            side -= TILE_STEP;
        }
        if side <= 2 * TILE_MARGIN {
            return fail!(
                "a {w}x{h} image is too large for LPIPS on this GPU (its largest buffer binding \
                 is {} bytes, too small even for tiles)",
                values * 4
            );
        }
        Ok(Some(side))
    }

    /// Whether LPIPS of an `h` x `w` image binds each of its tensors whole, as the
    /// convolutions do (at most a binding's values less one alignment: `ops::conv`): the
    /// input, the first layer's output (the largest activation: at full width 64 channels at
    /// a quarter of the side, 16 bytes a pixel) and the largest weights.
    fn fits(&self, h: usize, w: usize) -> bool {
        let gpu = self.input.0.gpu();
        let room = (gpu.max_binding() as usize / 4).saturating_sub(gpu.align_elements());
        let side = |n: usize| layer_sides(n).next().expect("five layers");
        let first = self.convs[0].weight.value().shape()[0] * side(h) * side(w);
        let weights = self.convs.iter().map(|c| c.weight.value().numel());
        weights.chain([3 * h * w, first]).all(|n| n <= room)
    }

    /// Each layer's distance at every position of two whole images, `(height, width, values)`
    /// a layer; LPIPS is the sum of their means.
    pub fn distance_maps(&self, a: &Planes, b: &Planes) -> Result<Vec<DistanceMap>> {
        check_pair(a, b)?;
        let gpu = self.input.0.gpu();
        let t = Tape::inference();
        let shape = [1, 3, a.height, a.width];
        let x = t.constant(Tensor::from_slice(gpu, &shape, &a.data));
        let y = t.constant(Tensor::from_slice(gpu, &shape, &b.data));
        let (fa, fb) = (self.features(&t, &x), self.features(&t, &y));
        Ok(fa
            .iter()
            .zip(&fb)
            .zip(&self.heads)
            .map(|((x, y), (_, head))| {
                let d = ag::lpips_distance(&t, x, y, head).value;
                let (_, _, h, w) = d.nchw();
                (h, w, d.to_vec())
            })
            .collect())
    }

    /// `distance_maps` of two images measured in tiles of at most `side` x `side` pixels (a
    /// multiple of `TILE_STEP` larger than 2 x `TILE_MARGIN`): the same maps, up to rounding,
    /// for images of any size from `MIN_SIDE` on.
    ///
    /// The images are cut into cores of `side - 2 * TILE_MARGIN` pixels; each core's tile adds
    /// `TILE_MARGIN` pixels of the image on every side where there are any. A tile starts at a
    /// multiple of 16 pixels, AlexNet's largest stride, so that every layer's positions in it
    /// are positions of the whole image's layer. Each layer's distance at a position is taken
    /// from the tile whose core holds the position's anchor (`STRIDES`): the margins cover
    /// everything it depends on, so it is the whole image's value.
    pub fn distance_maps_in_tiles(
        &self,
        a: &Planes,
        b: &Planes,
        side: usize,
    ) -> Result<Vec<DistanceMap>> {
        check_pair(a, b)?;
        assert!(
            side.is_multiple_of(TILE_STEP) && side > 2 * TILE_MARGIN,
            "lpips: tile side {side}"
        );
        let mut maps: Vec<DistanceMap> = layer_sides(a.height)
            .zip(layer_sides(a.width))
            .map(|(h, w)| (h, w, vec![0.0; h * w]))
            .collect();
        let core = side - 2 * TILE_MARGIN;
        let cores = |n: usize| (0..n).step_by(core).map(move |s| (s, (s + core).min(n)));
        for (y0, y1) in cores(a.height) {
            for (x0, x1) in cores(a.width) {
                let (ty, tx) = (
                    y0.saturating_sub(TILE_MARGIN),
                    x0.saturating_sub(TILE_MARGIN),
                );
                let (th, tw) = (
                    (y1 + TILE_MARGIN).min(a.height) - ty,
                    (x1 + TILE_MARGIN).min(a.width) - tx,
                );
                let tiles = self.distance_maps(&a.crop(ty, tx, th, tw), &b.crop(ty, tx, th, tw))?;
                for (((_, gw, whole), (h, w, d)), stride) in maps.iter_mut().zip(tiles).zip(STRIDES)
                {
                    // The tile's rows (or columns) i whose anchor lies in the core, and their
                    // index in the whole image's map (the tile starts at a multiple of the stride).
                    let owned = |first: usize, n: usize, lo: usize, hi: usize| {
                        (0..n)
                            .filter(move |i| (lo..hi).contains(&(first + i * stride)))
                            .map(move |i| (i, first / stride + i))
                    };
                    for (i, gi) in owned(ty, h, y0, y1) {
                        for (j, gj) in owned(tx, w, x0, x1) {
                            whole[gi * *gw + gj] = d[i * w + j];
                        }
                    }
                }
            }
        }
        Ok(maps)
    }
}

/// One layer's distances: height, width and the values, row after row.
pub type DistanceMap = (usize, usize, Vec<f32>);

/// LPIPS from its layers' maps: the sum of their means (in f64).
fn mean_of_maps(maps: &[DistanceMap]) -> f64 {
    maps.iter()
        .map(|(h, w, d)| d.iter().map(|&v| v as f64).sum::<f64>() / (h * w) as f64)
        .sum()
}

/// Two images LPIPS can compare: the same size, at least `MIN_SIDE` on each side.
fn check_pair(a: &Planes, b: &Planes) -> Result<()> {
    assert_eq!(
        (a.channels, a.height, a.width),
        (b.channels, b.height, b.width),
        "lpips: the images differ in size"
    );
    if a.height.min(a.width) < MIN_SIDE {
        return fail!(
            "LPIPS needs images of at least {MIN_SIDE}x{MIN_SIDE}, not {}x{}",
            a.width,
            a.height
        );
    }
    Ok(())
}

/// Tiles (`Lpips::distance_maps_in_tiles`) start at multiples of this: the stride of AlexNet's last
/// three layers, 4 x 2 x 2 (the first convolution, then two pools).
pub const TILE_STEP: usize = 16;

/// Each layer's stride in input pixels: its position i is anchored at input pixel i x stride
/// (its window reaches a little before and well after it).
const STRIDES: [usize; 5] = [4, 8, 16, 16, 16];

/// The pixels a tile adds around its core. A position of the last layer anchored at input
/// pixel p reads pixels p - 66 to p + 96 (conv1 11 wide, stride 4, padding 2; pool 3;
/// conv2 5, padding 2; pool 3; three convolutions 3 wide, padding 1), those of earlier layers
/// fewer; so a position in the core reads only pixels of its tile, or the image's own border
/// padding. The core's last anchor is 16 pixels before its end, so 81 would do on the right
/// and 66 on the left; 96 is the least multiple of `TILE_STEP` above both.
pub const TILE_MARGIN: usize = 96;

/// The five layers' sides for an image side `n`.
fn layer_sides(mut n: usize) -> impl Iterator<Item = usize> {
    CONVS
        .iter()
        .map(move |&(_, _, k, stride, pad, pool_first)| {
            if pool_first {
                n = (n - 3) / 2 + 1;
            }
            n = (n + 2 * pad - k) / stride + 1;
            n
        })
}

impl Module for Lpips {
    fn entries(&self) -> Vec<Entry> {
        let mut e: Vec<Entry> = self.convs.iter().flat_map(|c| c.entries()).collect();
        e.extend(
            self.heads
                .iter()
                .map(|(name, t)| Entry::Buffer(name.clone(), t.clone())),
        );
        e
    }
}

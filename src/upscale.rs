//! 4x upscaling of whole pictures with a trained generator, in tiles so that GPU memory stays
//! bounded whatever the image size. Each tile is run with a margin of context as wide as the
//! generator's receptive radius, and only its centre is kept, so the tiled result equals a
//! single pass up to float rounding: no seams.

use crate::error::Result;
use crate::imaging::resize::{resize, Edge};
use crate::imaging::symmetry::Symmetry;
use crate::imaging::{Picture, Planes};
use crate::models::{Generator, GeneratorConfig};
use crate::nn::{io, Module};
use crate::{Gpu, Tensor};
use std::path::{Path, PathBuf};

pub const SCALE: usize = 4;

/// Where the shipped weights are looked for when `--model` is not given.
pub fn default_weights() -> PathBuf {
    shipped("srresnet.safetensors")
}

/// A file of the shipped `weights/` folder, looked for beside the working directory, the
/// executable and the source; `weights/FILE` if none has it.
pub fn shipped(file: &str) -> PathBuf {
    let rel = Path::new("weights").join(file);
    let mut places = vec![PathBuf::from(".")];
    if let Ok(exe) = std::env::current_exe() {
        places.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    places.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    places
        .iter()
        .map(|p| p.join(&rel))
        .find(|p| p.exists())
        .unwrap_or(rel)
}

/// The models shipped in `weights/`, by the names `--model` takes.
pub const SHIPPED: [&str; 4] = ["srresnet", "srgan", "srgan_vgg22", "srgan_mse"];

/// What `--model` names: a shipped model by its name (`srresnet`, `srgan`: the file
/// `weights/NAME.safetensors`), else a path. A bare name that is neither is an error that
/// lists the shipped names.
pub fn model_path(arg: &Path) -> Result<PathBuf> {
    let Some(name) = arg.to_str().filter(|s| !s.contains(['/', '\\', '.'])) else {
        return Ok(arg.to_path_buf());
    };
    let file = shipped(&format!("{name}.safetensors"));
    if SHIPPED.contains(&name) || file.exists() {
        return Ok(file);
    }
    if arg.exists() {
        return Ok(arg.to_path_buf());
    }
    crate::fail!(
        "no model '{name}': the shipped ones are {}, or give a .safetensors file",
        SHIPPED.join(", ")
    )
}

/// Loads a generator file: its metadata gives the architecture, the tensors must match it.
pub fn load_generator(gpu: &Gpu, path: &Path) -> Result<Generator> {
    generator_of(gpu, &io::File::open(path)?)
}

/// `load_generator` of a file's bytes (what a browser has).
pub fn load_generator_bytes(gpu: &Gpu, bytes: Vec<u8>, name: &str) -> Result<Generator> {
    generator_of(gpu, &io::File::from_bytes(bytes, name)?)
}

fn generator_of(gpu: &Gpu, file: &io::File) -> Result<Generator> {
    let config = GeneratorConfig::from_metadata(&file.metadata())?;
    // Before anything is allocated for it: the file holds f32 tensors, the convolutions
    // among them, of the shapes its metadata promises.
    file.check_f32()?;
    for (name, shape) in config.conv_shapes() {
        file.check_tensor(&name, &shape)?;
    }
    let generator = Generator::new(gpu, config, 0);
    file.load_into(&generator.entries(), false)?;
    Ok(generator)
}

/// The 4x result `up` of `input` resized to `scale` times the input's size (bicubic, with
/// antialiasing when shrinking; rounded to whole pixels, at least 1), as Real-ESRGAN's
/// `--outscale`.
pub fn rescale(up: &Picture, input: &Picture, scale: f32) -> Picture {
    let (h, w) = output_size(input.rgb.height, input.rgb.width, scale);
    let fit = |p: &Planes| {
        let mut r = resize(p, h, w, Edge::Mirror);
        r.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
        r
    };
    Picture {
        rgb: fit(&up.rgb),
        alpha: up.alpha.as_ref().map(fit),
        gray: up.gray,
        sixteen_bit: up.sixteen_bit,
    }
}

/// The shard (of `n`) an image belongs to: FNV-1a 64 of its path relative to the folder, with
/// `/` between components, modulo `n`. It depends on nothing else, so it does not change when
/// images are added or removed, nor between machines.
pub fn shard_of(relative: &Path, n: u64) -> u64 {
    let text = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash % n.max(1)
}

/// The size of the result of upscaling an h x w image and resizing it to `outscale` times the
/// input's size (rounded to whole pixels, at least 1), as `rescale` makes it.
pub fn output_size(height: usize, width: usize, outscale: f32) -> (usize, usize) {
    if outscale == SCALE as f32 {
        return (height * SCALE, width * SCALE);
    }
    let side = |n: usize| ((n as f64 * outscale as f64).round() as usize).max(1);
    (side(height), side(width))
}

/// Refuses an upscale of an h x w image to `outscale` times its size whose result passes 16
/// times `--max-pixels` (the 4x result of the largest image read), or would not fit the
/// host's free memory (Linux; elsewhere the allocation decides): the 4x planes in f32 (twice
/// with `self_ensemble`: the sum and one pass), the resized ones, and the 8- or 16-bit image
/// written out.
pub fn check_output(height: usize, width: usize, outscale: f32, self_ensemble: bool) -> Result<()> {
    // In f64 first: an absurd scale must not overflow on its way to the message.
    let side = |n: usize| (n as f64 * outscale as f64).round().max(1.0);
    let (fh, fw) = (side(height), side(width));
    let most = crate::imaging::io::max_pixels().saturating_mul(16);
    if fh * fw > most as f64 {
        return crate::fail!(
            "--outscale {outscale} makes {width}x{height} into {fw:.0}x{fh:.0} ({:.2e} pixels), over the {} an output may have (16 x --max-pixels)",
            fh * fw,
            crate::imaging::io::pixels(most)
        );
    }
    let (oh, ow) = output_size(height, width, outscale);
    let pixels = oh as u64 * ow as u64;
    let up = (height * SCALE) as u64 * (width * SCALE) as u64;
    let resized = if outscale == SCALE as f32 {
        0
    } else {
        pixels * 3 * 4
    };
    let passes = if self_ensemble { 2 } else { 1 };
    let needed = passes * up * 3 * 4 + resized + pixels * 4 * 2 + (height * width) as u64 * 16;
    fits_in_memory(needed, || {
        format!("upscaling {width}x{height} to {ow}x{oh}")
    })
}

/// Refuses work that needs `needed` bytes where the host has fewer free, in one line that
/// starts with `what()`; where the system does not say (not Linux), the allocation decides.
pub fn fits_in_memory(needed: u64, what: impl FnOnce() -> String) -> Result<()> {
    match free_memory() {
        Some(free) if needed > free => crate::fail!(
            "{} needs about {} MB of memory; {} MB are free",
            what(),
            needed >> 20,
            free >> 20
        ),
        _ => Ok(()),
    }
}

/// The host's free memory in bytes (Linux's MemAvailable).
fn free_memory() -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = m.lines().find(|l| l.starts_with("MemAvailable:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

pub struct Upscaler<'a> {
    pub generator: &'a Generator,
    /// The generator with its batch norms folded into its convolutions, which runs.
    inference: Generator,
    /// Side of the tile kept from each pass, in LR pixels.
    pub tile: usize,
    /// Whether the tile side was asked for (then every image is cut into such tiles) or
    /// chosen from the GPU's limits (then an image that fits one pass is not cut).
    asked: bool,
    /// Whether each image is upscaled in its eight orientations and the results, turned
    /// back, averaged (`with_self_ensemble`).
    self_ensemble: bool,
    gpu: Gpu,
}

impl<'a> Upscaler<'a> {
    /// `tile` 0 picks the largest tile whose biggest activation fits one storage binding
    /// (at most 256 LR pixels with its context, to bound memory); another value cuts every
    /// image into tiles of that side.
    pub fn new(generator: &'a Generator, tile: usize, gpu: &Gpu) -> Upscaler<'a> {
        let asked = tile > 0;
        let margin = generator.receptive_radius();
        let tile = if tile > 0 {
            tile
        } else {
            // The largest activations hold 16 * C values per LR pixel (C channels at 4x, or
            // 4C at 2x).
            let per_pixel = 16 * generator.config.channels as u64 * 4;
            let side = ((gpu.max_binding() / per_pixel) as f64).sqrt() as usize;
            side.min(256).saturating_sub(2 * margin).max(16)
        };
        Upscaler {
            generator,
            inference: generator.folded(),
            tile,
            asked,
            self_ensemble: false,
            gpu: gpu.clone(),
        }
    }

    /// Self-ensemble (Timofte et al. 2016, "Seven ways to improve example-based single image
    /// super resolution"; EDSR's "+"): each image is upscaled as it is, rotated and mirrored,
    /// eight passes, and the eight results, turned back, are averaged. Eight times the work,
    /// for results that no longer depend on the image's orientation; weights/MODEL_CARD.md
    /// says what it measured.
    pub fn with_self_ensemble(mut self, on: bool) -> Upscaler<'a> {
        self.self_ensemble = on;
        self
    }

    /// One pass on the GPU: LR [N, 3, H, W] in [0, 1] -> SR [N, 3, 4H, 4W] in [-1, 1].
    pub fn upscale_tensor(&self, lr: &Tensor) -> Tensor {
        self.inference.upscale(lr)
    }

    /// RGB planes in [0, 1] -> 4x RGB planes in [0, 1].
    pub fn upscale(&self, lr: &Planes) -> Planes {
        self.run(lr, None)
    }

    /// The tiles of an image of `h` x `w` LR pixels: (top, left, height, width) of each part
    /// kept; each is run with a margin of context around it.
    pub fn tiles(&self, h: usize, w: usize) -> Vec<(usize, usize, usize, usize)> {
        let margin = self.generator.receptive_radius();
        // Unless tiles were asked for, an image that fits one pass with the margins a tile
        // would have needs no tiles.
        let tile = if !self.asked && h.max(w) <= self.tile + 2 * margin {
            h.max(w)
        } else {
            self.tile
        };
        let mut all = Vec::new();
        for ty in (0..h).step_by(tile) {
            for tx in (0..w).step_by(tile) {
                all.push((ty, tx, tile.min(h - ty), tile.min(w - tx)));
            }
        }
        all
    }

    /// Whether `with_self_ensemble` asked for eight passes.
    pub fn is_self_ensemble(&self) -> bool {
        self.self_ensemble
    }

    /// How many times `upscale_observed` reports progress on an h x w image: once per
    /// convolution of each tile of each pass.
    pub fn reports(&self, h: usize, w: usize) -> usize {
        let passes = if self.self_ensemble {
            Symmetry::ALL.len()
        } else {
            1
        };
        passes * self.tiles(h, w).len() * self.generator.convolutions()
    }

    /// `upscale`, calling `progress(done, total)` as each convolution of each tile is done
    /// (waiting for the GPU after each: for progress through long work, not for speed).
    pub fn upscale_observed(&self, lr: &Planes, progress: &mut dyn FnMut(usize, usize)) -> Planes {
        self.run(lr, Some(progress))
    }

    fn run(&self, lr: &Planes, mut progress: Option<&mut dyn FnMut(usize, usize)>) -> Planes {
        if !self.self_ensemble {
            return self.run_once(lr, progress);
        }
        // As `upscale_async` does it. Each orientation has as many tiles (`tiles` counts
        // ceil(h / tile) x ceil(w / tile), the same transposed), so pass i's reports follow
        // pass i - 1's.
        let mut sum = Planes::new(3, lr.height * SCALE, lr.width * SCALE);
        let n = Symmetry::ALL.len();
        for (i, s) in Symmetry::ALL.into_iter().enumerate() {
            let moved = s.apply(lr);
            let up = match progress.as_mut() {
                Some(report) => {
                    let mut report = |done, total| report(i * total + done, n * total);
                    self.run_once(&moved, Some(&mut report))
                }
                // Without progress to report, no waiting for the GPU after each layer.
                None => self.run_once(&moved, None),
            };
            s.add_undone(&mut sum, &up);
        }
        mean_of(sum, n)
    }

    /// One pass over the image as it is, in tiles.
    fn run_once(&self, lr: &Planes, mut progress: Option<&mut dyn FnMut(usize, usize)>) -> Planes {
        let gpu = &self.gpu;
        let mut out = Planes::new(3, lr.height * SCALE, lr.width * SCALE);
        let tiles = self.tiles(lr.height, lr.width);
        let total = tiles.len() * self.generator.convolutions();
        let mut done = 0;
        for tile in tiles {
            let (sr, cut) = self.record_tile(lr, tile, &mut || {
                if let Some(report) = progress.as_mut() {
                    gpu.finish();
                    done += 1;
                    report(done, total);
                }
            });
            paste(&mut out, sr.to_vec(), &cut);
        }
        out
    }

    /// `upscale` awaiting each tile's result instead of blocking (a browser's page must not
    /// block); `tile_done(done, total)` after each tile. The same tiles and kernels.
    pub async fn upscale_async(
        &self,
        lr: &Planes,
        tile_done: &mut dyn FnMut(usize, usize),
    ) -> Planes {
        if !self.self_ensemble {
            return self.once_async(lr, tile_done).await;
        }
        // As `run` does it.
        let mut sum = Planes::new(3, lr.height * SCALE, lr.width * SCALE);
        let n = Symmetry::ALL.len();
        for (i, s) in Symmetry::ALL.into_iter().enumerate() {
            let mut report = |done, total| tile_done(i * total + done, n * total);
            let up = self.once_async(&s.apply(lr), &mut report).await;
            s.add_undone(&mut sum, &up);
        }
        mean_of(sum, n)
    }

    /// `upscale_async` of one pass over the image as it is.
    async fn once_async(&self, lr: &Planes, tile_done: &mut dyn FnMut(usize, usize)) -> Planes {
        let mut out = Planes::new(3, lr.height * SCALE, lr.width * SCALE);
        let tiles = self.tiles(lr.height, lr.width);
        let total = tiles.len();
        for (i, tile) in tiles.into_iter().enumerate() {
            let (sr, cut) = self.record_tile(lr, tile, &mut || {});
            paste(&mut out, sr.to_vec_async().await, &cut);
            tile_done(i + 1, total);
        }
        out
    }

    /// Records the pass of one tile (top, left, height, width of the part kept) with its
    /// margin of context: its result on the GPU, and where that lands.
    fn record_tile(
        &self,
        lr: &Planes,
        (ty, tx, th, tw): (usize, usize, usize, usize),
        after_layer: &mut dyn FnMut(),
    ) -> (Tensor, Cut) {
        let margin = self.generator.receptive_radius();
        let (h, w) = (lr.height, lr.width);
        let (y0, x0) = (ty.saturating_sub(margin), tx.saturating_sub(margin));
        let (y1, x1) = ((ty + th + margin).min(h), (tx + tw + margin).min(w));
        let input = lr.crop(y0, x0, y1 - y0, x1 - x0);
        let t = Tensor::from_slice(&self.gpu, &[1, 3, input.height, input.width], &input.data);
        let cut = Cut {
            height: input.height * SCALE,
            width: input.width * SCALE,
            keep: ((ty - y0) * SCALE, (tx - x0) * SCALE, th * SCALE, tw * SCALE),
            at: (ty * SCALE, tx * SCALE),
        };
        (self.inference.upscale_observed(&t, after_layer), cut)
    }

    /// A whole picture: colour through the generator, alpha (if any) by bicubic.
    pub fn upscale_picture(&self, pic: &Picture) -> Picture {
        self.upscale_picture_observed(pic, None)
    }

    /// `upscale_picture`, with progress through its convolutions (see `upscale_observed`).
    pub fn upscale_picture_observed(
        &self,
        pic: &Picture,
        progress: Option<&mut dyn FnMut(usize, usize)>,
    ) -> Picture {
        with_alpha(self.run(&pic.rgb, progress), pic)
    }

    /// `upscale_picture` awaiting each tile (see `upscale_async`).
    pub async fn upscale_picture_async(
        &self,
        pic: &Picture,
        tile_done: &mut dyn FnMut(usize, usize),
    ) -> Picture {
        with_alpha(self.upscale_async(&pic.rgb, tile_done).await, pic)
    }
}

/// The 4x picture of `pic` from its upscaled colour: alpha (if any) by bicubic.
fn with_alpha(rgb: Planes, pic: &Picture) -> Picture {
    let alpha = pic.alpha.as_ref().map(|a| {
        let mut up = resize(a, a.height * SCALE, a.width * SCALE, Edge::Mirror);
        up.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
        up
    });
    Picture {
        rgb,
        alpha,
        gray: pic.gray,
        sixteen_bit: pic.sixteen_bit,
    }
}

/// `sum` divided by `n`.
fn mean_of(mut sum: Planes, n: usize) -> Planes {
    sum.data.iter_mut().for_each(|v| *v /= n as f32);
    sum
}

/// Where a tile's 4x result lands: its size, the part kept (top, left, height, width) and
/// where that goes in the whole output.
struct Cut {
    height: usize,
    width: usize,
    keep: (usize, usize, usize, usize),
    at: (usize, usize),
}

/// Pastes the kept part of a tile's result (in [-1, 1]) into `out` (in [0, 1]).
fn paste(out: &mut Planes, sr: Vec<f32>, cut: &Cut) {
    let mut sr = Planes {
        channels: 3,
        height: cut.height,
        width: cut.width,
        data: sr,
    };
    sr.data
        .iter_mut()
        .for_each(|v| *v = ((*v + 1.0) / 2.0).clamp(0.0, 1.0));
    let (y, x, h, w) = cut.keep;
    out.paste(&sr.crop(y, x, h, w), cut.at.0, cut.at.1);
}

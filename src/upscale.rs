//! 4x upscaling of whole pictures with a trained generator, in tiles so that GPU memory stays
//! bounded whatever the image size. Each tile is run with a margin of context as wide as the
//! generator's receptive radius, and only its centre is kept, so the tiled result equals a
//! single pass up to float rounding: no seams.

use crate::error::Result;
use crate::imaging::resize::{resize, Edge};
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

/// What `--model` names: a shipped model by its name (`srresnet`, `srgan`: the file
/// `weights/NAME.safetensors`), else a path.
pub fn model_path(arg: &Path) -> PathBuf {
    if let Some(name) = arg.to_str().filter(|s| !s.contains(['/', '\\', '.'])) {
        let file = shipped(&format!("{name}.safetensors"));
        if file.exists() {
            return file;
        }
    }
    arg.to_path_buf()
}

/// Loads a generator file: its metadata gives the architecture, the tensors must match it.
pub fn load_generator(gpu: &Gpu, path: &Path) -> Result<Generator> {
    let file = io::File::open(path)?;
    let config = GeneratorConfig::from_metadata(&file.metadata())?;
    if config.conv_weights() * 4 > file.len() {
        return crate::fail!(
            "{} does not match the model: {} blocks of {} channels need {:.1} MB of weights, the file has {:.1} MB",
            path.display(),
            config.blocks,
            config.channels,
            (config.conv_weights() * 4) as f64 / 1e6,
            file.len() as f64 / 1e6
        );
    }
    let generator = Generator::new(gpu, config, 0);
    file.load_into(&generator.entries(), false)?;
    Ok(generator)
}

/// The 4x result `up` of `input` resized to `scale` times the input's size (bicubic, with
/// antialiasing when shrinking; rounded to whole pixels, at least 1), as Real-ESRGAN's
/// `--outscale`.
pub fn rescale(up: &Picture, input: &Picture, scale: f32) -> Picture {
    let side = |n: usize| ((n as f64 * scale as f64).round() as usize).max(1);
    let (h, w) = (side(input.rgb.height), side(input.rgb.width));
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

/// Refuses an upscale whose result would not fit the host's free memory (Linux; elsewhere
/// the allocation decides): the 4x planes in f32, plus the 8- or 16-bit image written out.
pub fn check_host_memory(height: usize, width: usize) -> Result<()> {
    let out_pixels = (height * SCALE) as u64 * (width * SCALE) as u64;
    let needed = out_pixels * (3 * 4 + 4 * 2) + (height * width) as u64 * 16;
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemAvailable:"))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    });
    match available {
        Some(free) if needed > free => crate::fail!(
            "upscaling {width}x{height} needs about {} MB of memory; {} MB are free",
            needed >> 20,
            free >> 20
        ),
        _ => Ok(()),
    }
}

pub struct Upscaler<'a> {
    pub generator: &'a Generator,
    /// The generator with its batch norms folded into its convolutions, which runs.
    inference: Generator,
    /// Side of the tile kept from each pass, in LR pixels.
    pub tile: usize,
    gpu: Gpu,
}

impl<'a> Upscaler<'a> {
    /// `tile` 0 picks the largest tile whose biggest activation fits one storage binding
    /// (at most 256 LR pixels with its context, to bound memory).
    pub fn new(generator: &'a Generator, tile: usize, gpu: &Gpu) -> Upscaler<'a> {
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
            gpu: gpu.clone(),
        }
    }

    /// One pass on the GPU: LR [N, 3, H, W] in [0, 1] -> SR [N, 3, 4H, 4W] in [-1, 1].
    pub fn upscale_tensor(&self, lr: &Tensor) -> Tensor {
        self.inference.upscale(lr)
    }

    /// RGB planes in [0, 1] -> 4x RGB planes in [0, 1].
    pub fn upscale(&self, lr: &Planes) -> Planes {
        let gpu = &self.gpu;
        let margin = self.generator.receptive_radius();
        let (h, w) = (lr.height, lr.width);
        let mut out = Planes::new(3, h * SCALE, w * SCALE);
        // An image that fits one pass with the margins a tile would have needs no tiles.
        let tile = if h.max(w) <= self.tile + 2 * margin {
            h.max(w)
        } else {
            self.tile
        };
        for ty in (0..h).step_by(tile) {
            for tx in (0..w).step_by(tile) {
                let (th, tw) = (tile.min(h - ty), tile.min(w - tx));
                let (y0, x0) = (ty.saturating_sub(margin), tx.saturating_sub(margin));
                let (y1, x1) = ((ty + th + margin).min(h), (tx + tw + margin).min(w));
                let input = lr.crop(y0, x0, y1 - y0, x1 - x0);
                let t = Tensor::from_slice(gpu, &[1, 3, input.height, input.width], &input.data);
                let sr = self.upscale_tensor(&t).to_vec();
                let mut sr = Planes {
                    channels: 3,
                    height: input.height * SCALE,
                    width: input.width * SCALE,
                    data: sr,
                };
                sr.data
                    .iter_mut()
                    .for_each(|v| *v = ((*v + 1.0) / 2.0).clamp(0.0, 1.0));
                let keep = sr.crop((ty - y0) * SCALE, (tx - x0) * SCALE, th * SCALE, tw * SCALE);
                out.paste(&keep, ty * SCALE, tx * SCALE);
            }
        }
        out
    }

    /// A whole picture: colour through the generator, alpha (if any) by bicubic.
    pub fn upscale_picture(&self, pic: &Picture) -> Picture {
        let rgb = self.upscale(&pic.rgb);
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
}

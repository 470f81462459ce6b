//! Reading and writing PNG and JPEG. Any input becomes RGB planes in [0, 1] (grayscale is
//! repeated to three channels; 16-bit precision is kept in the floats) plus, when the file has
//! one, its alpha plane; the output is written back in the same kind (gray, RGB, RGBA) and,
//! for PNG, the same bit depth.

use super::Planes;
use crate::error::{Context, Result};
use crate::fail;
use image::{DynamicImage, ImageBuffer, Luma, LumaA, Rgb, Rgba};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Clone, Debug)]
pub struct Picture {
    pub rgb: Planes,
    pub alpha: Option<Planes>,
    pub gray: bool,
    pub sixteen_bit: bool,
}

/// Images of more pixels than this are refused before decoding (see `set_max_pixels`).
static MAX_PIXELS: AtomicU64 = AtomicU64::new(DEFAULT_MAX_PIXELS);

/// 50 Mpixel: a large camera photo. Decoded into f32 planes it takes 800 MB, upscaled 16x
/// as much.
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;

/// Raises or lowers the largest image `load` accepts (the `--max-pixels` flag).
pub fn set_max_pixels(pixels: u64) {
    MAX_PIXELS.store(pixels, Relaxed);
}

pub fn max_pixels() -> u64 {
    MAX_PIXELS.load(Relaxed)
}

pub fn load(path: &Path) -> Result<Picture> {
    // The header says how large the image is: a small file can declare gigapixels.
    let (w, h) = image::ImageReader::open(path)
        .context(format!("cannot open {}", path.display()))?
        .with_guessed_format()
        .context(format!("cannot read {}", path.display()))?
        .into_dimensions()
        .context(format!("{} is not a readable image", path.display()))?;
    if w as u64 * h as u64 > max_pixels() {
        return fail!(
            "{} is {w}x{h}, over the limit of {} Mpixel (--max-pixels raises it)",
            path.display(),
            max_pixels() / 1_000_000
        );
    }
    let img = image::ImageReader::open(path)
        .context(format!("cannot open {}", path.display()))?
        .with_guessed_format()
        .context(format!("cannot read {}", path.display()))?
        .decode()
        .context(format!("{} is not a readable image", path.display()))?;
    let gray = matches!(
        img,
        DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLuma16(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageLumaA16(_)
    );
    let has_alpha = img.color().has_alpha();
    let sixteen_bit = img.color().bytes_per_pixel() / img.color().channel_count() as u8 >= 2;
    let rgba = img.to_rgba32f();
    let (w, h) = (rgba.width() as usize, rgba.height() as usize);
    if w == 0 || h == 0 {
        return fail!("{} is empty", path.display());
    }
    let mut rgb = Planes::new(3, h, w);
    let mut alpha = Planes::new(1, h, w);
    for (i, p) in rgba.pixels().enumerate() {
        for c in 0..3 {
            rgb.data[c * h * w + i] = p.0[c].clamp(0.0, 1.0);
        }
        alpha.data[i] = p.0[3].clamp(0.0, 1.0);
    }
    Ok(Picture {
        rgb,
        alpha: has_alpha.then_some(alpha),
        gray,
        sixteen_bit,
    })
}

/// Loads an image as RGB planes only.
pub fn load_rgb(path: &Path) -> Result<Planes> {
    Ok(load(path)?.rgb)
}

pub fn save(path: &Path, pic: &Picture) -> Result<()> {
    let (h, w) = (pic.rgb.height, pic.rgb.width);
    let jpeg = matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
            .as_deref(),
        Some("jpg" | "jpeg")
    );
    let deep = pic.sixteen_bit && !jpeg;
    let value = |c: usize, i: usize| pic.rgb.data[c * h * w + i].clamp(0.0, 1.0);
    let luma = |i: usize| 0.299 * value(0, i) + 0.587 * value(1, i) + 0.114 * value(2, i);
    let alpha = |i: usize| {
        pic.alpha
            .as_ref()
            .map_or(1.0, |a| a.data[i].clamp(0.0, 1.0))
    };
    let q8 = |v: f32| (v * 255.0).round() as u8;
    let q16 = |v: f32| (v * 65535.0).round() as u16;
    let (w32, h32) = (w as u32, h as u32);
    let idx = |x: u32, y: u32| y as usize * w + x as usize;
    // JPEG has no alpha channel: drop it there.
    let with_alpha = pic.alpha.is_some() && !jpeg;
    let img: DynamicImage = match (pic.gray, with_alpha, deep) {
        (true, false, false) => {
            ImageBuffer::from_fn(w32, h32, |x, y| Luma([q8(luma(idx(x, y)))])).into()
        }
        (true, false, true) => {
            ImageBuffer::from_fn(w32, h32, |x, y| Luma([q16(luma(idx(x, y)))])).into()
        }
        (true, true, false) => ImageBuffer::from_fn(w32, h32, |x, y| {
            LumaA([q8(luma(idx(x, y))), q8(alpha(idx(x, y)))])
        })
        .into(),
        (true, true, true) => ImageBuffer::from_fn(w32, h32, |x, y| {
            LumaA([q16(luma(idx(x, y))), q16(alpha(idx(x, y)))])
        })
        .into(),
        (false, false, false) => ImageBuffer::from_fn(w32, h32, |x, y| {
            let i = idx(x, y);
            Rgb([q8(value(0, i)), q8(value(1, i)), q8(value(2, i))])
        })
        .into(),
        (false, false, true) => ImageBuffer::from_fn(w32, h32, |x, y| {
            let i = idx(x, y);
            Rgb([q16(value(0, i)), q16(value(1, i)), q16(value(2, i))])
        })
        .into(),
        (false, true, false) => ImageBuffer::from_fn(w32, h32, |x, y| {
            let i = idx(x, y);
            Rgba([
                q8(value(0, i)),
                q8(value(1, i)),
                q8(value(2, i)),
                q8(alpha(i)),
            ])
        })
        .into(),
        (false, true, true) => ImageBuffer::from_fn(w32, h32, |x, y| {
            let i = idx(x, y);
            Rgba([
                q16(value(0, i)),
                q16(value(1, i)),
                q16(value(2, i)),
                q16(alpha(i)),
            ])
        })
        .into(),
    };
    let format = output_format(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).context(format!("cannot create {}", dir.display()))?;
    }
    // Encoded into a temporary file beside the target, then renamed over it: a full disk or a
    // crash leaves any earlier file at `path` whole.
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, format)
        .context(format!("cannot encode {}", path.display()))?;
    crate::nn::io::write_atomically(path, bytes.get_ref())
}

/// The format an output path asks for by its extension: PNG or JPEG. Called before any work,
/// so that a name the program cannot write is refused before minutes of upscaling.
pub fn output_format(path: &Path) -> Result<image::ImageFormat> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("png") => Ok(image::ImageFormat::Png),
        Some("jpg" | "jpeg") => Ok(image::ImageFormat::Jpeg),
        _ => fail!(
            "cannot write {}: output images are PNG or JPEG (.png, .jpg)",
            path.display()
        ),
    }
}

/// Writes RGB planes as an 8-bit RGB image.
pub fn save_rgb(path: &Path, rgb: &Planes) -> Result<()> {
    save(
        path,
        &Picture {
            rgb: rgb.clone(),
            alpha: None,
            gray: false,
            sixteen_bit: false,
        },
    )
}

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

/// The picture as an image to encode: gray or RGB, with alpha unless for JPEG (which has no
/// alpha channel), in 16 bits where it was read so unless for JPEG (8 bits only).
fn to_image(pic: &Picture, jpeg: bool) -> DynamicImage {
    let (h, w) = (pic.rgb.height, pic.rgb.width);
    let value = |c: usize, i: usize| pic.rgb.data[c * h * w + i].clamp(0.0, 1.0);
    let luma = |i: usize| 0.299 * value(0, i) + 0.587 * value(1, i) + 0.114 * value(2, i);
    let mut channels: Vec<Box<dyn Fn(usize) -> f32 + '_>> = if pic.gray {
        vec![Box::new(luma)]
    } else {
        (0..3)
            .map(|c| Box::new(move |i| value(c, i)) as Box<dyn Fn(usize) -> f32>)
            .collect()
    };
    if let Some(a) = pic.alpha.as_ref().filter(|_| !jpeg) {
        channels.push(Box::new(move |i| a.data[i].clamp(0.0, 1.0)));
    }
    // Interleaved samples, pixel by pixel.
    let samples = (0..h * w).flat_map(|i| channels.iter().map(move |c| c(i)));
    let (w, h) = (w as u32, h as u32);
    let made = "a buffer of the picture's size";
    if pic.sixteen_bit && !jpeg {
        let data: Vec<u16> = samples.map(|v| (v * 65535.0).round() as u16).collect();
        match channels.len() {
            1 => ImageBuffer::<Luma<u16>, _>::from_raw(w, h, data)
                .expect(made)
                .into(),
            2 => ImageBuffer::<LumaA<u16>, _>::from_raw(w, h, data)
                .expect(made)
                .into(),
            3 => ImageBuffer::<Rgb<u16>, _>::from_raw(w, h, data)
                .expect(made)
                .into(),
            _ => ImageBuffer::<Rgba<u16>, _>::from_raw(w, h, data)
                .expect(made)
                .into(),
        }
    } else {
        let data: Vec<u8> = samples.map(|v| (v * 255.0).round() as u8).collect();
        match channels.len() {
            1 => ImageBuffer::<Luma<u8>, _>::from_raw(w, h, data)
                .expect(made)
                .into(),
            2 => ImageBuffer::<LumaA<u8>, _>::from_raw(w, h, data)
                .expect(made)
                .into(),
            3 => ImageBuffer::<Rgb<u8>, _>::from_raw(w, h, data)
                .expect(made)
                .into(),
            _ => ImageBuffer::<Rgba<u8>, _>::from_raw(w, h, data)
                .expect(made)
                .into(),
        }
    }
}

/// Writes `pic` as PNG (16 bits where it was read so, alpha kept) or JPEG, whole or not at all.
pub fn save(path: &Path, pic: &Picture) -> Result<()> {
    let jpeg = matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
            .as_deref(),
        Some("jpg" | "jpeg")
    );
    let img = to_image(pic, jpeg);
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

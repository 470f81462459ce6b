//! Reading and writing PNG and JPEG. Any input becomes RGB planes in [0, 1] (grayscale is
//! repeated to three channels; 16-bit precision is kept in the floats) plus, when the file has
//! one, its alpha plane; the output is written back in the same kind (gray, RGB, RGBA) and,
//! for PNG, the same bit depth.

use super::Planes;
use crate::error::{Context, Result};
use crate::fail;
use image::{DynamicImage, ImageBuffer, ImageDecoder, Luma, LumaA, Rgb, Rgba};
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

/// A count of pixels as people read it: "63 pixels", "1.9 Mpixel".
pub fn pixels(n: u64) -> String {
    if n < 1_000_000 {
        format!("{n} pixels")
    } else {
        format!("{:.1} Mpixel", n as f64 / 1e6)
    }
}

fn reader(path: &Path) -> Result<image::ImageReader<std::io::BufReader<std::fs::File>>> {
    image::ImageReader::open(path)
        .context(format!("cannot open {}", path.display()))?
        .with_guessed_format()
        .context(format!("cannot read {}", path.display()))
}

/// What a decoder's error means to someone holding the file.
fn decode_error(path: &Path, e: image::ImageError) -> crate::Error {
    use image::error::UnsupportedErrorKind;
    use image::ExtendedColorType;
    match e {
        image::ImageError::Unsupported(u) => {
            let what = match u.kind() {
                UnsupportedErrorKind::Color(ExtendedColorType::Unknown(bits)) => format!(
                    "its pixels ({bits} bits, such as a 32-bit float gray TIFF) are of a kind this program does not read"
                ),
                _ => u.to_string(),
            };
            crate::Error(format!(
                "{}: {what}; save it as 8- or 16-bit PNG, JPEG, WebP or TIFF, gray or RGB(A)",
                path.display()
            ))
        }
        e => crate::Error(format!("{} is not a readable image: {e}", path.display())),
    }
}

pub fn load(path: &Path) -> Result<Picture> {
    // The header says how large the image is: a small file can declare gigapixels.
    let (w, h) = reader(path)?
        .into_dimensions()
        .map_err(|e| decode_error(path, e))?;
    let count = w as u64 * h as u64;
    if count > max_pixels() {
        return fail!(
            "{} is {w}x{h} ({}), over the limit of {} (--max-pixels raises it)",
            path.display(),
            pixels(count),
            pixels(max_pixels())
        );
    }
    // The decoder may hold the decoded image and a little more, whatever the file declares
    // inside (a WebP's frames, a TIFF's strips).
    let mut decoder = reader(path)?
        .into_decoder()
        .map_err(|e| decode_error(path, e))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(decoder.total_bytes().saturating_add(64 << 20));
    decoder
        .set_limits(limits)
        .map_err(|e| decode_error(path, e))?;
    let img = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(path, e))?;
    picture(path, &img)
}

/// The decoded image as planes in [0, 1], converted a band of rows at a time so that no
/// second copy of the whole image in f32 RGBA is made; values that are not numbers (a float
/// TIFF's NaN) are refused: they would turn the whole upscaled image black.
fn picture(path: &Path, img: &DynamicImage) -> Result<Picture> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return fail!("{} is empty", path.display());
    }
    let color = img.color();
    let has_alpha = color.has_alpha();
    let mut rgb = Planes::new(3, h, w);
    let mut alpha = has_alpha.then(|| Planes::new(1, h, w));
    const BAND: usize = 64;
    for y0 in (0..h).step_by(BAND) {
        let rows = BAND.min(h - y0);
        let band = img
            .crop_imm(0, y0 as u32, w as u32, rows as u32)
            .to_rgba32f();
        for (j, p) in band.pixels().enumerate() {
            if p.0.iter().any(|v| !v.is_finite()) {
                return fail!(
                    "{} holds a value that is not a number at ({}, {}): the image is damaged",
                    path.display(),
                    j % w,
                    y0 + j / w
                );
            }
            let i = y0 * w + j;
            for c in 0..3 {
                rgb.data[c * h * w + i] = p.0[c].clamp(0.0, 1.0);
            }
            if let Some(a) = &mut alpha {
                a.data[i] = p.0[3].clamp(0.0, 1.0);
            }
        }
    }
    Ok(Picture {
        rgb,
        alpha,
        gray: matches!(
            img,
            DynamicImage::ImageLuma8(_)
                | DynamicImage::ImageLuma16(_)
                | DynamicImage::ImageLumaA8(_)
                | DynamicImage::ImageLumaA16(_)
        ),
        sixteen_bit: color.bytes_per_pixel() / color.channel_count() >= 2,
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

/// Checks, before any work, that an image can be written at `path`: its format, that it is
/// not a folder, and that its folder exists (or can be made) and takes a new file.
pub fn check_output_place(path: &Path) -> Result<()> {
    output_format(path)?;
    if path.is_dir() {
        return fail!("cannot write {}: it is a folder", path.display());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_writable_folder(dir)
}

/// Makes `dir` if it is missing and checks that a file can be created in it (a read-only
/// disk, a folder of someone else's), so that work is not lost at its end.
pub fn check_writable_folder(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return fail!("{} is a file, not a folder", dir.display());
    }
    std::fs::create_dir_all(dir).context(format!("cannot create {}", dir.display()))?;
    let probe = dir.join(format!(".srgan-wgpu-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => fail!("cannot write in {}: {e}", dir.display()),
    }
}

/// Whether `path` holds a whole image as this program writes them: a PNG ending in its IEND
/// chunk, a JPEG in its end marker. What `--skip-existing` counts as done; a folder, an empty
/// or truncated file is not.
pub fn is_whole_output(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(format) = output_format(path) else {
        return false;
    };
    let end: &[u8] = match format {
        image::ImageFormat::Png => &[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82],
        _ => &[0xFF, 0xD9],
    };
    let mut tail = vec![0; end.len()];
    path.is_file()
        && f.seek(SeekFrom::End(-(end.len() as i64))).is_ok()
        && f.read_exact(&mut tail).is_ok()
        && tail == end
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

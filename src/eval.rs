//! Evaluation as in the paper (§3.1): each HR image cropped to a multiple of 4, its LR made by
//! x4 bicubic downscaling and stored as 8 bits, the SR and bicubic results rounded to 8 bits,
//! then PSNR and SSIM on Y (BT.601) with 4 border pixels removed. LPIPS (AlexNet, v0.1), where
//! its weights are at hand, on the whole RGB images as they are saved (8 bits).

use crate::error::Result;
use crate::fail;
use crate::imaging::resize::{self, resize_like_pil};
use crate::imaging::{io, metrics, Planes};
use crate::models::Lpips;
use crate::upscale::{Upscaler, SCALE};
use std::path::{Path, PathBuf};

/// How LR images are made from HR ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LrResize {
    /// MATLAB's imresize (mirrored edges): the SR literature's convention.
    Matlab,
    /// PIL's Image.resize(BICUBIC), which many Python projects use.
    Pil,
}

impl std::str::FromStr for LrResize {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<LrResize> {
        match s {
            "matlab" => Ok(LrResize::Matlab),
            "pil" => Ok(LrResize::Pil),
            _ => fail!("'{s}' is not matlab or pil"),
        }
    }
}

pub fn make_lr(hr: &Planes, how: LrResize) -> Planes {
    match how {
        LrResize::Matlab => resize::downscale(hr, SCALE).quantize(),
        LrResize::Pil => resize_like_pil(hr, hr.height / SCALE, hr.width / SCALE),
    }
}

pub struct Score {
    pub name: String,
    pub psnr: f64,
    pub ssim: f64,
    pub bicubic_psnr: f64,
    pub bicubic_ssim: f64,
    /// LPIPS of the result and of bicubic, where it was measured.
    pub lpips: Option<f64>,
    pub bicubic_lpips: Option<f64>,
}

/// Every image (PNG, JPEG, WebP, TIFF) under `dir`, sorted, searched recursively.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    if !dir.is_dir() {
        return fail!("{} is not a file or folder", dir.display());
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    // Folders by their real path: a symbolic link back to a folder already listed (a loop)
    // is not entered again.
    let mut seen = std::collections::HashSet::new();
    while let Some(d) = stack.pop() {
        if !seen.insert(std::fs::canonicalize(&d).unwrap_or_else(|_| d.clone())) {
            continue;
        }
        let entries = std::fs::read_dir(&d)
            .map_err(|e| crate::Error(format!("cannot list {}: {e}", d.display())))?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_image(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn is_image(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
            .as_deref(),
        Some("png" | "jpg" | "jpeg" | "webp" | "tif" | "tiff")
    )
}

/// Scores one HR image; LPIPS too with `lpips` (an image it cannot take gets none, with the
/// reason on stderr).
pub fn score(
    upscaler: &Upscaler,
    hr: &Planes,
    name: String,
    how: LrResize,
    lpips: Option<&Lpips>,
) -> Score {
    let (h, w) = (hr.height / SCALE * SCALE, hr.width / SCALE * SCALE);
    let hr = hr.crop(0, 0, h, w);
    let lr = make_lr(&hr, how);
    let sr = upscaler.upscale(&lr).quantize();
    let bicubic = resize::upscale(&lr, SCALE).quantize();
    let (psnr, ssim) = metrics::psnr_ssim(&sr, &hr, SCALE);
    let (bicubic_psnr, bicubic_ssim) = metrics::psnr_ssim(&bicubic, &hr, SCALE);
    let perceptual = |x: &Planes| {
        lpips.and_then(|l| match l.distance(x, &hr) {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("warning: no LPIPS for {name}: {e}");
                None
            }
        })
    };
    Score {
        lpips: perceptual(&sr),
        bicubic_lpips: perceptual(&bicubic),
        name,
        psnr,
        ssim,
        bicubic_psnr,
        bicubic_ssim,
    }
}

/// Scores every image under `dir`; unreadable ones are skipped with a warning.
pub fn evaluate(
    upscaler: &Upscaler,
    dir: &Path,
    how: LrResize,
    lpips: Option<&Lpips>,
) -> Result<Vec<Score>> {
    evaluate_with(upscaler, dir, how, lpips, true)
}

/// As `evaluate`, with or without a progress bar (training validates without one).
pub fn evaluate_with(
    upscaler: &Upscaler,
    dir: &Path,
    how: LrResize,
    lpips: Option<&Lpips>,
    show: bool,
) -> Result<Vec<Score>> {
    let files = image_files(dir)?;
    if files.is_empty() {
        return fail!(
            "no readable image (PNG, JPEG, WebP or TIFF) in {}",
            dir.display()
        );
    }
    let mut scores = Vec::new();
    let mut progress =
        show.then(|| crate::progress::Progress::new("eval", "images", 0, files.len() as u64));
    let warn = |p: &Option<crate::progress::Progress>, line: String| match p {
        Some(p) => p.println(&line),
        None => eprintln!("{line}"),
    };
    for f in &files {
        match io::load_rgb(f) {
            Ok(hr) if hr.height >= 4 * SCALE && hr.width >= 4 * SCALE => {
                // Relative to the folder; a single image by its file name.
                let name = match f.strip_prefix(dir) {
                    Ok(r) if !r.as_os_str().is_empty() => r.display().to_string(),
                    _ => f
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                };
                scores.push(score(upscaler, &hr, name, how, lpips));
            }
            Ok(_) => warn(
                &progress,
                format!("warning: skipping {}: smaller than 16x16", f.display()),
            ),
            Err(e) => warn(&progress, format!("warning: skipping {e}")),
        }
        if let Some(p) = &mut progress {
            p.advance(
                f.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    if let Some(p) = progress {
        p.finish();
    }
    if scores.is_empty() {
        return fail!(
            "no readable image (PNG, JPEG, WebP or TIFF) in {}",
            dir.display()
        );
    }
    Ok(scores)
}

/// The table printed by `eval`, with a mean row; LPIPS columns where it was measured.
pub fn table(scores: &[Score]) -> String {
    let with_lpips = scores.iter().any(|r| r.lpips.is_some());
    let lpips = |v: Option<f64>| match (with_lpips, v) {
        (false, _) => String::new(),
        (true, Some(v)) => format!(" {v:>8.4}"),
        (true, None) => format!(" {:>8}", "-"),
    };
    let head = if with_lpips {
        format!(" {:>8}", "LPIPS")
    } else {
        String::new()
    };
    let mut s = format!(
        "{:<24} {:>9} {:>7}{head} {:>12} {:>8}{head}\n",
        "image", "PSNR dB", "SSIM", "bicubic dB", "SSIM"
    );
    for r in scores.iter().chain([&mean(scores)]) {
        s += &format!(
            "{:<24} {:>9.2} {:>7.4}{} {:>12.2} {:>8.4}{}\n",
            r.name,
            r.psnr,
            r.ssim,
            lpips(r.lpips),
            r.bicubic_psnr,
            r.bicubic_ssim,
            lpips(r.bicubic_lpips)
        );
    }
    s
}

/// The mean of every column; LPIPS only where every image has it.
pub fn mean(scores: &[Score]) -> Score {
    let n = scores.len() as f64;
    let avg = |f: fn(&Score) -> f64| scores.iter().map(f).sum::<f64>() / n;
    let avg_some =
        |f: fn(&Score) -> Option<f64>| scores.iter().map(f).sum::<Option<f64>>().map(|t| t / n);
    Score {
        name: "mean".into(),
        psnr: avg(|r| r.psnr),
        ssim: avg(|r| r.ssim),
        bicubic_psnr: avg(|r| r.bicubic_psnr),
        bicubic_ssim: avg(|r| r.bicubic_ssim),
        lpips: avg_some(|r| r.lpips),
        bicubic_lpips: avg_some(|r| r.bicubic_lpips),
    }
}

/// One row per image; the LPIPS columns are empty where it was not measured.
pub fn csv(scores: &[Score]) -> String {
    let lp = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.5}"));
    let mut s = String::from("image,psnr,ssim,lpips,bicubic_psnr,bicubic_ssim,bicubic_lpips\n");
    for r in scores {
        s += &format!(
            "{},{:.4},{:.5},{},{:.4},{:.5},{}\n",
            r.name,
            r.psnr,
            r.ssim,
            lp(r.lpips),
            r.bicubic_psnr,
            r.bicubic_ssim,
            lp(r.bicubic_lpips)
        );
    }
    s
}

//! A side-by-side picture in the manner of the paper's Figure 5: HR, bicubic and each model's
//! 4x result in one row, and below each a zoomed crop of the same region (nearest neighbour,
//! so the pixels are seen as they are). Columns are in the order given; above each are its
//! name, its PSNR (Y, border 4) and, where LPIPS weights are at hand, its LPIPS.

use crate::eval::{make_lr, LrResize};
use crate::imaging::{metrics, resize, text, Planes};
use crate::models::Lpips;
use crate::upscale::{Upscaler, SCALE};
use crate::Result;

const GAP: usize = 8;

/// One column's name and scores against HR (none for HR itself).
pub struct Column {
    pub name: String,
    pub psnr: Option<f64>,
    pub lpips: Option<f64>,
    /// A model's self-ensemble (`Upscaler::with_self_ensemble`).
    pub self_ensemble: bool,
}

impl Column {
    /// The lines of its label under the name: "PSNR 24.31 dB" and "LPIPS 0.1234" where
    /// measured, or "reference".
    pub fn scores(&self) -> Vec<String> {
        match self.psnr {
            None => vec!["reference".into()],
            Some(db) => std::iter::once(format!("PSNR {db:.2} dB"))
                .chain(self.lpips.map(|l| format!("LPIPS {l:.4}")))
                .collect(),
        }
    }
}

/// Refuses a figure of `models` columns of models on an h x w HR image that would not fit the
/// host's free memory (as `upscale::check_output`): HR, bicubic and each result in f32, the
/// self-ensemble's sum and pass, and the figure, at most h + w + 76 rows (labels, the images,
/// the zooms as wide as a column) of every column.
pub fn check_memory(height: usize, width: usize, models: usize, self_ensemble: bool) -> Result<()> {
    let plane = |h: usize, w: usize| h as u64 * w as u64 * 3 * 4;
    let columns = 2 + models as u64;
    let working = if self_ensemble { 2 } else { 1 };
    let figure = plane(height + width + 76, (width + GAP) * (2 + models));
    let needed = (columns + working) * plane(height, width) + figure;
    crate::upscale::fits_in_memory(needed, || {
        format!("comparing {models} model(s) on a {width}x{height} image")
    })
}

/// How many times `figure` calls its `progress` for these models on an HR image of h x w: once
/// per convolution of each tile of each pass (`Upscaler::reports`).
pub fn reports(height: usize, width: usize, models: &[(String, &Upscaler)]) -> usize {
    let (h, w) = (height / SCALE, width / SCALE);
    models.iter().map(|(_, m)| m.reports(h, w)).sum()
}

/// `models`: each column's name and upscaler; `region`: (y, x, side) of the zoomed square in
/// HR pixels, None for the centre quarter; `progress(column's name)` is called as each
/// convolution is done (`reports` times).
pub fn figure(
    hr: &Planes,
    models: &[(String, &Upscaler)],
    region: Option<(usize, usize, usize)>,
    lpips: Option<&Lpips>,
    progress: &mut dyn FnMut(&str),
) -> (Planes, Vec<Column>) {
    let (h, w) = (hr.height / SCALE * SCALE, hr.width / SCALE * SCALE);
    let hr = hr.crop(0, 0, h, w);
    let lr = make_lr(&hr, LrResize::Matlab);
    let mut images = vec![hr.clone(), resize::upscale(&lr, SCALE).quantize()];
    for (name, m) in models {
        images.push(
            m.upscale_observed(&lr, &mut |_, _| progress(name))
                .quantize(),
        );
    }
    let names = ["HR".to_string(), "bicubic".to_string()]
        .into_iter()
        .chain(models.iter().map(|(n, _)| n.clone()));
    // Why LPIPS could not be measured (the same for every column: the image's size), said once.
    let mut no_lpips = None;
    let columns: Vec<Column> = names
        .zip(&images)
        .enumerate()
        .map(|(i, (name, image))| Column {
            name,
            psnr: (i > 0).then(|| metrics::psnr_ssim(image, &hr, SCALE).0),
            lpips: lpips
                .filter(|_| i > 0)
                .and_then(|l| l.distance(image, &hr).map_err(|e| no_lpips = Some(e)).ok()),
            self_ensemble: i > 1 && models[i - 2].1.is_self_ensemble(),
        })
        .collect();
    if let Some(e) = no_lpips {
        eprintln!("warning: no LPIPS: {e}");
    }

    let (ry, rx, side) = region.unwrap_or((h * 3 / 8, w * 3 / 8, h.min(w) / 4));
    let side = side.clamp(1, h.min(w));
    let (ry, rx) = (ry.min(h - side), rx.min(w - side));
    // The zoom fills the column's width.
    let zoom = (w / side).max(1);
    let zh = side * zoom;
    // A line of 8x8 characters for the name and one for each score, doubled where the
    // columns are wide enough.
    let scale = if w >= 256 { 2 } else { 1 };
    let line = 10 * scale;
    let lines = 1 + columns.iter().map(|c| c.scores().len()).max().unwrap_or(1);
    let top = lines * line + GAP;
    let mut out = Planes::new(3, top + h + GAP + zh, images.len() * (w + GAP) - GAP);
    out.data.iter_mut().for_each(|v| *v = 1.0);
    let room = w / (8 * scale);
    for (i, (image, column)) in images.iter().zip(&columns).enumerate() {
        let x0 = i * (w + GAP);
        let ink = [0.0; 3];
        let label = std::iter::once(column.name.clone()).chain(column.scores());
        for (k, words) in label.enumerate() {
            text::draw(
                &mut out,
                &fit(&words, room),
                (k * line + scale, x0),
                scale,
                ink,
            );
        }
        out.paste(image, top, x0);
        let crop = image.crop(ry, rx, side, side);
        let mut big = Planes::new(3, zh, side * zoom);
        for ch in 0..3 {
            for y in 0..zh {
                for x in 0..side * zoom {
                    big.data[(ch * zh + y) * side * zoom + x] = crop.at(ch, y / zoom, x / zoom);
                }
            }
        }
        out.paste(&big, top + h + GAP, x0);
    }
    (out, columns)
}

/// `label` cut to `room` characters; a closing "+" (a self-ensemble's name) is kept.
pub fn fit(label: &str, room: usize) -> String {
    if label.chars().count() <= room {
        return label.to_string();
    }
    let plus = label.ends_with('+') && room > 1;
    let kept: String = label.chars().take(room - plus as usize).collect();
    if plus {
        kept + "+"
    } else {
        kept
    }
}

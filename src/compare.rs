//! A side-by-side picture in the manner of the paper's Figure 5: HR, bicubic and each model's
//! 4x result in one row, and below each a zoomed crop of the same region (nearest neighbour,
//! so the pixels are seen as they are). Columns are in the order given; `compare` prints it,
//! with each column's PSNR.

use crate::eval::{make_lr, LrResize};
use crate::imaging::{metrics, resize, Planes};
use crate::upscale::{Upscaler, SCALE};

const GAP: usize = 8;

/// `region`: (y, x, side) of the zoomed square in HR pixels; None picks the centre quarter.
pub fn figure(
    hr: &Planes,
    models: &[&Upscaler],
    region: Option<(usize, usize, usize)>,
) -> (Planes, Vec<f64>) {
    let (h, w) = (hr.height / SCALE * SCALE, hr.width / SCALE * SCALE);
    let hr = hr.crop(0, 0, h, w);
    let lr = make_lr(&hr, LrResize::Matlab);
    let mut columns = vec![hr.clone(), resize::upscale(&lr, SCALE).quantize()];
    columns.extend(models.iter().map(|m| m.upscale(&lr).quantize()));
    let scores = columns
        .iter()
        .map(|c| metrics::psnr_ssim(c, &hr, SCALE).0)
        .collect();

    let (ry, rx, side) = region.unwrap_or((h * 3 / 8, w * 3 / 8, h.min(w) / 4));
    let side = side.clamp(1, h.min(w));
    let (ry, rx) = (ry.min(h - side), rx.min(w - side));
    // The zoom fills the column's width.
    let zoom = (w / side).max(1);
    let zh = side * zoom;
    let mut out = Planes::new(3, h + GAP + zh, columns.len() * (w + GAP) - GAP);
    out.data.iter_mut().for_each(|v| *v = 1.0);
    for (i, c) in columns.iter().enumerate() {
        let x0 = i * (w + GAP);
        out.paste(c, 0, x0);
        let crop = c.crop(ry, rx, side, side);
        let mut big = Planes::new(3, zh, side * zoom);
        for ch in 0..3 {
            for y in 0..zh {
                for x in 0..side * zoom {
                    big.data[(ch * zh + y) * side * zoom + x] = crop.at(ch, y / zoom, x / zoom);
                }
            }
        }
        out.paste(&big, h + GAP, x0);
    }
    (out, scores)
}

//! Image quality as the SR literature measures it: PSNR and SSIM on the luma (Y) channel of
//! ITU-R BT.601, Y = 16 + 65.481 R + 128.553 G + 24.966 B for RGB in [0, 1] (Y in [16, 235]),
//! with a border of `border` pixels removed (the scale factor, 4).

use super::Planes;

/// BT.601 luma in [16, 235], cropped by `border` on every side.
pub fn luma(img: &Planes, border: usize) -> (Vec<f64>, usize, usize) {
    assert_eq!(img.channels, 3, "luma needs an RGB image");
    let (h, w) = (img.height - 2 * border, img.width - 2 * border);
    let mut y = Vec::with_capacity(h * w);
    for r in border..img.height - border {
        for c in border..img.width - border {
            let (rr, gg, bb) = (
                img.at(0, r, c) as f64,
                img.at(1, r, c) as f64,
                img.at(2, r, c) as f64,
            );
            y.push(16.0 + 65.481 * rr + 128.553 * gg + 24.966 * bb);
        }
    }
    (y, h, w)
}

/// PSNR in dB of two equal-size lumas, peak 255.
pub fn psnr(a: &[f64], b: &[f64]) -> f64 {
    let mse = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64;
    // Identical images (a flat one and its bicubic round trip) would score infinity, and so
    // would the mean of a set holding one: 100 dB is where they stop.
    10.0 * (255.0 * 255.0 / mse.max(255.0 * 255.0 * 1e-10)).log10()
}

/// SSIM (Wang et al. 2004) with its standard constants: an 11x11 Gaussian window of
/// sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, averaged over the positions where the window
/// fits inside the image (MATLAB's `ssim_index`, 'valid' filtering). Images smaller than
/// 11 pixels use the largest window that fits.
pub fn ssim(a: &[f64], b: &[f64], h: usize, w: usize) -> f64 {
    assert!(h > 0 && w > 0, "ssim of an empty image");
    let r = 5.min((h.min(w) - 1) / 2);
    let g: Vec<f64> = (0..=2 * r)
        .map(|i| (-((i as f64 - r as f64).powi(2)) / (2.0 * 1.5 * 1.5)).exp())
        .collect();
    let total: f64 = g.iter().sum::<f64>().powi(2);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut sum = 0.0;
    let mut count = 0usize;
    for y in 0..h - 2 * r {
        for x in 0..w - 2 * r {
            let (mut ma, mut mb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (dy, gy) in g.iter().enumerate() {
                for (dx, gx) in g.iter().enumerate() {
                    let k = gy * gx / total;
                    let i = (y + dy) * w + x + dx;
                    ma += k * a[i];
                    mb += k * b[i];
                    saa += k * a[i] * a[i];
                    sbb += k * b[i] * b[i];
                    sab += k * a[i] * b[i];
                }
            }
            let (va, vb, cov) = (saa - ma * ma, sbb - mb * mb, sab - ma * mb);
            sum += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
        }
    }
    sum / count as f64
}

/// (PSNR, SSIM) of `sr` against `hr` on Y with `border` removed.
pub fn psnr_ssim(sr: &Planes, hr: &Planes, border: usize) -> (f64, f64) {
    let (a, h, w) = luma(sr, border);
    let (b, _, _) = luma(hr, border);
    (psnr(&a, &b), ssim(&a, &b, h, w))
}

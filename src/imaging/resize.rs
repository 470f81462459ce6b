//! Bicubic resizing, separable, with the cubic convolution kernel of Keys (a = -0.5):
//!
//! ```text
//! k(t) = 1.5|t|^3 - 2.5|t|^2 + 1                  for |t| <= 1
//!        -0.5|t|^3 + 2.5|t|^2 - 4|t| + 2          for 1 < |t| < 2
//! ```
//!
//! Downscaling by s stretches the kernel by s (antialiasing: 4s taps, weights k(t / s) / s),
//! as MATLAB's `imresize` and PIL's `BICUBIC` both do. Output pixel x (0-based) samples the
//! input at u = (x + 0.5) * s - 0.5, pixel centres aligned. The two differ only at the
//! border: MATLAB mirrors the image (`Edge::Mirror`, the SR literature's convention), PIL
//! drops the taps outside and renormalises (`Edge::Renormalize`).

use super::Planes;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Edge {
    Mirror,
    Renormalize,
}

fn cubic(t: f64) -> f64 {
    let t = t.abs();
    if t <= 1.0 {
        1.5 * t * t * t - 2.5 * t * t + 1.0
    } else if t < 2.0 {
        -0.5 * t * t * t + 2.5 * t * t - 4.0 * t + 2.0
    } else {
        0.0
    }
}

/// For each output index, the (input index, weight) taps of a resize from n_in to n_out.
fn taps(n_in: usize, n_out: usize, edge: Edge) -> Vec<Vec<(usize, f64)>> {
    let scale = n_in as f64 / n_out as f64;
    let stretch = scale.max(1.0);
    let support = 2.0 * stretch;
    (0..n_out)
        .map(|x| {
            let u = (x as f64 + 0.5) * scale - 0.5;
            let first = (u - support).floor() as isize;
            let last = (u + support).ceil() as isize;
            let mut taps: Vec<(usize, f64)> = Vec::new();
            for i in first..=last {
                let w = cubic((u - i as f64) / stretch);
                if w == 0.0 {
                    continue;
                }
                let j = match edge {
                    Edge::Mirror => mirror(i, n_in),
                    Edge::Renormalize if i < 0 || i >= n_in as isize => continue,
                    Edge::Renormalize => i as usize,
                };
                match taps.iter_mut().find(|(k, _)| *k == j) {
                    Some(t) => t.1 += w,
                    None => taps.push((j, w)),
                }
            }
            let total: f64 = taps.iter().map(|t| t.1).sum();
            taps.iter_mut().for_each(|t| t.1 /= total);
            taps
        })
        .collect()
}

/// Reflects an index into 0..n the way MATLAB's `symmetric` padding does (edge repeated).
fn mirror(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let m = i.rem_euclid(period);
    (if m < n { m } else { period - 1 - m }) as usize
}

/// Resizes the width of every plane (one pass of the separable filter).
fn resize_width(img: &Planes, width: usize, edge: Edge) -> Planes {
    let cols = taps(img.width, width, edge);
    let mut out = Planes::new(img.channels, img.height, width);
    for (row_in, row_out) in img
        .data
        .chunks_exact(img.width)
        .zip(out.data.chunks_exact_mut(width))
    {
        for (o, t) in row_out.iter_mut().zip(&cols) {
            *o = t.iter().map(|&(i, w)| w * row_in[i] as f64).sum::<f64>() as f32;
        }
    }
    out
}

/// Swaps height and width of every plane.
fn transpose(img: &Planes) -> Planes {
    let mut out = Planes::new(img.channels, img.width, img.height);
    for c in 0..img.channels {
        for y in 0..img.height {
            for x in 0..img.width {
                out.data[(c * img.width + x) * img.height + y] = img.at(c, y, x);
            }
        }
    }
    out
}

/// Resizes every plane to `height` x `width`: width first, then height. Values are not
/// clamped (bicubic overshoots).
pub fn resize(img: &Planes, height: usize, width: usize, edge: Edge) -> Planes {
    transpose(&resize_width(
        &transpose(&resize_width(img, width, edge)),
        height,
        edge,
    ))
}

/// PIL's `Image.resize(.., BICUBIC)` of an 8-bit image: as `resize` with `Edge::Renormalize`,
/// rounding to 8 bits after each pass as PIL stores its intermediate image.
pub fn resize_like_pil(img: &Planes, height: usize, width: usize) -> Planes {
    let wide = resize_width(img, width, Edge::Renormalize).quantize();
    transpose(&resize_width(&transpose(&wide), height, Edge::Renormalize)).quantize()
}

/// The SR literature's LR image: x`factor` bicubic downscale with mirrored edges, clamped to
/// [0, 1].
pub fn downscale(img: &Planes, factor: usize) -> Planes {
    let mut out = resize(img, img.height / factor, img.width / factor, Edge::Mirror);
    out.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    out
}

/// Bicubic upscale by `factor`, clamped to [0, 1]: the baseline SR is compared against.
pub fn upscale(img: &Planes, factor: usize) -> Planes {
    let mut out = resize(img, img.height * factor, img.width * factor, Edge::Mirror);
    out.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    out
}

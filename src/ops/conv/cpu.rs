//! The reference every convolution path is held to: plain Rust in f64, one loop
//! (`each_term`) that visits every multiply-add of the convolution, shared by the forward and
//! both backwards. The GPU's naive path (`naive.rs`, `shaders/conv_*_naive.wgsl`) is this loop
//! in WGSL, one invocation per output value.

/// Output height and width.
pub fn out_size(
    h: usize,
    w: usize,
    k: (usize, usize),
    stride: usize,
    pad: usize,
) -> (usize, usize) {
    (
        (h + 2 * pad - k.0) / stride + 1,
        (w + 2 * pad - k.1) / stride + 1,
    )
}

/// Calls f(x index, w index, y index) for every multiply-add of the convolution: forward
/// and both backwards are the same loop with a different update.
fn each_term(
    xs: [usize; 4],
    ws: [usize; 4],
    stride: usize,
    pad: usize,
    mut f: impl FnMut(usize, usize, usize),
) {
    let [n, cin, h, w] = xs;
    let [cout, _, kh, kw] = ws;
    let (oh, ow) = out_size(h, w, (kh, kw), stride, pad);
    for b in 0..n {
        for co in 0..cout {
            for oy in 0..oh {
                for ox in 0..ow {
                    let yi = ((b * cout + co) * oh + oy) * ow + ox;
                    for ci in 0..cin {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * stride + ky) as isize - pad as isize;
                                let ix = (ox * stride + kx) as isize - pad as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let xi = ((b * cin + ci) * h + iy as usize) * w + ix as usize;
                                let wi = ((co * cin + ci) * kh + ky) * kw + kx;
                                f(xi, wi, yi);
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn conv2d(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    ws: [usize; 4],
    bias: Option<&[f64]>,
    stride: usize,
    pad: usize,
) -> Vec<f64> {
    let (oh, ow) = out_size(xs[2], xs[3], (ws[2], ws[3]), stride, pad);
    let mut y = vec![0.0; xs[0] * ws[0] * oh * ow];
    if let Some(b) = bias {
        for (i, v) in y.iter_mut().enumerate() {
            *v = b[(i / (oh * ow)) % ws[0]];
        }
    }
    each_term(xs, ws, stride, pad, |xi, wi, yi| y[yi] += x[xi] * w[wi]);
    y
}

/// (dx, dw, dbias)
pub fn conv2d_backward(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    ws: [usize; 4],
    dy: &[f64],
    stride: usize,
    pad: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    each_term(xs, ws, stride, pad, |xi, wi, yi| {
        dx[xi] += w[wi] * dy[yi];
        dw[wi] += x[xi] * dy[yi];
    });
    let (oh, ow) = out_size(xs[2], xs[3], (ws[2], ws[3]), stride, pad);
    let db = crate::ops::reduce::cpu::channel_sum(dy, xs[0], ws[0], oh * ow);
    (dx, dw, db)
}

//! Every kernel against its CPU reference, forward and every gradient, on random inputs of
//! awkward sizes (odd spatial sizes, channel counts like 3 and 13, batch 2-3, sizes that are
//! not multiples of the 64x64 GEMM tile or the 256-wide workgroups), and every CPU backward
//! against central finite differences in f64. Convolutions and linear layers are checked on
//! every path the GPU can run (`common::paths`: naive, f32, mixed), each within its tolerance.
//!
//! Tolerances of the other ops: the GPU computes in f32 and the reference in f64. A sum of K
//! products of values below 1 in magnitude carries a rounding error near K * 6e-8; the
//! largest K here is a few hundred, so GPU-vs-CPU checks allow 1e-4 absolute plus 1e-4
//! relative (1e-3 for the sums over whole batches in batch norm, whose terms are larger).

mod common;
use common::paths::{abs, paths};
use common::*;
use srgan_wgpu::ops::{
    batchnorm, conv, elementwise as ew, linear, lpips, pixel_shuffle, pool, prelu, reduce, tv,
};
use srgan_wgpu::rng::Rng;
use srgan_wgpu::Gpu;

const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-4;

/// Whether a convolution of weights `ws` may take Winograd on the f32 path (`conv::plan`),
/// whose rounding has its own bound (`common::paths`).
fn winograd_shape(ws: [usize; 4], stride: usize, pad: usize) -> bool {
    ws[2] == 3 && ws[3] == 3 && stride == 1 && pad <= 2 && ws[0].min(ws[1]) >= 32
}

/// A convolution on every path: forward, input, weight and bias gradients against the CPU
/// reference.
fn check_conv(seed: u64, xs: [usize; 4], ws: [usize; 4], stride: usize, pad: usize, bias: bool) {
    let gpu = gpu();
    let mut rng = Rng::new(seed);
    let x = random(&mut rng, xs.iter().product());
    let w = random(&mut rng, ws.iter().product());
    let b = random(&mut rng, ws[0]);
    let b_opt = bias.then_some(&b[..]);
    let y = conv::cpu::conv2d(&x, xs, &w, ws, b_opt, stride, pad);
    let y_mag = conv::cpu::conv2d(&abs(&x), xs, &abs(&w), ws, None, stride, pad);
    let dy = random(&mut rng, y.len());
    let (dx, dw, db) = conv::cpu::conv2d_backward(&x, xs, &w, ws, &dy, stride, pad);
    let (dx_mag, dw_mag, _) =
        conv::cpu::conv2d_backward(&abs(&x), xs, &abs(&w), ws, &abs(&dy), stride, pad);
    let (xt, wt, bt) = (
        upload(&gpu, &xs, &x),
        upload(&gpu, &ws, &w),
        upload(&gpu, &[ws[0]], &b),
    );
    let (oh, ow) = conv::cpu::out_size(xs[2], xs[3], (ws[2], ws[3]), stride, pad);
    let dyt = upload(&gpu, &[xs[0], ws[0], oh, ow], &dy);
    let taps = ws[2] * ws[3];
    let pixels = y.len() / ws[0];
    let winograd = winograd_shape(ws, stride, pad);
    for path in paths(&gpu) {
        path.set(&gpu);
        let what = format!("conv {xs:?} {ws:?} s{stride} p{pad}");
        let yt = conv::conv2d(&xt, &wt, bias.then_some(&bt), stride, pad);
        let forward = format!("{what} forward");
        let (y_got, k) = (yt.to_vec(), ws[1] * taps);
        path.assert_conv_close(&forward, &y_got, &y, &y_mag, k, ATOL, winograd);
        // dx's buffer comes from the pool: offer it one full of NaN, so that a pixel the
        // kernels leave unwritten fails the check instead of reading a fresh buffer's zero.
        drop(upload(&gpu, &xs, &vec![f64::NAN; x.len()]));
        let dxt = conv::conv2d_backward_input(&dyt, &wt, &xs, stride, pad);
        path.assert_conv_close(
            &format!("{what} dx"),
            &dxt.to_vec(),
            &dx,
            &dx_mag,
            ws[0] * taps,
            ATOL,
            winograd,
        );
        let dwt = conv::conv2d_backward_weight(&dyt, &xt, &ws, stride, pad);
        path.assert_close(
            &format!("{what} dw"),
            &dwt.to_vec(),
            &dw,
            &dw_mag,
            pixels,
            1e-3,
        );
        let dbt = conv::conv2d_backward_bias(&dyt);
        assert_close(&format!("{what} db"), &dbt.to_vec(), &db, RTOL, 1e-3);
    }
}

#[test]
fn conv3x3_forward_and_gradients() {
    check_conv(1, [2, 3, 7, 5], [13, 3, 3, 3], 1, 1, true);
}

#[test]
fn conv_more_channels_than_a_tile() {
    // Cout 70 and 99 pixels cross the 64x64 tile edges in both M and N.
    check_conv(2, [2, 5, 9, 11], [70, 5, 3, 3], 1, 1, false);
}

#[test]
fn conv_to_and_from_three_channels() {
    // 3-row products (SRGAN's last convolution and its first's input gradient), 323 pixels.
    check_conv(21, [2, 5, 17, 19], [3, 5, 3, 3], 1, 1, true);
    check_conv(22, [2, 3, 17, 19], [5, 3, 3, 3], 1, 1, false);
    // At most 4 output channels run the direct kernel: with stride 2 and no bias too.
    check_conv(23, [3, 5, 9, 7], [3, 5, 3, 3], 2, 1, false);
    check_conv(24, [2, 6, 8, 9], [1, 6, 3, 3], 1, 1, true);
}

#[test]
fn conv_stride2_and_1x1() {
    check_conv(3, [3, 5, 9, 7], [6, 5, 3, 3], 2, 1, true);
    check_conv(4, [2, 13, 6, 5], [3, 13, 1, 1], 1, 0, true);
    // AlexNet's first layer (LPIPS): 11x11 every 4 pixels, padding 2, on 27x22.
    check_conv(27, [2, 3, 27, 22], [5, 3, 11, 11], 4, 2, true);
}

#[test]
fn conv_strided_input_gradient_phases() {
    // A stride splits dx into phases, each a product over its own taps: 70 input channels
    // cross the tile's rows, phases of 6x5 to 7x6 pixels (60 to 84 columns for two images)
    // its columns.
    check_conv(28, [2, 70, 13, 11], [66, 70, 3, 3], 2, 1, true);
    // Even kernels, padding past the stride.
    check_conv(33, [2, 4, 9, 8], [6, 4, 4, 4], 2, 1, true);
    check_conv(34, [1, 5, 8, 7], [7, 5, 5, 5], 2, 3, false);
    // Kernels smaller than the stride leave pixels of dx that no tap reaches (zero): 1x1 at
    // stride 2, and 2x2 at stride 3 with padding.
    check_conv(29, [2, 5, 7, 6], [6, 5, 1, 1], 2, 0, true);
    check_conv(30, [2, 4, 8, 7], [7, 4, 2, 2], 3, 1, false);
    // One row: the phases of odd rows have no pixels; with a 1x1 kernel padded by 1, the one
    // row's pixels all fall in phases without taps, and there is no product at all.
    check_conv(31, [1, 6, 1, 5], [5, 6, 3, 3], 2, 1, true);
    check_conv(35, [1, 3, 1, 5], [4, 3, 1, 1], 2, 1, false);
    // Few tiles and K up to 256 x 4 taps: on a GPU the phases split K into slices written
    // to one shared buffer of partial sums, the shorter phases' last slices empty; and with
    // padding past the stride (25 taps in 4 phases of 9, 6, 6 and 4).
    check_conv(32, [2, 24, 7, 6], [256, 24, 3, 3], 2, 1, false);
    check_conv(36, [2, 24, 7, 6], [256, 24, 5, 5], 2, 3, false);
}

#[test]
fn conv9x9() {
    check_conv(5, [2, 3, 11, 10], [4, 3, 9, 9], 1, 4, true);
    // SRGAN's last layer's shape: the direct kernel's 16x64 output blocks, cut at both edges
    // (37 rows, 70 columns).
    check_conv(26, [2, 5, 37, 70], [3, 5, 9, 9], 1, 4, true);
}

#[test]
fn conv_weight_gradient_split_over_k() {
    // 3 images of 40x40: K = 4800 output pixels, split into 18 slices of the weight gradient.
    check_conv(6, [3, 3, 40, 40], [5, 3, 3, 3], 1, 1, false);
    // 3 output channels take the direct kernels, their weight gradient summed over images.
    check_conv(7, [2, 30, 31, 23], [3, 30, 3, 3], 1, 1, true);
    // A kernel that is not square takes the GEMM, 3 rows through the thin 4x256 tile:
    // N = 13 * 3 = 39 columns, K = 2 * 33 * 25 = 1650 split into slices.
    check_conv(25, [2, 13, 33, 23], [3, 13, 3, 1], 1, 1, true);
}

#[test]
fn conv_with_few_tiles_splits_k() {
    // Few tiles and K = 1530 (48 steps of 32): on a GPU the forward is summed in 5 (tiled) or
    // 3 (tensor cores) slices of K, two images' pixels side by side along N (84 columns, the
    // second image starting inside a vec4); the same for the input gradient (K = 170 * 9),
    // whose forward is not split.
    check_conv(41, [2, 170, 6, 7], [24, 170, 3, 3], 1, 1, true);
    check_conv(42, [2, 24, 6, 7], [170, 24, 3, 3], 1, 1, false);
}

#[test]
fn conv_gathering_channels_last() {
    // On tensor cores, products whose gathered tensor has a multiple of 32 channels (forward:
    // x, input gradient: dy), or of 4 (weight gradient: x), read it packed channels last
    // instead of as im2col. x of 32 channels at stride 2 (the input gradient's phases gather
    // dy's 64; the weight gradient's 288 columns cross the 128-column tile); 5x5 taps padded
    // by 2, at strides 1 and 2. Elsewhere these shapes take the paths the tests above cover.
    if !gpu().mixed_supported() {
        eprintln!("gathering skipped: no f16 cooperative matrices");
        return;
    }
    check_conv(43, [2, 32, 13, 11], [64, 32, 3, 3], 2, 1, true);
    check_conv(44, [1, 32, 9, 10], [32, 32, 5, 5], 1, 2, false);
    check_conv(46, [1, 32, 11, 9], [32, 32, 5, 5], 2, 2, false);
    // Split K: the forward's (160 x 9 = 1440), the weight gradient's (2 x 24 x 24 = 1152),
    // and the phases of a strided input gradient (256 x 4 taps at most).
    check_conv(45, [2, 160, 6, 7], [24, 160, 3, 3], 1, 1, true);
    check_conv(47, [2, 32, 24, 24], [32, 32, 3, 3], 1, 1, false);
    check_conv(48, [1, 8, 13, 11], [256, 8, 3, 3], 2, 1, false);
    // 12 channels: only the weight gradient gathers (a multiple of 4, not of 32).
    check_conv(49, [2, 12, 9, 9], [8, 12, 3, 3], 1, 1, true);
}

#[test]
fn conv_winograd() {
    // In f32 on a GPU, 3x3 convolutions at stride 1 with at least 32 channels in and out take
    // Winograd's F(4x4, 3x3), forward and input gradient: outputs cut by the 4x4 tiles' edges
    // (11x13, 4x3, 7x9), 35 and 70 output channels (crossing the 64-row tile), 75 tiles of
    // three images (crossing the 64-column tile), and padding 0 and 2 (whose input gradients
    // are padded by 2 and 0).
    check_conv(50, [2, 33, 11, 13], [35, 33, 3, 3], 1, 1, true);
    check_conv(51, [3, 32, 17, 18], [70, 32, 3, 3], 1, 1, false);
    check_conv(52, [1, 32, 6, 5], [40, 32, 3, 3], 1, 0, false);
    check_conv(53, [2, 40, 5, 7], [32, 40, 3, 3], 1, 2, true);
}

#[test]
fn conv_at_srgan_shapes() {
    // A residual block's layer and an upsampling layer at a small batch, and the last layer.
    check_conv(8, [2, 64, 13, 11], [64, 64, 3, 3], 1, 1, true);
    check_conv(9, [1, 64, 10, 9], [256, 64, 3, 3], 1, 1, true);
    check_conv(10, [2, 64, 25, 23], [3, 64, 9, 9], 1, 4, true);
}

/// The CPU composition of a convolution and an `Epilogue`: conv, + residual, pixel shuffle,
/// PReLU, tanh, in that order.
#[allow(clippy::too_many_arguments)]
fn conv_then_layers(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    ws: [usize; 4],
    b: &[f64],
    residual: Option<&[f64]>,
    slopes: Option<&[f64]>,
    shuffle: bool,
    tanh: bool,
) -> Vec<f64> {
    let mut y = conv::cpu::conv2d(x, xs, w, ws, Some(b), 1, ws[2] / 2);
    let (n, mut c, mut h, mut wd) = (xs[0], ws[0], xs[2], xs[3]);
    if let Some(r) = residual {
        y = y.iter().zip(r).map(|(a, b)| a + b).collect();
    }
    if shuffle {
        // The reference counts the channels after the shuffle.
        y = pixel_shuffle::cpu::pixel_shuffle(&y, n, c / 4, h, wd, 2);
        (c, h, wd) = (c / 4, 2 * h, 2 * wd);
    }
    if let Some(s) = slopes {
        y = prelu::cpu::prelu(&y, c, h * wd, s);
    }
    if tanh {
        y = ew::cpu::tanh(&y);
    }
    y
}

/// A convolution with the layers after it (inference) against the CPU composition, for each
/// layer alone and together, on every path: in a product's store (Cout 72 crosses the
/// 64-row tile; the shuffle writes every value elsewhere), in Winograd's output transform
/// (32 channels to 36, f32 on a GPU), as separate ops (the naive path, software adapters) and
/// through the direct kernel (Cout 4).
#[test]
fn conv_epilogues_follow_the_cpu_reference() {
    let gpu = gpu();
    let mut rng = Rng::new(31);
    for (cin, cout) in [(5, 72), (5, 4), (32, 36)] {
        let (xs, ws) = ([2, cin, 7, 9], [cout, cin, 3, 3]);
        let x = random(&mut rng, xs.iter().product());
        let w = random(&mut rng, ws.iter().product());
        let b = random(&mut rng, cout);
        let r = random(&mut rng, 2 * cout * 63);
        let s = random(&mut rng, cout);
        let (xt, wt, bt) = (
            upload(&gpu, &xs, &x),
            upload(&gpu, &ws, &w),
            upload(&gpu, &[cout], &b),
        );
        let rt = upload(&gpu, &[2, cout, 7, 9], &r);
        let st = upload(&gpu, &[cout], &s);
        let st4 = upload(&gpu, &[cout / 4], &s[..cout / 4]);
        // The bound of a mixed product holds after the layers too: each moves an error no
        // further (tanh, PReLU with slopes below 1) or adds an exact f32 value.
        let y_mag = conv::cpu::conv2d(&abs(&x), xs, &abs(&w), ws, None, 1, 1);
        // (residual, prelu, shuffle, tanh)
        for (res, pre, shuffle, tanh) in [
            (true, false, false, false),
            (false, true, false, false),
            (false, true, true, false),
            (false, false, false, true),
            (true, true, false, true),
        ] {
            let slopes = if shuffle { &s[..cout / 4] } else { &s[..] };
            let want = conv_then_layers(
                &x,
                xs,
                &w,
                ws,
                &b,
                res.then_some(&r[..]),
                pre.then_some(slopes),
                shuffle,
                tanh,
            );
            // The magnitudes in the output's order.
            let magnitude = if shuffle {
                pixel_shuffle::cpu::pixel_shuffle(&y_mag, 2, cout / 4, 7, 9, 2)
            } else {
                y_mag.clone()
            };
            let epilogue = conv::Epilogue {
                residual: res.then_some(&rt),
                prelu: pre.then_some(if shuffle { &st4 } else { &st }),
                shuffle,
                tanh,
            };
            for path in paths(&gpu) {
                path.set(&gpu);
                let got = conv::conv2d_fused(&xt, &wt, Some(&bt), 1, 1, &epilogue);
                let what = format!(
                    "conv to {cout} with residual {res}, PReLU {pre}, shuffle {shuffle}, tanh {tanh}"
                );
                let winograd = winograd_shape(ws, 1, 1);
                let got = got.to_vec();
                path.assert_conv_close(&what, &got, &want, &magnitude, cin * 9, ATOL, winograd);
            }
        }
    }
}

#[test]
fn conv_cpu_backward_matches_finite_differences() {
    let mut rng = Rng::new(7);
    for (xs, ws, stride, pad) in [
        ([2, 3, 5, 4], [4, 3, 3, 3], 1, 1),
        ([1, 2, 7, 6], [3, 2, 3, 3], 2, 1),
    ] {
        let x = random(&mut rng, xs.iter().product());
        let w = random(&mut rng, ws.iter().product());
        let b = random(&mut rng, ws[0]);
        let y = conv::cpu::conv2d(&x, xs, &w, ws, Some(&b), stride, pad);
        let r = random(&mut rng, y.len());
        let (dx, dw, db) = conv::cpu::conv2d_backward(&x, xs, &w, ws, &r, stride, pad);
        gradcheck(
            "conv dx",
            &x,
            &r,
            |x| conv::cpu::conv2d(x, xs, &w, ws, Some(&b), stride, pad),
            &dx,
        );
        gradcheck(
            "conv dw",
            &w,
            &r,
            |w| conv::cpu::conv2d(&x, xs, w, ws, Some(&b), stride, pad),
            &dw,
        );
        gradcheck(
            "conv db",
            &b,
            &r,
            |b| conv::cpu::conv2d(&x, xs, &w, ws, Some(b), stride, pad),
            &db,
        );
    }
}

#[test]
fn finite_differences_in_f32_would_not_do() {
    // The check above runs in f64 because in f32 a step of 1e-6 drowns in rounding: this
    // proves the comparison is sharp enough to reject a wrong gradient.
    let mut rng = Rng::new(8);
    let x = random(&mut rng, 20);
    let r = random(&mut rng, 20);
    let grad: Vec<f64> = x
        .iter()
        .zip(&r)
        .map(|(&x, &r)| r * (1.0 - x.tanh().powi(2)))
        .collect();
    let loss = |x: &[f32]| {
        x.iter()
            .zip(&r)
            .map(|(&x, &r)| x.tanh() * r as f32)
            .sum::<f32>()
    };
    assert!(gradcheck_f32_would_fail(&x, loss, &grad));
}

/// The linear layer against its CPU reference on every path, forward and every gradient.
fn check_linear(gpu: &Gpu, rng: &mut Rng, batch: usize, inputs: usize, outputs: usize) {
    let x = random(rng, batch * inputs);
    let w = random(rng, outputs * inputs);
    let b = random(rng, outputs);
    let y = linear::cpu::linear(&x, &w, Some(&b), batch, inputs, outputs);
    let y_mag = linear::cpu::linear(&abs(&x), &abs(&w), None, batch, inputs, outputs);
    let dy = random(rng, y.len());
    let (dx, dw, db) = linear::cpu::linear_backward(&x, &w, &dy, batch, inputs, outputs);
    let (dx_mag, dw_mag, _) =
        linear::cpu::linear_backward(&abs(&x), &abs(&w), &abs(&dy), batch, inputs, outputs);
    let (xt, wt, bt) = (
        upload(gpu, &[batch, inputs], &x),
        upload(gpu, &[outputs, inputs], &w),
        upload(gpu, &[outputs], &b),
    );
    let dyt = upload(gpu, &[batch, outputs], &dy);
    let what = format!("linear {batch}x{inputs}->{outputs}");
    // Each result's buffer comes from the pool: offer it one full of NaN first, so that a value
    // the kernels leave unwritten fails the check instead of keeping the last path's result.
    let poison =
        |shape: &[usize]| drop(upload(gpu, shape, &vec![f64::NAN; shape.iter().product()]));
    for path in paths(gpu) {
        path.set(gpu);
        poison(&[batch, outputs]);
        let yt = linear::linear(&xt, &wt, Some(&bt));
        path.assert_close(
            &format!("{what} forward"),
            &yt.to_vec(),
            &y,
            &y_mag,
            inputs,
            ATOL,
        );
        poison(&[batch, inputs]);
        let dxt = linear::linear_backward_input(&dyt, &wt);
        path.assert_close(
            &format!("{what} dx"),
            &dxt.to_vec(),
            &dx,
            &dx_mag,
            outputs,
            ATOL,
        );
        poison(&[outputs, inputs]);
        let dwt = linear::linear_backward_weight(&dyt, &xt);
        path.assert_close(
            &format!("{what} dw"),
            &dwt.to_vec(),
            &dw,
            &dw_mag,
            batch,
            ATOL,
        );
        let dbt = linear::linear_backward_bias(&dyt);
        assert_close(&format!("{what} db"), &dbt.to_vec(), &db, RTOL, ATOL);
    }
}

#[test]
fn linear_forward_and_gradients() {
    let gpu = gpu();
    let mut rng = Rng::new(9);
    check_linear(&gpu, &mut rng, 3, 70, 67);
    // A long K and a single tile of C: the forward (K = 1100) and the input gradient
    // (K = 1100) are split into slices, the bias added once.
    check_linear(&gpu, &mut rng, 2, 1100, 5);
    check_linear(&gpu, &mut rng, 2, 40, 1100);
    // 13 and 16 rows on the short 16x256 tile (forward and input gradient), 270 and 300
    // columns across two of its tiles; 17 rows on the square tile.
    check_linear(&gpu, &mut rng, 13, 300, 270);
    check_linear(&gpu, &mut rng, 16, 70, 67);
    check_linear(&gpu, &mut rng, 17, 70, 67);

    let (batch, inputs, outputs) = (3, 70, 67);
    let x = random(&mut rng, batch * inputs);
    let w = random(&mut rng, outputs * inputs);
    let b = random(&mut rng, outputs);
    let (x, w, b) = (&x[..2 * 5], &w[..4 * 5], &b[..4]);
    let r = random(&mut rng, 2 * 4);
    let (dx, dw, db) = linear::cpu::linear_backward(x, w, &r, 2, 5, 4);
    gradcheck(
        "linear dx",
        x,
        &r,
        |x| linear::cpu::linear(x, w, Some(b), 2, 5, 4),
        &dx,
    );
    gradcheck(
        "linear dw",
        w,
        &r,
        |w| linear::cpu::linear(x, w, Some(b), 2, 5, 4),
        &dw,
    );
    gradcheck(
        "linear db",
        b,
        &r,
        |b| linear::cpu::linear(x, w, Some(b), 2, 5, 4),
        &db,
    );
}

#[test]
fn activations_forward_and_gradients() {
    let gpu = gpu();
    let mut rng = Rng::new(10);
    let shape = [2, 3, 7, 5];
    let n = 210;
    let x: Vec<f64> = random(&mut rng, n).iter().map(|v| v * 4.0).collect();
    let dy = random(&mut rng, n);
    let (xt, dyt) = (upload(&gpu, &shape, &x), upload(&gpu, &shape, &dy));
    for slope in [0.0, 0.2] {
        let y = ew::cpu::leaky_relu(&x, slope);
        let yt = if slope == 0.0 {
            ew::relu(&xt)
        } else {
            ew::leaky_relu(&xt, slope as f32)
        };
        assert_close("leaky_relu", &yt.to_vec(), &y, RTOL, ATOL);
        let dx = ew::cpu::leaky_relu_backward(&x, &dy, slope);
        assert_close(
            "leaky_relu dx",
            &ew::leaky_relu_backward(&xt, &dyt, slope as f32).to_vec(),
            &dx,
            RTOL,
            ATOL,
        );
        gradcheck(
            "leaky_relu",
            &x,
            &dy,
            |x| ew::cpu::leaky_relu(x, slope),
            &dx,
        );
    }
    let y = ew::cpu::tanh(&x);
    let yt = ew::tanh(&xt);
    assert_close("tanh", &yt.to_vec(), &y, RTOL, 1e-6);
    let dx = ew::cpu::tanh_backward(&y, &dy);
    assert_close(
        "tanh dx",
        &ew::tanh_backward(&yt, &dyt).to_vec(),
        &dx,
        RTOL,
        ATOL,
    );
    gradcheck("tanh", &x, &dy, ew::cpu::tanh, &dx);

    let y = ew::cpu::sigmoid(&x);
    let yt = ew::sigmoid(&xt);
    assert_close("sigmoid", &yt.to_vec(), &y, RTOL, 1e-6);
    let dx = ew::cpu::sigmoid_backward(&y, &dy);
    assert_close(
        "sigmoid dx",
        &ew::sigmoid_backward(&yt, &dyt).to_vec(),
        &dx,
        RTOL,
        ATOL,
    );
    gradcheck("sigmoid", &x, &dy, ew::cpu::sigmoid, &dx);
}

#[test]
fn arithmetic_and_sums() {
    let gpu = gpu();
    let mut rng = Rng::new(11);
    let n = 1000;
    let (a, b) = (random(&mut rng, n), random(&mut rng, n));
    let (at, bt) = (upload(&gpu, &[n], &a), upload(&gpu, &[n], &b));
    let add: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    let sub: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
    let mul: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x * y).collect();
    let aff: Vec<f64> = a.iter().map(|x| 0.5 * x - 0.25).collect();
    assert_close("add", &ew::add(&at, &bt).to_vec(), &add, RTOL, 1e-6);
    assert_close("sub", &ew::sub(&at, &bt).to_vec(), &sub, RTOL, 1e-6);
    assert_close("mul", &ew::mul(&at, &bt).to_vec(), &mul, RTOL, 1e-6);
    assert_close(
        "affine",
        &ew::affine(&at, 0.5, -0.25).to_vec(),
        &aff,
        RTOL,
        1e-6,
    );
    // Sums over more than one level of partial sums (4096 per workgroup).
    let big = random(&mut rng, 9000);
    let bigt = upload(&gpu, &[9000], &big);
    let s: f64 = big.iter().sum();
    assert_close("sum", &reduce::sum(&bigt, 1.0).to_vec(), &[s], RTOL, 1e-3);
    assert_close(
        "mean",
        &reduce::mean(&bigt).to_vec(),
        &[s / 9000.0],
        RTOL,
        1e-6,
    );
    let cs = reduce::cpu::channel_sum(&big, 3, 5, 600);
    assert_close(
        "channel_sum",
        &reduce::channel_sum(&bigt, 3, 5, 600).to_vec(),
        &cs,
        RTOL,
        1e-3,
    );
    let scalar = upload(&gpu, &[1], &[0.75]);
    let bc = ew::broadcast(&scalar, &[7, 3], 2.0).to_vec();
    assert_close("broadcast", &bc, &[1.5; 21], 0.0, 0.0);
    let ms: Vec<f64> = a.iter().map(|x| x * 0.75 * -2.0).collect();
    assert_close(
        "mul_scalar",
        &ew::mul_scalar(&at, &scalar, -2.0).to_vec(),
        &ms,
        RTOL,
        1e-6,
    );
}

/// The moving average's update (`train --ema`), in place, over a few steps with fresh
/// weights each time, as a run makes them: each step's error is a few f32 roundings of values
/// below 1, so 1e-6 absolute. A rate of 1 copies the weights; 0 leaves the average as it is.
#[test]
fn a_moving_average_moves_in_place() {
    let gpu = gpu();
    let mut rng = Rng::new(16);
    let n = 1001;
    let mut avg = random(&mut rng, n);
    let avgt = upload(&gpu, &[n], &avg);
    for rate in [0.1, 0.001, 0.37] {
        let x = random(&mut rng, n);
        ew::average_into(&avgt, &upload(&gpu, &[n], &x), rate as f32);
        ew::cpu::average_into(&mut avg, &x, rate);
        assert_close("average", &avgt.to_vec(), &avg, 0.0, 1e-6);
    }
    let x = random(&mut rng, n);
    let xt = upload(&gpu, &[n], &x);
    ew::average_into(&avgt, &xt, 0.0);
    assert_close("average, rate 0", &avgt.to_vec(), &avg, 0.0, 1e-6);
    ew::average_into(&avgt, &xt, 1.0);
    assert_close("average, rate 1", &avgt.to_vec(), &x, 0.0, 1e-7);
}

#[test]
fn bce_on_logits_is_stable_and_correct() {
    let gpu = gpu();
    let mut rng = Rng::new(12);
    let n = 37;
    let x: Vec<f64> = random(&mut rng, n).iter().map(|v| v * 8.0).collect();
    let t: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    let (xt, tt) = (upload(&gpu, &[n], &x), upload(&gpu, &[n], &t));
    assert_close(
        "bce",
        &ew::bce_logits(&xt, &tt).to_vec(),
        &ew::cpu::bce_logits(&x, &t),
        RTOL,
        1e-5,
    );
    let dx = ew::cpu::bce_logits_backward(&x, &t);
    assert_close(
        "bce dx",
        &ew::bce_logits_backward(&xt, &tt).to_vec(),
        &dx,
        RTOL,
        1e-6,
    );
    gradcheck(
        "bce",
        &x,
        &vec![1.0; n],
        |x| ew::cpu::bce_logits(x, &t),
        &dx,
    );
    // Logits of +-200 overflow exp() in f32 if written naively; the loss must stay finite and
    // equal |x| where the label disagrees, 0 where it agrees.
    let big = upload(&gpu, &[4], &[200.0, -200.0, 200.0, -200.0]);
    let labels = upload(&gpu, &[4], &[0.0, 1.0, 1.0, 0.0]);
    assert_close(
        "bce large",
        &ew::bce_logits(&big, &labels).to_vec(),
        &[200.0, 200.0, 0.0, 0.0],
        1e-6,
        1e-6,
    );
    assert_close(
        "bce large dx",
        &ew::bce_logits_backward(&big, &labels).to_vec(),
        &[1.0, -1.0, 0.0, 0.0],
        0.0,
        1e-6,
    );
}

#[test]
fn prelu_forward_and_gradients() {
    let gpu = gpu();
    let mut rng = Rng::new(13);
    let (n, c, h, w) = (2, 13, 7, 5);
    let x = random(&mut rng, n * c * h * w);
    let dy = random(&mut rng, x.len());
    let xt = upload(&gpu, &[n, c, h, w], &x);
    let dyt = upload(&gpu, &[n, c, h, w], &dy);
    for slopes in [c, 1] {
        let s = random(&mut rng, slopes);
        let st = upload(&gpu, &[slopes], &s);
        assert_close(
            "prelu",
            &prelu::prelu(&xt, &st).to_vec(),
            &prelu::cpu::prelu(&x, c, h * w, &s),
            RTOL,
            ATOL,
        );
        let (dx, ds) = prelu::cpu::prelu_backward(&x, c, h * w, &s, &dy);
        let (dxt, dst) = prelu::prelu_backward(&xt, &st, &dyt);
        assert_close("prelu dx", &dxt.to_vec(), &dx, RTOL, ATOL);
        assert_close("prelu dslope", &dst.to_vec(), &ds, RTOL, 1e-3);
        gradcheck(
            "prelu dx",
            &x,
            &dy,
            |x| prelu::cpu::prelu(x, c, h * w, &s),
            &dx,
        );
        gradcheck(
            "prelu dslope",
            &s,
            &dy,
            |s| prelu::cpu::prelu(&x, c, h * w, s),
            &ds,
        );
    }
}

#[test]
fn batch_norm_forward_running_stats_and_gradients() {
    let gpu = gpu();
    let mut rng = Rng::new(14);
    let (n, c, h, w) = (3, 13, 7, 5);
    let eps = 1e-5;
    // An offset mean, which E[x^2] - mean^2 would get wrong.
    let x: Vec<f64> = random(&mut rng, n * c * h * w)
        .iter()
        .map(|v| 3.0 + 2.0 * v)
        .collect();
    let gamma = random(&mut rng, c);
    let beta = random(&mut rng, c);
    let (y, mean, var) = batchnorm::cpu::batch_norm_train(&x, n, c, h * w, &gamma, &beta, eps);
    let xt = upload(&gpu, &[n, c, h, w], &x);
    let (gt, bt) = (upload(&gpu, &[c], &gamma), upload(&gpu, &[c], &beta));
    let (yt, mt, vt) = batchnorm::batch_norm_train(&xt, &gt, &bt, eps as f32);
    assert_close("bn forward", &yt.to_vec(), &y, 1e-3, 1e-3);
    assert_close("bn mean", &mt.to_vec(), &mean, RTOL, ATOL);
    assert_close("bn var", &vt.to_vec(), &var, 1e-3, ATOL);

    let running_mean = random(&mut rng, c);
    let running_var: Vec<f64> = random(&mut rng, c).iter().map(|v| 1.5 + v).collect();
    let (rmt, rvt) = (
        upload(&gpu, &[c], &running_mean),
        upload(&gpu, &[c], &running_var),
    );
    batchnorm::update_running(&rmt, &rvt, &mt, &vt, 0.1, n * h * w);
    let m = (n * h * w) as f64;
    let rm: Vec<f64> = running_mean
        .iter()
        .zip(&mean)
        .map(|(r, b)| 0.9 * r + 0.1 * b)
        .collect();
    let rv: Vec<f64> = running_var
        .iter()
        .zip(&var)
        .map(|(r, b)| 0.9 * r + 0.1 * b * m / (m - 1.0))
        .collect();
    assert_close("bn running mean", &rmt.to_vec(), &rm, RTOL, ATOL);
    assert_close("bn running var", &rvt.to_vec(), &rv, 1e-3, ATOL);

    let y_eval: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let ch = (i / (h * w)) % c;
            (v - rm[ch]) / (rv[ch] + eps).sqrt() * gamma[ch] + beta[ch]
        })
        .collect();
    assert_close(
        "bn eval",
        &batchnorm::batch_norm_apply(&xt, &rmt, &rvt, &gt, &bt, eps as f32).to_vec(),
        &y_eval,
        1e-3,
        1e-3,
    );

    let dy = random(&mut rng, x.len());
    let dyt = upload(&gpu, &[n, c, h, w], &dy);
    let (dx, dg, db) =
        batchnorm::cpu::batch_norm_backward(&x, &dy, n, c, h * w, &gamma, &mean, &var, eps);
    let (dxt, dgt, dbt) = batchnorm::batch_norm_backward(&xt, &dyt, &mt, &vt, &gt, eps as f32);
    assert_close("bn dx", &dxt.to_vec(), &dx, 1e-3, 1e-3);
    assert_close("bn dgamma", &dgt.to_vec(), &dg, 1e-3, 1e-3);
    assert_close("bn dbeta", &dbt.to_vec(), &db, 1e-3, 1e-3);

    let fwd = |x: &[f64], g: &[f64], b: &[f64]| {
        batchnorm::cpu::batch_norm_train(x, n, c, h * w, g, b, eps).0
    };
    gradcheck("bn dx", &x, &dy, |x| fwd(x, &gamma, &beta), &dx);
    gradcheck("bn dgamma", &gamma, &dy, |g| fwd(&x, g, &beta), &dg);
    gradcheck("bn dbeta", &beta, &dy, |b| fwd(&x, &gamma, b), &db);
}

/// Batch norm then PReLU as one op (training) against the two CPU references composed, forward
/// and every gradient; and the composition's gradients against finite differences. The
/// second shape has 1311 values per channel, so the reduction's four-wide loop runs, then its
/// tail; the first only the tail.
#[test]
fn batch_norm_then_prelu_in_one_op() {
    let gpu = gpu();
    let mut rng = Rng::new(17);
    for (n, c, h, w) in [(3, 5, 7, 9), (3, 2, 23, 19)] {
        let (hw, eps) = (h * w, 1e-5);
        let x: Vec<f64> = random(&mut rng, n * c * hw)
            .iter()
            .map(|v| 3.0 + 2.0 * v)
            .collect();
        let (gamma, beta, slope) = (
            random(&mut rng, c),
            random(&mut rng, c),
            random(&mut rng, c),
        );
        let forward = |x: &[f64], g: &[f64], b: &[f64], s: &[f64]| {
            let z = batchnorm::cpu::batch_norm_train(x, n, c, hw, g, b, eps).0;
            prelu::cpu::prelu(&z, c, hw, s)
        };
        let (z, mean, var) = batchnorm::cpu::batch_norm_train(&x, n, c, hw, &gamma, &beta, eps);
        let y = prelu::cpu::prelu(&z, c, hw, &slope);
        let dy = random(&mut rng, x.len());
        let (dz, ds) = prelu::cpu::prelu_backward(&z, c, hw, &slope, &dy);
        let (dx, dg, db) =
            batchnorm::cpu::batch_norm_backward(&x, &dz, n, c, hw, &gamma, &mean, &var, eps);

        let shape = [n, c, h, w];
        let (xt, dyt) = (upload(&gpu, &shape, &x), upload(&gpu, &shape, &dy));
        let [gt, bt, st] = [&gamma, &beta, &slope].map(|v| upload(&gpu, &[c], v));
        let (yt, mt, vt) = batchnorm::batch_norm_prelu_train(&xt, &gt, &bt, &st, eps as f32);
        assert_close("bn+prelu forward", &yt.to_vec(), &y, 1e-3, 1e-3);
        assert_close("bn+prelu mean", &mt.to_vec(), &mean, RTOL, ATOL);
        assert_close("bn+prelu var", &vt.to_vec(), &var, 1e-3, ATOL);
        let (dxt, dgt, dbt, dst) =
            batchnorm::batch_norm_prelu_backward(&xt, &dyt, &mt, &vt, &gt, &bt, &st, eps as f32);
        assert_close("bn+prelu dx", &dxt.to_vec(), &dx, 1e-3, 1e-3);
        assert_close("bn+prelu dgamma", &dgt.to_vec(), &dg, 1e-3, 1e-3);
        assert_close("bn+prelu dbeta", &dbt.to_vec(), &db, 1e-3, 1e-3);
        assert_close("bn+prelu dslope", &dst.to_vec(), &ds, 1e-3, 1e-3);

        if n * c * hw < 1000 {
            gradcheck(
                "bn+prelu dx",
                &x,
                &dy,
                |x| forward(x, &gamma, &beta, &slope),
                &dx,
            );
            gradcheck(
                "bn+prelu dgamma",
                &gamma,
                &dy,
                |g| forward(&x, g, &beta, &slope),
                &dg,
            );
            gradcheck(
                "bn+prelu dbeta",
                &beta,
                &dy,
                |b| forward(&x, &gamma, b, &slope),
                &db,
            );
            gradcheck(
                "bn+prelu dslope",
                &slope,
                &dy,
                |s| forward(&x, &gamma, &beta, s),
                &ds,
            );
        }
    }
}

#[test]
fn per_channel_reductions_past_a_thousand_values() {
    // 3 x 23 x 19 = 1311 values per channel: the reductions' four-wide loop runs, then its tail.
    let gpu = gpu();
    let mut rng = Rng::new(16);
    let (n, c, h, w) = (3, 2, 23, 19);
    let eps = 1e-5;
    let x: Vec<f64> = random(&mut rng, n * c * h * w)
        .iter()
        .map(|v| 3.0 + 2.0 * v)
        .collect();
    let (gamma, beta) = (random(&mut rng, c), random(&mut rng, c));
    let (_, mean, var) = batchnorm::cpu::batch_norm_train(&x, n, c, h * w, &gamma, &beta, eps);
    let xt = upload(&gpu, &[n, c, h, w], &x);
    let (gt, bt) = (upload(&gpu, &[c], &gamma), upload(&gpu, &[c], &beta));
    let (_, mt, vt) = batchnorm::batch_norm_train(&xt, &gt, &bt, eps as f32);
    assert_close("bn mean", &mt.to_vec(), &mean, RTOL, ATOL);
    assert_close("bn var", &vt.to_vec(), &var, 1e-3, ATOL);
    let dy = random(&mut rng, x.len());
    let dyt = upload(&gpu, &[n, c, h, w], &dy);
    let (_, dg, db) =
        batchnorm::cpu::batch_norm_backward(&x, &dy, n, c, h * w, &gamma, &mean, &var, eps);
    let (_, dgt, dbt) = batchnorm::batch_norm_backward(&xt, &dyt, &mt, &vt, &gt, eps as f32);
    assert_close("bn dgamma", &dgt.to_vec(), &dg, 1e-3, 1e-3);
    assert_close("bn dbeta", &dbt.to_vec(), &db, 1e-3, 1e-3);
    let sums = reduce::cpu::channel_sum(&dy, n, c, h * w);
    let sums_gpu = reduce::channel_sum(&dyt, n, c, h * w).to_vec();
    assert_close("channel sum", &sums_gpu, &sums, RTOL, 1e-3);
    // PReLU's slope gradient, per channel and shared, on inputs around zero.
    let x: Vec<f64> = x.iter().map(|v| (v - 3.0) / 2.0).collect();
    let xt = upload(&gpu, &[n, c, h, w], &x);
    for slopes in [c, 1] {
        let s = random(&mut rng, slopes);
        let st = upload(&gpu, &[slopes], &s);
        let (_, ds) = prelu::cpu::prelu_backward(&x, c, h * w, &s, &dy);
        let (_, dst) = prelu::prelu_backward(&xt, &st, &dyt);
        assert_close("prelu dslope", &dst.to_vec(), &ds, RTOL, 1e-3);
    }
}

#[test]
fn pixel_shuffle_forward_and_gradient() {
    let gpu = gpu();
    let mut rng = Rng::new(15);
    let (n, c, h, w, r) = (2, 3, 7, 5, 2);
    let x = random(&mut rng, n * c * r * r * h * w);
    let xt = upload(&gpu, &[n, c * r * r, h, w], &x);
    let y = pixel_shuffle::cpu::pixel_shuffle(&x, n, c, h, w, r);
    let yt = pixel_shuffle::pixel_shuffle(&xt, r);
    assert_eq!(yt.shape(), [n, c, h * r, w * r]);
    assert_close("pixel_shuffle", &yt.to_vec(), &y, 0.0, 0.0);
    // PyTorch's order, spelled out once: y[0, 1, 3, 2] = x[0, 1*4 + 1*2 + 0, 1, 1].
    assert_eq!(y[(h * r + 3) * w * r + 2], x[((4 + 2) * h + 1) * w + 1]);
    let dy = random(&mut rng, y.len());
    let dx = pixel_shuffle::cpu::pixel_shuffle_backward(&dy, n, c, h, w, r);
    let dyt = upload(&gpu, &[n, c, h * r, w * r], &dy);
    assert_close(
        "pixel_shuffle dx",
        &pixel_shuffle::pixel_unshuffle(&dyt, r).to_vec(),
        &dx,
        0.0,
        0.0,
    );
    gradcheck(
        "pixel_shuffle",
        &x,
        &dy,
        |x| pixel_shuffle::cpu::pixel_shuffle(x, n, c, h, w, r),
        &dx,
    );
}

#[test]
fn max_pool_forward_and_gradient() {
    let gpu = gpu();
    let mut rng = Rng::new(16);
    let (n, c, h, w) = (2, 3, 7, 9);
    let x = random(&mut rng, n * c * h * w);
    let xt = upload(&gpu, &[n, c, h, w], &x);
    let (y, _) = pool::cpu::max_pool(&x, n * c, (h, w), 2, 2);
    assert_close(
        "max_pool",
        &pool::max_pool(&xt, 2, 2).to_vec(),
        &y,
        0.0,
        0.0,
    );
    let dy = random(&mut rng, y.len());
    let dx = pool::cpu::max_pool_backward(&x, n * c, (h, w), 2, 2, &dy);
    let dyt = upload(&gpu, &[n, c, h / 2, w / 2], &dy);
    assert_close(
        "max_pool dx",
        &pool::max_pool_backward(&xt, &dyt, 2, 2).to_vec(),
        &dx,
        0.0,
        0.0,
    );
    gradcheck(
        "max_pool",
        &x,
        &dy,
        |x| pool::cpu::max_pool(x, n * c, (h, w), 2, 2).0,
        &dx,
    );
}

/// AlexNet's pool (LPIPS): 3x3 windows every 2 pixels overlap, so an input can be the
/// maximum of up to four windows and its gradient is their sum. 10x13 leaves a row and a
/// column that no window reaches; negated copies of the same values make the windows'
/// maxima land on shared elements more often.
#[test]
fn overlapping_max_pool_forward_and_gradient() {
    let gpu = gpu();
    let mut rng = Rng::new(18);
    let (n, c, h, w) = (2, 3, 10, 13);
    let x = random(&mut rng, n * c * h * w);
    let size = (h, w);
    let (oh, ow) = pool::out_size(h, w, 3, 2);
    assert_eq!((oh, ow), (4, 6));
    let xt = upload(&gpu, &[n, c, h, w], &x);
    let (y, arg) = pool::cpu::max_pool(&x, n * c, size, 3, 2);
    // Some element is the maximum of more than one window: the sum path is exercised.
    let mut sorted = arg.clone();
    sorted.sort();
    assert!(sorted.windows(2).any(|p| p[0] == p[1]));
    assert_close(
        "max_pool 3/2",
        &pool::max_pool(&xt, 3, 2).to_vec(),
        &y,
        0.0,
        0.0,
    );
    let dy = random(&mut rng, y.len());
    let dx = pool::cpu::max_pool_backward(&x, n * c, size, 3, 2, &dy);
    let dyt = upload(&gpu, &[n, c, oh, ow], &dy);
    assert_close(
        "max_pool 3/2 dx",
        &pool::max_pool_backward(&xt, &dyt, 3, 2).to_vec(),
        &dx,
        1e-6,
        1e-7,
    );
    gradcheck(
        "max_pool 3/2",
        &x,
        &dy,
        |x| pool::cpu::max_pool(x, n * c, size, 3, 2).0,
        &dx,
    );
}

/// LPIPS' per-pixel distance, 2 images of 13 channels at 5x7 pixels. On the GPU one pixel of
/// the second image is a zero vector (after a ReLU whole pixels can be), where the length
/// has no derivative and the kernel must give 0 for its term rather than NaN.
#[test]
fn lpips_distance_forward_and_gradients() {
    let gpu = gpu();
    let mut rng = Rng::new(19);
    let (n, c, h, w) = (2, 13, 5, 7);
    let plane = h * w;
    let f0 = random(&mut rng, n * c * plane);
    let f1 = random(&mut rng, n * c * plane);
    let head: Vec<f64> = random(&mut rng, c).iter().map(|v| v.abs()).collect();
    let dd = random(&mut rng, n * plane);
    let mut f1z = f1.clone();
    for ch in 0..c {
        f1z[(c + ch) * plane + 3] = 0.0;
    }
    let up = |v: &[f64]| upload(&gpu, &[n, c, h, w], v);
    let wt = upload(&gpu, &[c], &head);
    let dt = upload(&gpu, &[n, 1, h, w], &dd);
    for (what, f1) in [("", &f1), (" with a zero vector", &f1z)] {
        let d = lpips::cpu::distance(&f0, f1, &head, plane);
        let gd = lpips::distance(&up(&f0), &up(f1), &wt).to_vec();
        assert_close(&format!("lpips{what}"), &gd, &d, RTOL, 1e-5);
        let (d0, d1) = lpips::cpu::distance_backward(&f0, f1, &head, plane, &dd);
        let (g0, g1) = lpips::distance_backward(&up(&f0), &up(f1), &wt, &dt);
        assert_close(&format!("lpips df0{what}"), &g0.to_vec(), &d0, RTOL, 1e-5);
        assert_close(&format!("lpips df1{what}"), &g1.to_vec(), &d1, RTOL, 1e-5);
    }
    let (d0, d1) = lpips::cpu::distance_backward(&f0, &f1, &head, plane, &dd);
    gradcheck(
        "lpips df0",
        &f0,
        &dd,
        |x| lpips::cpu::distance(x, &f1, &head, plane),
        &d0,
    );
    gradcheck(
        "lpips df1",
        &f1,
        &dd,
        |x| lpips::cpu::distance(&f0, x, &head, plane),
        &d1,
    );
}

#[test]
fn total_variation_and_gradient() {
    let gpu = gpu();
    let mut rng = Rng::new(17);
    let (n, c, h, w) = (2, 3, 7, 5);
    let x = random(&mut rng, n * c * h * w);
    let xt = upload(&gpu, &[n, c, h, w], &x);
    let t = tv::cpu::total_variation(&x, n * c, h, w);
    assert_close("tv", &tv::total_variation(&xt).to_vec(), &[t], RTOL, 1e-4);
    let g = tv::cpu::total_variation_backward(&x, n * c, h, w);
    assert_close(
        "tv dx",
        &tv::total_variation_backward(&xt).to_vec(),
        &g,
        RTOL,
        ATOL,
    );
    gradcheck(
        "tv",
        &x,
        &[1.0],
        |x| vec![tv::cpu::total_variation(x, n * c, h, w)],
        &g,
    );
}

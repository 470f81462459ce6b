//! The mixed-precision (tensor-core) matrix products against the f64 CPU references: every
//! convolution product and the linear layer, forward and both gradients, on the awkward shapes
//! of tests/ops.rs. They run only where the adapter has f16 cooperative matrices (not on
//! lavapipe: there each test prints that it was skipped).
//!
//! Tolerance, derived from f16 rounding: each operand is rounded to f16 (relative error at
//! most u = 2^-11), so each product carries at most 2u + u^2 < 2^-10 of itself; the f32 sum
//! of K terms adds at most K * 2^-23 (allowing the tensor cores to truncate rather than
//! round). An output that is a sum of K products a_j b_j may therefore be off by
//! (2^-10 + K 2^-23) * sum |a_j b_j|, which the test gets exactly from the same CPU
//! reference run on |a| and |b|. A wrong index or a dropped tile is off by far more.

mod common;
use common::*;
use srgan_wgpu::ops::{conv, linear};
use srgan_wgpu::rng::Rng;

fn abs(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| x.abs()).collect()
}

/// |gpu - cpu| <= (2^-10 + K 2^-23) * magnitude + 1e-6, element by element.
fn assert_f16_close(what: &str, gpu: &[f32], cpu: &[f64], magnitude: &[f64], k: usize) {
    let rel = 2f64.powi(-10) + k as f64 * 2f64.powi(-23);
    assert_eq!(gpu.len(), cpu.len(), "{what}: length");
    for (i, ((&g, &c), &m)) in gpu.iter().zip(cpu).zip(magnitude).enumerate() {
        let err = (g as f64 - c).abs();
        let allowed = rel * m + 1e-6;
        assert!(
            err <= allowed,
            "{what}[{i}]: GPU {g} vs CPU {c} (error {err:.3e}, allowed {allowed:.3e})"
        );
    }
}

fn check_conv(seed: u64, xs: [usize; 4], ws: [usize; 4], stride: usize, pad: usize, bias: bool) {
    let Some(gpu) = mixed_gpu("mixed conv") else {
        return;
    };
    let mut rng = Rng::new(seed);
    let x = random(&mut rng, xs.iter().product());
    let w = random(&mut rng, ws.iter().product());
    let b = random(&mut rng, ws[0]);
    let y = conv::cpu::conv2d(&x, xs, &w, ws, bias.then_some(&b[..]), stride, pad);
    let y_mag = conv::cpu::conv2d(&abs(&x), xs, &abs(&w), ws, None, stride, pad);
    let (xt, wt, bt) = (
        upload(&gpu, &xs, &x),
        upload(&gpu, &ws, &w),
        upload(&gpu, &[ws[0]], &b),
    );
    let yt = conv::conv2d(&xt, &wt, bias.then_some(&bt), stride, pad);
    let what = format!("mixed conv {xs:?} {ws:?} s{stride} p{pad}");
    let taps = ws[1] * ws[2] * ws[3];
    assert_f16_close(&format!("{what} forward"), &yt.to_vec(), &y, &y_mag, taps);

    let dy = random(&mut rng, y.len());
    let (dx, dw, _) = conv::cpu::conv2d_backward(&x, xs, &w, ws, &dy, stride, pad);
    let (dx_mag, dw_mag, _) =
        conv::cpu::conv2d_backward(&abs(&x), xs, &abs(&w), ws, &abs(&dy), stride, pad);
    let dyt = upload(&gpu, yt.shape(), &dy);
    let dxt = conv::conv2d_backward_input(&dyt, &wt, &xs, stride, pad);
    assert_f16_close(
        &format!("{what} dx"),
        &dxt.to_vec(),
        &dx,
        &dx_mag,
        ws[0] * taps,
    );
    let dwt = conv::conv2d_backward_weight(&dyt, &xt, &ws, stride, pad);
    let pixels = y.len() / ws[0];
    assert_f16_close(&format!("{what} dw"), &dwt.to_vec(), &dw, &dw_mag, pixels);
}

#[test]
fn mixed_conv3x3_forward_and_gradients() {
    check_conv(1, [2, 3, 7, 5], [13, 3, 3, 3], 1, 1, true);
    // Cout 70 and 99 pixels cross the 64x64 tile edges in both M and N.
    check_conv(2, [2, 5, 9, 11], [70, 5, 3, 3], 1, 1, false);
}

#[test]
fn mixed_conv_with_few_tiles_splits_k() {
    // One tile and K = 1530 (48 steps of 32): the forward is summed in 3 slices of K.
    check_conv(3, [2, 170, 6, 7], [24, 170, 3, 3], 1, 1, true);
    // The same for the input gradient (K = 170 * 9), with a forward that is not split.
    check_conv(4, [2, 24, 6, 7], [170, 24, 3, 3], 1, 1, false);
}

#[test]
fn mixed_conv_to_and_from_three_channels() {
    // 3 output channels: the 32x128 tile for the weight gradient, split over K.
    check_conv(21, [2, 5, 17, 19], [3, 5, 3, 3], 1, 1, true);
    check_conv(22, [2, 3, 17, 19], [5, 3, 3, 3], 1, 1, false);
    check_conv(7, [2, 30, 31, 23], [3, 30, 3, 3], 1, 1, true);
}

#[test]
fn mixed_conv_stride2_1x1_and_9x9() {
    check_conv(3, [3, 5, 9, 7], [6, 5, 3, 3], 2, 1, true);
    check_conv(4, [2, 13, 6, 5], [3, 13, 1, 1], 1, 0, true);
    check_conv(5, [2, 3, 11, 10], [4, 3, 9, 9], 1, 4, true);
}

#[test]
fn mixed_conv_at_srgan_shapes() {
    // One residual-block layer and an upsampling layer at a small batch, K split into slices.
    check_conv(8, [2, 64, 13, 11], [64, 64, 3, 3], 1, 1, true);
    check_conv(9, [1, 64, 10, 9], [256, 64, 3, 3], 1, 1, true);
    check_conv(10, [2, 64, 25, 23], [3, 64, 9, 9], 1, 4, true);
}

fn check_linear(gpu: &srgan_wgpu::Gpu, rng: &mut Rng, batch: usize, inputs: usize, outputs: usize) {
    let x = random(rng, batch * inputs);
    let w = random(rng, outputs * inputs);
    let b = random(rng, outputs);
    let (xt, wt, bt) = (
        upload(gpu, &[batch, inputs], &x),
        upload(gpu, &[outputs, inputs], &w),
        upload(gpu, &[outputs], &b),
    );
    let what = format!("mixed linear {batch}x{inputs}->{outputs}");
    let y = linear::cpu::linear(&x, &w, Some(&b), batch, inputs, outputs);
    let y_mag = linear::cpu::linear(&abs(&x), &abs(&w), None, batch, inputs, outputs);
    let yt = linear::linear(&xt, &wt, Some(&bt));
    assert_f16_close(&format!("{what} forward"), &yt.to_vec(), &y, &y_mag, inputs);
    let dy = random(rng, y.len());
    let dyt = upload(gpu, &[batch, outputs], &dy);
    let (dx, dw, _) = linear::cpu::linear_backward(&x, &w, &dy, batch, inputs, outputs);
    let (dx_mag, dw_mag, _) =
        linear::cpu::linear_backward(&abs(&x), &abs(&w), &abs(&dy), batch, inputs, outputs);
    let dxt = linear::linear_backward_input(&dyt, &wt);
    assert_f16_close(&format!("{what} dx"), &dxt.to_vec(), &dx, &dx_mag, outputs);
    let dwt = linear::linear_backward_weight(&dyt, &xt);
    assert_f16_close(&format!("{what} dw"), &dwt.to_vec(), &dw, &dw_mag, batch);
}

#[test]
fn mixed_linear_forward_and_gradients() {
    let Some(gpu) = mixed_gpu("mixed linear") else {
        return;
    };
    let mut rng = Rng::new(9);
    check_linear(&gpu, &mut rng, 3, 70, 67);
    // K split into slices (forward, then input gradient), the bias added once.
    check_linear(&gpu, &mut rng, 2, 1100, 5);
    check_linear(&gpu, &mut rng, 2, 40, 1100);
}

/// A product with the layers after it in its store (`conv::Epilogue`) gives what the same
/// product followed by the separate ops gives: the same f16 products, then the same f32
/// arithmetic in another place. Cout 72 crosses the 64-row tile; the shuffle case writes
/// every value to another address.
#[test]
fn mixed_conv_epilogues_match_the_separate_ops() {
    use srgan_wgpu::ops::{elementwise as ew, pixel_shuffle, prelu};
    let Some(gpu) = mixed_gpu("mixed conv epilogues") else {
        return;
    };
    let mut rng = Rng::new(41);
    let (xs, ws) = ([2, 5, 17, 9], [72, 5, 3, 3]);
    let up =
        |shape: &[usize], rng: &mut Rng| upload(&gpu, shape, &random(rng, shape.iter().product()));
    let (x, w, b) = (up(&xs, &mut rng), up(&ws, &mut rng), up(&[72], &mut rng));
    let (r, s, s4) = (
        up(&[2, 72, 17, 9], &mut rng),
        up(&[72], &mut rng),
        up(&[18], &mut rng),
    );
    for (res, pre, shuffle, tanh) in [
        (true, false, false, false),
        (false, true, false, false),
        (false, true, true, false),
        (true, true, false, true),
    ] {
        let slopes = if shuffle { &s4 } else { &s };
        let epilogue = conv::Epilogue {
            residual: res.then_some(&r),
            prelu: pre.then_some(slopes),
            shuffle,
            tanh,
        };
        let fused = conv::conv2d_fused(&x, &w, Some(&b), 1, 1, &epilogue);
        let mut y = conv::conv2d(&x, &w, Some(&b), 1, 1);
        if res {
            y = ew::add(&y, &r);
        }
        if shuffle {
            y = pixel_shuffle::pixel_shuffle(&y, 2);
        }
        if pre {
            y = prelu::prelu(&y, slopes);
        }
        if tanh {
            y = ew::tanh(&y);
        }
        assert_eq!(fused.shape(), y.shape());
        let want: Vec<f64> = y.to_vec().iter().map(|&v| v as f64).collect();
        let what =
            format!("mixed conv with residual {res}, PReLU {pre}, shuffle {shuffle}, tanh {tanh}");
        assert_close(&what, &fused.to_vec(), &want, 1e-5, 1e-6);
    }
}

//! The linear (dense) layer y = x W^T + b, PyTorch's layout: x \[B, in\], W \[out, in\], b \[out\].
//! All three products run on `shaders/matmul.wgsl`, reading operands transposed by strides:
//!   forward      y[B, out]  = x[B, in]    * W^T[in, out]
//!   input grad   dx[B, in]  = dy[B, out]  * W[out, in]
//!   weight grad  dW[out, in] = dy^T[out, B] * x[B, in]
//! and the bias gradient is the column sum of dy.

use super::gemm::{self, Mode, Params, FLAG_BIAS, FLAG_SPLIT};
use super::reduce;
use crate::gpu::View;
use crate::tensor::Tensor;

fn shapes(x: &[usize], w: &[usize]) -> (usize, usize, usize) {
    let [batch, inputs] = x[..] else {
        panic!("linear: input must be [batch, features], got {x:?}")
    };
    let [outputs, w_in] = w[..] else {
        panic!("linear: weight must be [out, in], got {w:?}")
    };
    assert_eq!(
        inputs, w_in,
        "linear: input has {inputs} features, weight expects {w_in}"
    );
    (batch, inputs, outputs)
}

pub fn linear(x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Tensor {
    let (batch, inputs, outputs) = shapes(x.shape(), w.shape());
    let y = Tensor::uninit(x.gpu(), &[batch, outputs]);
    let p = Params {
        m: batch,
        n: outputs,
        k: inputs,
        sa_m: inputs,
        sa_k: 1,
        sb_k: 1,
        sb_n: inputs,
        flags: if bias.is_some() { FLAG_BIAS } else { 0 },
        ..Default::default()
    };
    product(p, [x.view(), w.view(), bias.unwrap_or(w).view()], &y);
    y
}

/// Workgroups a product aims for before its K is split.
const TARGET_WORKGROUPS: usize = 256;
/// Shortest K slice worth a slice of its own.
const MIN_K_PER_SLICE: usize = 512;

/// One product of the linear layer into `out`. At small batches a product has few tiles of C
/// and a long K (the discriminator's 18432 -> 1024 layer at batch 16: 8 tiles walking
/// K = 18432), so K is split into slices, each written apart (the bias with the first) and
/// summed afterwards.
fn product(p: Params, views: [View; 3], out: &Tensor) {
    let gpu = out.gpu();
    let [a, b, bias] = views;
    let (tile_m, tile_n) = Mode::Matmul.tile(gpu, p.m);
    let tiles = p.m.div_ceil(tile_m) * p.n.div_ceil(tile_n);
    let max_slices = (gpu.max_binding() as usize / 4 / (p.m * p.n)).max(1);
    let slices = TARGET_WORKGROUPS
        .div_ceil(tiles)
        .min(p.k / MIN_K_PER_SLICE)
        .clamp(1, max_slices.min(64));
    if slices == 1 {
        gemm::launch(
            gpu,
            Mode::Matmul,
            gemm::operands(a, b, bias, out.view()),
            p,
            1,
        );
        return;
    }
    let k_per_z = p.k.div_ceil(slices).next_multiple_of(32);
    let slices = p.k.div_ceil(k_per_z);
    let partial = Tensor::uninit(gpu, &[slices, p.m * p.n]);
    let p = Params {
        k_per_z,
        flags: p.flags | FLAG_SPLIT,
        ..p
    };
    gemm::launch(
        gpu,
        Mode::Matmul,
        gemm::operands(a, b, bias, partial.view()),
        p,
        slices,
    );
    reduce::sum_slices(&partial, slices, out, false);
}

pub fn linear_backward_input(dy: &Tensor, w: &Tensor) -> Tensor {
    let [batch, outputs] = dy.shape()[..] else {
        panic!("linear backward: dy must be 2-D")
    };
    let inputs = w.shape()[1];
    assert_eq!(w.shape()[0], outputs);
    let dx = Tensor::uninit(dy.gpu(), &[batch, inputs]);
    let p = Params {
        m: batch,
        n: inputs,
        k: outputs,
        sa_m: outputs,
        sa_k: 1,
        sb_k: inputs,
        sb_n: 1,
        ..Default::default()
    };
    product(p, [dy.view(), w.view(), w.view()], &dx);
    dx
}

pub fn linear_backward_weight(dy: &Tensor, x: &Tensor) -> Tensor {
    let [batch, outputs] = dy.shape()[..] else {
        panic!("linear backward: dy must be 2-D")
    };
    let inputs = x.shape()[1];
    assert_eq!(x.shape()[0], batch);
    let dw = Tensor::uninit(dy.gpu(), &[outputs, inputs]);
    let p = Params {
        m: outputs,
        n: inputs,
        k: batch,
        sa_m: 1,
        sa_k: outputs,
        sb_k: inputs,
        sb_n: 1,
        ..Default::default()
    };
    product(p, [dy.view(), x.view(), x.view()], &dw);
    dw
}

pub fn linear_backward_bias(dy: &Tensor) -> Tensor {
    let [batch, outputs] = dy.shape()[..] else {
        panic!("linear backward: dy must be 2-D")
    };
    reduce::channel_sum(dy, batch, outputs, 1)
}

pub mod cpu {
    /// y = x W^T + b
    pub fn linear(
        x: &[f64],
        w: &[f64],
        b: Option<&[f64]>,
        batch: usize,
        inputs: usize,
        outputs: usize,
    ) -> Vec<f64> {
        let mut y = vec![0.0; batch * outputs];
        for r in 0..batch {
            for o in 0..outputs {
                let dot: f64 = (0..inputs)
                    .map(|i| x[r * inputs + i] * w[o * inputs + i])
                    .sum();
                y[r * outputs + o] = dot + b.map_or(0.0, |b| b[o]);
            }
        }
        y
    }

    /// (dx, dW, db)
    pub fn linear_backward(
        x: &[f64],
        w: &[f64],
        dy: &[f64],
        batch: usize,
        inputs: usize,
        outputs: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut dx = vec![0.0; batch * inputs];
        let mut dw = vec![0.0; outputs * inputs];
        let mut db = vec![0.0; outputs];
        for r in 0..batch {
            for o in 0..outputs {
                let g = dy[r * outputs + o];
                db[o] += g;
                for i in 0..inputs {
                    dx[r * inputs + i] += g * w[o * inputs + i];
                    dw[o * inputs + i] += g * x[r * inputs + i];
                }
            }
        }
        (dx, dw, db)
    }
}

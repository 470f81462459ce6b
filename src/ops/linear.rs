//! The linear (dense) layer y = x W^T + b, PyTorch's layout: x \[B, in\], W \[out, in\], b \[out\].
//! All three products are one strided matrix product, reading operands transposed by strides:
//!   forward      y[B, out]  = x[B, in]    * W^T[in, out]
//!   input grad   dx[B, in]  = dy[B, out]  * W[out, in]
//!   weight grad  dW[out, in] = dy^T[out, B] * x[B, in]
//! and the bias gradient is the column sum of dy. `plan` chooses the kernels: naive
//! (`shaders/matmul_naive.wgsl`, one invocation per output value), or `ops::gemm` on tiles
//! (f32 or f16 arithmetic) or on tensor cores, with K split where C has few tiles.

use super::gemm::tiled::{Scalar, Tile};
use super::gemm::{self, f16, GemmParams, Implementation, Product, User};
use super::programs::MATMUL_NAIVE;
use super::{reduce, u32_of, Target};
use crate::gpu::{Kernels, View};
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

/// A product of the layer: C[m, n] = sum over k of a[m sa_m + k sa_k] b[k sb_k + n sb_n].
struct Strided {
    m: usize,
    n: usize,
    k: usize,
    /// sa_m, sa_k, sb_k, sb_n
    strides: [usize; 4],
}

pub fn linear(x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Tensor {
    let (batch, inputs, outputs) = shapes(x.shape(), w.shape());
    let y = Tensor::uninit(x.gpu(), &[batch, outputs]);
    let s = Strided {
        m: batch,
        n: outputs,
        k: inputs,
        strides: [inputs, 1, 1, inputs],
    };
    product(
        &s,
        [x.view(), w.view(), bias.unwrap_or(w).view()],
        bias.is_some(),
        &y,
    );
    y
}

/// How a product of the layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    Naive,
    Gemm(Implementation, usize),
}

/// Products of at most this many rows take the short tile: the forward and the input gradient
/// at a batch of at most 16, and the weight gradient of a layer with at most 16 outputs.
const SHORT_ROWS: usize = 16;
/// Workgroups a product aims for before its K is split.
const TARGET_WORKGROUPS: usize = 256;
/// Shortest K slice worth a slice of its own.
const MIN_K_PER_SLICE: usize = 512;

/// The kernels and K slices of a product. At small batches a product has few tiles of C and a
/// long K (the discriminator's 18432 -> 1024 layer at batch 16: 8 tiles walking K = 18432),
/// so K is split into slices, each written apart (the bias with the first) and summed after.
fn plan(s: &Strided, target: &Target) -> Plan {
    let tile = if s.m <= SHORT_ROWS {
        Tile::Short
    } else {
        Tile::Square
    };
    let implementation = match target.kernels {
        Kernels::Naive => return Plan::Naive,
        Kernels::Mixed if f16::fits(s.m, s.k, s.n, target.max_binding) => Implementation::F16,
        Kernels::Half => Implementation::Tiled(tile, Scalar::F16),
        Kernels::Mixed | Kernels::F32 => Implementation::Tiled(tile, Scalar::F32),
    };
    let (tile_m, tile_n) = match implementation {
        Implementation::F16 => f16::tile(s.m),
        Implementation::Tiled(tile, _) => tile.size(),
    };
    let tiles = s.m.div_ceil(tile_m) * s.n.div_ceil(tile_n);
    let most = (target.max_binding as usize / 4 / (s.m * s.n)).max(1);
    let slices = TARGET_WORKGROUPS
        .div_ceil(tiles)
        .min(s.k / MIN_K_PER_SLICE)
        .clamp(1, most.min(64));
    Plan::Gemm(implementation, slices)
}

/// One product of the layer into `out`; `views`: a, b, bias.
fn product(s: &Strided, views: [View; 3], bias: bool, out: &Tensor) {
    let gpu = out.gpu();
    let [a, b, bias_view] = views;
    let [sa_m, sa_k, sb_k, sb_n] = s.strides;
    let p = GemmParams {
        m: u32_of(s.m),
        n: u32_of(s.n),
        k: u32_of(s.k),
        flags: if bias { GemmParams::FLAG_BIAS } else { 0 },
        sa_m: u32_of(sa_m),
        sa_k: u32_of(sa_k),
        sb_k: u32_of(sb_k),
        sb_n: u32_of(sb_n),
        ..Default::default()
    };
    match plan(s, &Target::of(gpu)) {
        Plan::Naive => {
            let elements = u32_of(s.m * s.n);
            let groups = gpu.groups_1d(elements as u64, 256);
            let views = [a, b, bias_view, out.view()];
            gpu.dispatch(MATMUL_NAIVE.main(), &views, &p, groups);
        }
        Plan::Gemm(implementation, slices) => {
            let product = Product {
                user: User::Matmul,
                p,
                images: 1,
                slices,
                views: gemm::operands(a, b, bias_view, out.view()),
            };
            gemm::run(gpu, &[product], implementation);
        }
    }
}

pub fn linear_backward_input(dy: &Tensor, w: &Tensor) -> Tensor {
    let [batch, outputs] = dy.shape()[..] else {
        panic!("linear backward: dy must be 2-D")
    };
    let inputs = w.shape()[1];
    assert_eq!(w.shape()[0], outputs);
    let dx = Tensor::uninit(dy.gpu(), &[batch, inputs]);
    let s = Strided {
        m: batch,
        n: inputs,
        k: outputs,
        strides: [outputs, 1, inputs, 1],
    };
    product(&s, [dy.view(), w.view(), w.view()], false, &dx);
    dx
}

pub fn linear_backward_weight(dy: &Tensor, x: &Tensor) -> Tensor {
    let [batch, outputs] = dy.shape()[..] else {
        panic!("linear backward: dy must be 2-D")
    };
    let inputs = x.shape()[1];
    assert_eq!(x.shape()[0], batch);
    let dw = Tensor::uninit(dy.gpu(), &[outputs, inputs]);
    let s = Strided {
        m: outputs,
        n: inputs,
        k: batch,
        strides: [1, outputs, inputs, 1],
    };
    product(&s, [dy.view(), x.view(), x.view()], false, &dw);
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

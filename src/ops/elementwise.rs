//! Elementwise ops (`shaders/unary.wgsl`, `shaders/binary.wgsl`): arithmetic, activations and
//! their backwards, the per-element binary cross-entropy on logits, and the in-place update of
//! a moving average (`shaders/average.wgsl`). Each splits a tensor larger than one binding
//! into pieces (`ops::chunks`).

use super::programs::{AVERAGE, BINARY, UNARY};
use super::{chunks, Elementwise};
use crate::tensor::Tensor;

fn unary(x: &Tensor, entry: &'static str, alpha: f32, beta: f32) -> Tensor {
    let gpu = x.gpu();
    let out = Tensor::uninit(gpu, x.shape());
    let kernel = UNARY.kernel(entry);
    for (start, len) in chunks(gpu, x.numel()) {
        let views = [x.range(start, len), out.range(start, len)];
        gpu.dispatch(
            kernel,
            &views,
            &Elementwise::new(len, start, alpha, beta),
            gpu.groups_1d(len as u64, 256),
        );
    }
    out
}

fn binary(a: &Tensor, b: &Tensor, entry: &'static str, alpha: f32, beta: f32) -> Tensor {
    assert_eq!(a.shape(), b.shape(), "{entry}: shapes differ");
    let gpu = a.gpu();
    let out = Tensor::uninit(gpu, a.shape());
    let kernel = BINARY.kernel(entry);
    for (start, len) in chunks(gpu, a.numel()) {
        let views = [
            a.range(start, len),
            b.range(start, len),
            out.range(start, len),
        ];
        gpu.dispatch(
            kernel,
            &views,
            &Elementwise::new(len, start, alpha, beta),
            gpu.groups_1d(len as u64, 256),
        );
    }
    out
}

/// alpha * a + beta * b
pub fn axpby(alpha: f32, a: &Tensor, beta: f32, b: &Tensor) -> Tensor {
    binary(a, b, "axpby", alpha, beta)
}

pub fn add(a: &Tensor, b: &Tensor) -> Tensor {
    axpby(1.0, a, 1.0, b)
}

pub fn sub(a: &Tensor, b: &Tensor) -> Tensor {
    axpby(1.0, a, -1.0, b)
}

pub fn mul(a: &Tensor, b: &Tensor) -> Tensor {
    binary(a, b, "mul", 0.0, 0.0)
}

/// alpha * x + beta
pub fn affine(x: &Tensor, alpha: f32, beta: f32) -> Tensor {
    unary(x, "affine", alpha, beta)
}

pub fn scale(x: &Tensor, alpha: f32) -> Tensor {
    affine(x, alpha, 0.0)
}

pub fn relu(x: &Tensor) -> Tensor {
    unary(x, "relu", 0.0, 0.0)
}

pub fn leaky_relu(x: &Tensor, slope: f32) -> Tensor {
    unary(x, "leaky_relu", slope, 0.0)
}

pub fn tanh(x: &Tensor) -> Tensor {
    unary(x, "tanh_fwd", 0.0, 0.0)
}

pub fn sigmoid(x: &Tensor) -> Tensor {
    unary(x, "sigmoid", 0.0, 0.0)
}

/// Backward of ReLU (slope 0) and LeakyReLU, from the forward input `x`.
pub fn leaky_relu_backward(x: &Tensor, dy: &Tensor, slope: f32) -> Tensor {
    binary(x, dy, "leaky_relu_bwd", slope, 0.0)
}

/// Backward of tanh, from the forward output `y`.
pub fn tanh_backward(y: &Tensor, dy: &Tensor) -> Tensor {
    binary(y, dy, "tanh_bwd", 0.0, 0.0)
}

/// Backward of sigmoid, from the forward output `y`.
pub fn sigmoid_backward(y: &Tensor, dy: &Tensor) -> Tensor {
    binary(y, dy, "sigmoid_bwd", 0.0, 0.0)
}

/// Per-element binary cross-entropy of logits against targets in [0, 1].
pub fn bce_logits(logits: &Tensor, targets: &Tensor) -> Tensor {
    binary(logits, targets, "bce_logits", 0.0, 0.0)
}

/// d bce_logits / d logits = sigmoid(logits) - targets.
pub fn bce_logits_backward(logits: &Tensor, targets: &Tensor) -> Tensor {
    binary(logits, targets, "bce_logits_bwd", 0.0, 0.0)
}

/// A tensor of `shape` filled with alpha * s, s being a one-element tensor on the GPU.
pub fn broadcast(s: &Tensor, shape: &[usize], alpha: f32) -> Tensor {
    assert_eq!(s.numel(), 1, "broadcast takes a scalar");
    let gpu = s.gpu();
    let out = Tensor::uninit(gpu, shape);
    let kernel = UNARY.kernel("broadcast");
    for (start, len) in chunks(gpu, out.numel()) {
        let views = [s.view(), out.range(start, len)];
        gpu.dispatch(
            kernel,
            &views,
            &Elementwise::new(len, start, alpha, 0.0),
            gpu.groups_1d(len as u64, 256),
        );
    }
    out
}

/// alpha * x * s, s being a one-element tensor on the GPU (an upstream gradient).
pub fn mul_scalar(x: &Tensor, s: &Tensor, alpha: f32) -> Tensor {
    assert_eq!(s.numel(), 1, "mul_scalar takes a scalar");
    let gpu = x.gpu();
    let out = Tensor::uninit(gpu, x.shape());
    let kernel = BINARY.kernel("mul_scalar");
    for (start, len) in chunks(gpu, x.numel()) {
        let views = [x.range(start, len), s.view(), out.range(start, len)];
        gpu.dispatch(
            kernel,
            &views,
            &Elementwise::new(len, start, alpha, 0.0),
            gpu.groups_1d(len as u64, 256),
        );
    }
    out
}

/// Moves `avg` the fraction `rate` of the way to `x`, in place: one update of an exponential
/// moving average whose decay is 1 - `rate` (`train --ema`). In place because the average is
/// a model's weights, which keep their buffers.
pub fn average_into(avg: &Tensor, x: &Tensor, rate: f32) {
    assert_eq!(avg.shape(), x.shape(), "average_into: shapes differ");
    let gpu = x.gpu();
    for (start, len) in chunks(gpu, x.numel()) {
        gpu.dispatch(
            AVERAGE.main(),
            &[x.range(start, len), avg.range(start, len)],
            &Elementwise::new(len, start, rate, 0.0),
            gpu.groups_1d(len as u64, 256),
        );
    }
}

/// Plain-Rust references, in f64.
pub mod cpu {
    pub fn average_into(avg: &mut [f64], x: &[f64], rate: f64) {
        for (a, &x) in avg.iter_mut().zip(x) {
            *a += rate * (x - *a);
        }
    }

    pub fn leaky_relu(x: &[f64], slope: f64) -> Vec<f64> {
        x.iter()
            .map(|&v| if v > 0.0 { v } else { slope * v })
            .collect()
    }

    pub fn leaky_relu_backward(x: &[f64], dy: &[f64], slope: f64) -> Vec<f64> {
        x.iter()
            .zip(dy)
            .map(|(&v, &g)| if v > 0.0 { g } else { slope * g })
            .collect()
    }

    pub fn sigmoid(x: &[f64]) -> Vec<f64> {
        x.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect()
    }

    pub fn sigmoid_backward(y: &[f64], dy: &[f64]) -> Vec<f64> {
        y.iter().zip(dy).map(|(&y, &g)| g * y * (1.0 - y)).collect()
    }

    pub fn tanh(x: &[f64]) -> Vec<f64> {
        x.iter().map(|v| v.tanh()).collect()
    }

    pub fn tanh_backward(y: &[f64], dy: &[f64]) -> Vec<f64> {
        y.iter().zip(dy).map(|(&y, &g)| g * (1.0 - y * y)).collect()
    }

    /// -[t log s(x) + (1 - t) log(1 - s(x))], written the naive way: the GPU's stable form
    /// is checked against it where the naive form is still exact.
    pub fn bce_logits(x: &[f64], t: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(t)
            .map(|(&x, &t)| {
                let s = 1.0 / (1.0 + (-x).exp());
                -(t * s.ln() + (1.0 - t) * (1.0 - s).ln())
            })
            .collect()
    }

    pub fn bce_logits_backward(x: &[f64], t: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(t)
            .map(|(&x, &t)| 1.0 / (1.0 + (-x).exp()) - t)
            .collect()
    }
}

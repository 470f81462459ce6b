//! The linear (dense) layer y = x W^T + b, PyTorch's layout: x [B, in], W [out, in], b [out].
//! All three products run on `shaders/matmul.wgsl`, reading operands transposed by strides:
//!   forward      y[B, out]  = x[B, in]    * W^T[in, out]
//!   input grad   dx[B, in]  = dy[B, out]  * W[out, in]
//!   weight grad  dW[out, in] = dy^T[out, B] * x[B, in]
//! and the bias gradient is the column sum of dy.

use super::gemm::{self, Mode, Params, FLAG_BIAS};
use super::reduce;
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
    gemm::launch(
        x.gpu(),
        Mode::Matmul,
        [x.view(), w.view(), bias.unwrap_or(w).view(), y.view()],
        p,
        1,
    );
    y
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
    gemm::launch(
        dy.gpu(),
        Mode::Matmul,
        [dy.view(), w.view(), w.view(), dx.view()],
        p,
        1,
    );
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
    gemm::launch(
        dy.gpu(),
        Mode::Matmul,
        [dy.view(), x.view(), x.view(), dw.view()],
        p,
        1,
    );
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

//! Adam (Kingma & Ba 2015), the optimizer of the SRGAN paper (lr 1e-4, beta1 0.9).
//! The update itself is `shaders/adam.wgsl`; this keeps the moment tensors and the step count.

use crate::autograd::Param;
use crate::gpu::Kernel;
use crate::ops::u32_of;
use crate::ops::wgsl;
use crate::tensor::Tensor;
use std::sync::Arc;

pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Steps taken so far (the t of the bias correction).
    pub step: u64,
    /// The factor the gradients carry (the loss scale of `Tape::backward_scaled`); each
    /// update divides it out first.
    pub grad_scale: f32,
    pub slots: Vec<Slot>,
}

/// One parameter and its first and second moment estimates.
pub struct Slot {
    pub param: Arc<Param>,
    pub m: Tensor,
    pub v: Tensor,
}

impl Adam {
    pub fn new(params: Vec<Arc<Param>>, lr: f32) -> Adam {
        let slots = params
            .into_iter()
            .map(|param| {
                let (gpu, shape) = (param.value.gpu(), param.value.shape());
                Slot {
                    m: Tensor::zeros(gpu, shape),
                    v: Tensor::zeros(gpu, shape),
                    param,
                }
            })
            .collect();
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
            grad_scale: 1.0,
            slots,
        }
    }

    /// Updates every parameter that has a gradient, then clears the gradients.
    pub fn step(&mut self) {
        self.step += 1;
        let t = self.step as i32;
        let c1 = 1.0 - (self.beta1 as f64).powi(t);
        let c2 = 1.0 - (self.beta2 as f64).powi(t);
        let kernel = Kernel {
            name: "adam",
            entry: "main",
            source: wgsl!("adam"),
            trusted: true,
        };
        for s in &self.slots {
            let Some(g) = s.param.take_grad() else {
                continue;
            };
            let gpu = g.gpu();
            // In pieces of at most one storage binding: a layer can be larger than that.
            for (start, n) in crate::ops::chunks(gpu, g.numel()) {
                let p = [
                    u32_of(n),
                    self.lr.to_bits(),
                    self.beta1.to_bits(),
                    self.beta2.to_bits(),
                    self.eps.to_bits(),
                    (c1 as f32).to_bits(),
                    (c2 as f32).to_bits(),
                    (1.0 / self.grad_scale).to_bits(),
                ];
                let views = [
                    g.range(start, n),
                    s.param.value.range(start, n),
                    s.m.range(start, n),
                    s.v.range(start, n),
                ];
                gpu.dispatch(&kernel, &views, &p, gpu.groups_1d(n as u64, 256));
            }
        }
    }
}

/// The CPU reference of one Adam step, in f64.
pub mod cpu {
    #[allow(clippy::too_many_arguments)]
    pub fn adam(
        param: &mut [f64],
        m: &mut [f64],
        v: &mut [f64],
        g: &[f64],
        lr: f64,
        b1: f64,
        b2: f64,
        eps: f64,
        step: i32,
    ) {
        for i in 0..param.len() {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let mh = m[i] / (1.0 - b1.powi(step));
            let vh = v[i] / (1.0 - b2.powi(step));
            param[i] -= lr * mh / (vh.sqrt() + eps);
        }
    }
}

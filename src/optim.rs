//! Adam (Kingma & Ba 2015), the optimizer of the SRGAN paper (lr 1e-4, beta1 0.9).
//! The update itself is `shaders/adam.wgsl`; this keeps the moment tensors and the step count,
//! and the parameters in few buffers, so that one dispatch updates all of a model's.

use crate::autograd::Param;
use crate::gpu::{Gpu, View};
use crate::ops::programs::ADAM;
use crate::ops::u32_of;
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
    groups: Vec<Group>,
}

/// One parameter and its first and second moment estimates.
pub struct Slot {
    pub param: Arc<Param>,
    pub m: Tensor,
    pub v: Tensor,
    /// Where the step gathers the gradient (in its group's gradient buffer); None for a
    /// parameter too large for one binding, updated on its own.
    grad: Option<Tensor>,
}

/// Parameters whose values, moments and gradients are slices of one buffer each, at the
/// same offsets: one dispatch updates them all.
struct Group {
    slots: std::ops::Range<usize>,
    /// Elements in each of the four buffers (the slices and the gaps between them, which
    /// stay zero and so are left unchanged by the update).
    len: usize,
    values: Tensor,
    m: Tensor,
    v: Tensor,
    grads: Tensor,
}

crate::params! {
    /// The parameters of `shaders/adam.wgsl`.
    pub(crate) struct AdamParams {
        n: u32, lr: f32, b1: f32, b2: f32, eps: f32, correction1: f32, correction2: f32,
        unscale: f32,
    }
}

impl Adam {
    /// An optimizer for `params`, which it moves into buffers of its own (see `Group`):
    /// create it before any computation uses them.
    pub fn new(params: Vec<Arc<Param>>, lr: f32) -> Adam {
        let mut slots = Vec::new();
        let mut groups = Vec::new();
        let Some(gpu) = params.first().map(|p| p.value().gpu().clone()) else {
            return Adam::with(slots, groups, lr);
        };
        let align = gpu.align_elements();
        let room = (gpu.max_binding() as usize / 4) / align * align;
        let mut pending: Vec<Arc<Param>> = Vec::new();
        let mut used = 0;
        for param in params {
            let size = param.value().numel().next_multiple_of(align);
            if size > room {
                // Larger than a binding: its own moments, updated a binding at a time.
                let value = param.value();
                slots.push(Slot {
                    m: Tensor::zeros(&gpu, value.shape()),
                    v: Tensor::zeros(&gpu, value.shape()),
                    grad: None,
                    param,
                });
                continue;
            }
            if used + size > room {
                groups.push(gather(&gpu, std::mem::take(&mut pending), &mut slots));
                used = 0;
            }
            used += size;
            pending.push(param);
        }
        if !pending.is_empty() {
            groups.push(gather(&gpu, pending, &mut slots));
        }
        Adam::with(slots, groups, lr)
    }

    fn with(slots: Vec<Slot>, groups: Vec<Group>, lr: f32) -> Adam {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
            grad_scale: 1.0,
            slots,
            groups,
        }
    }

    /// Updates every parameter that has a gradient, then clears the gradients. A group whose
    /// parameters all have one (every training step) gathers them into its gradient buffer
    /// and takes one dispatch; otherwise each parameter with a gradient takes its own.
    pub fn step(&mut self) {
        self.step += 1;
        let t = self.step as i32;
        let params = |n: usize| AdamParams {
            n: u32_of(n),
            lr: self.lr,
            b1: self.beta1,
            b2: self.beta2,
            eps: self.eps,
            correction1: (1.0 - (self.beta1 as f64).powi(t)) as f32,
            correction2: (1.0 - (self.beta2 as f64).powi(t)) as f32,
            unscale: 1.0 / self.grad_scale,
        };
        let grads: Vec<Option<Tensor>> = self.slots.iter().map(|s| s.param.take_grad()).collect();
        let mut done = vec![false; self.slots.len()];
        for group in &self.groups {
            if !grads[group.slots.clone()].iter().all(Option::is_some) {
                continue;
            }
            for i in group.slots.clone() {
                let place = self.slots[i]
                    .grad
                    .as_ref()
                    .expect("grouped slots have a place");
                place.copy_from(grads[i].as_ref().expect("checked above"));
                done[i] = true;
            }
            let gpu = group.values.gpu();
            let views = [
                group.grads.view(),
                group.values.view(),
                group.m.view(),
                group.v.view(),
            ];
            update(gpu, &views, params(group.len));
        }
        for (i, g) in grads.iter().enumerate() {
            let (Some(g), false) = (g, done[i]) else {
                continue;
            };
            let s = &self.slots[i];
            let (gpu, value) = (g.gpu(), s.param.value());
            // In pieces of at most one storage binding: a layer can be larger than that.
            for (start, n) in crate::ops::chunks(gpu, g.numel()) {
                let views = [
                    g.range(start, n),
                    value.range(start, n),
                    s.m.range(start, n),
                    s.v.range(start, n),
                ];
                update(gpu, &views, params(n));
            }
        }
    }
}

/// One dispatch of `shaders/adam.wgsl`: gradient, value, m, v.
fn update(gpu: &Gpu, views: &[View; 4], p: AdamParams) {
    let groups = gpu.groups_1d(p.n as u64, 256);
    gpu.dispatch(ADAM.main(), views, &p, groups);
}

/// Moves `params` into one buffer of values, with moments and gradients laid out alike,
/// appending their slots.
fn gather(gpu: &Gpu, params: Vec<Arc<Param>>, slots: &mut Vec<Slot>) -> Group {
    let shapes: Vec<Vec<usize>> = params.iter().map(|p| p.value().shape().to_vec()).collect();
    let (values, len) = Tensor::slices(gpu, &shapes);
    let (m, _) = Tensor::slices(gpu, &shapes);
    let (v, _) = Tensor::slices(gpu, &shapes);
    let (grads, _) = Tensor::slices(gpu, &shapes);
    let first = slots.len();
    let group = Group {
        slots: first..first + params.len(),
        len,
        values: values[0].backing(len),
        m: m[0].backing(len),
        v: v[0].backing(len),
        grads: grads[0].backing(len),
    };
    for (param, ((value, m), (v, grad))) in params
        .into_iter()
        .zip(values.into_iter().zip(m).zip(v.into_iter().zip(grads)))
    {
        param.move_to(value);
        slots.push(Slot {
            param,
            m,
            v,
            grad: Some(grad),
        });
    }
    group
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

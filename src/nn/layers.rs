//! The layers SRGAN needs. Each holds its parameters and runs its op on a tape.

use super::{join, Entry};
use crate::autograd::{self as ag, Param, Tape, Var};
use crate::gpu::Gpu;
use crate::rng::Rng;
use crate::tensor::Tensor;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// PyTorch's default initialisation for conv and linear layers: uniform in
/// ±1/sqrt(fan_in) for weights and biases (kaiming_uniform with a = sqrt(5)).
fn uniform_param(
    gpu: &Gpu,
    rng: &mut Rng,
    name: String,
    shape: &[usize],
    fan_in: usize,
) -> Arc<Param> {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.range(-bound, bound) as f32).collect();
    Param::new(name, Tensor::from_slice(gpu, shape, &data))
}

fn filled(gpu: &Gpu, name: String, shape: &[usize], value: f32) -> Arc<Param> {
    Param::new(
        name,
        Tensor::from_slice(gpu, shape, &vec![value; shape.iter().product()]),
    )
}

#[derive(Clone)]
pub struct Conv2d {
    pub weight: Arc<Param>,
    pub bias: Option<Arc<Param>>,
    pub stride: usize,
    pub pad: usize,
}

impl Conv2d {
    /// A square `k`x`k` convolution with "same" padding (k / 2), as all of SRGAN's are.
    pub fn new(
        gpu: &Gpu,
        rng: &mut Rng,
        name: &str,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        bias: bool,
    ) -> Conv2d {
        let fan_in = cin * k * k;
        Conv2d {
            weight: uniform_param(gpu, rng, join(name, "weight"), &[cout, cin, k, k], fan_in),
            bias: bias.then(|| uniform_param(gpu, rng, join(name, "bias"), &[cout], fan_in)),
            stride,
            pad: k / 2,
        }
    }

    pub fn forward(&self, t: &Tape, x: &Var) -> Var {
        let w = t.param(&self.weight);
        let b = self.bias.as_ref().map(|b| t.param(b));
        ag::conv2d(t, x, &w, b.as_ref(), self.stride, self.pad)
    }

    pub fn entries(&self) -> Vec<Entry> {
        let mut e = vec![Entry::Param(self.weight.clone())];
        e.extend(self.bias.iter().map(|b| Entry::Param(b.clone())));
        e
    }
}

pub struct BatchNorm2d {
    pub weight: Arc<Param>,
    pub bias: Arc<Param>,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    pub batches_tracked: Arc<AtomicU64>,
    pub momentum: f32,
    pub eps: f32,
    name: String,
}

impl BatchNorm2d {
    /// PyTorch's defaults: gamma 1, beta 0, running mean 0 and variance 1, momentum 0.1,
    /// eps 1e-5.
    pub fn new(gpu: &Gpu, name: &str, channels: usize) -> BatchNorm2d {
        BatchNorm2d {
            weight: filled(gpu, join(name, "weight"), &[channels], 1.0),
            bias: filled(gpu, join(name, "bias"), &[channels], 0.0),
            running_mean: Tensor::from_slice(gpu, &[channels], &vec![0.0; channels]),
            running_var: Tensor::from_slice(gpu, &[channels], &vec![1.0; channels]),
            batches_tracked: Arc::new(AtomicU64::new(0)),
            momentum: 0.1,
            eps: 1e-5,
            name: name.to_string(),
        }
    }

    /// Training mode uses and updates batch statistics; otherwise the running ones.
    pub fn forward(&self, t: &Tape, x: &Var, training: bool) -> Var {
        let (g, b) = (t.param(&self.weight), t.param(&self.bias));
        if training {
            self.batches_tracked.fetch_add(1, Relaxed);
            ag::batch_norm_train(
                t,
                x,
                &g,
                &b,
                &self.running_mean,
                &self.running_var,
                self.momentum,
                self.eps,
            )
        } else {
            ag::batch_norm_eval(
                t,
                x,
                &g,
                &b,
                &self.running_mean,
                &self.running_var,
                self.eps,
            )
        }
    }

    /// This batch norm, then PReLU with `slope` (a PReLU's parameter, or a constant for a
    /// leaky ReLU): in training mode with one slope per channel as one op
    /// (`ag::batch_norm_prelu_train`), otherwise as two.
    pub fn forward_prelu(&self, t: &Tape, x: &Var, training: bool, slope: &Var) -> Var {
        if !(training && slope.shape() == self.weight.value().shape()) {
            return ag::prelu(t, &self.forward(t, x, training), slope);
        }
        self.batches_tracked.fetch_add(1, Relaxed);
        ag::batch_norm_prelu_train(
            t,
            x,
            &t.param(&self.weight),
            &t.param(&self.bias),
            slope,
            &self.running_mean,
            &self.running_var,
            self.momentum,
            self.eps,
        )
    }

    pub fn entries(&self) -> Vec<Entry> {
        vec![
            Entry::Param(self.weight.clone()),
            Entry::Param(self.bias.clone()),
            Entry::Buffer(join(&self.name, "running_mean"), self.running_mean.clone()),
            Entry::Buffer(join(&self.name, "running_var"), self.running_var.clone()),
            Entry::Counter(
                join(&self.name, "num_batches_tracked"),
                self.batches_tracked.clone(),
            ),
        ]
    }
}

#[derive(Clone)]
pub struct PRelu {
    pub weight: Arc<Param>,
}

impl PRelu {
    /// `slopes` is 1 (shared) or the channel count; PyTorch starts them at 0.25.
    pub fn new(gpu: &Gpu, name: &str, slopes: usize) -> PRelu {
        PRelu {
            weight: filled(gpu, join(name, "weight"), &[slopes], 0.25),
        }
    }

    pub fn forward(&self, t: &Tape, x: &Var) -> Var {
        ag::prelu(t, x, &t.param(&self.weight))
    }

    pub fn entries(&self) -> Vec<Entry> {
        vec![Entry::Param(self.weight.clone())]
    }
}

pub struct Linear {
    pub weight: Arc<Param>,
    pub bias: Arc<Param>,
}

impl Linear {
    pub fn new(gpu: &Gpu, rng: &mut Rng, name: &str, inputs: usize, outputs: usize) -> Linear {
        Linear {
            weight: uniform_param(gpu, rng, join(name, "weight"), &[outputs, inputs], inputs),
            bias: uniform_param(gpu, rng, join(name, "bias"), &[outputs], inputs),
        }
    }

    pub fn forward(&self, t: &Tape, x: &Var) -> Var {
        ag::linear(t, x, &t.param(&self.weight), Some(&t.param(&self.bias)))
    }

    pub fn entries(&self) -> Vec<Entry> {
        vec![
            Entry::Param(self.weight.clone()),
            Entry::Param(self.bias.clone()),
        ]
    }
}

/// Each layer is a module of its own entries (the inherent `entries` above).
macro_rules! module {
    ($($t:ty),*) => {$(
        impl super::Module for $t {
            fn entries(&self) -> Vec<Entry> {
                <$t>::entries(self)
            }
        }
    )*};
}
module!(Conv2d, BatchNorm2d, PRelu, Linear);

//! Batch normalisation over N, H and W for each channel of an NCHW tensor.
//!
//! Forward (training): mean and biased variance of the batch, xhat = (x - mean) * inv_std with
//! inv_std = 1 / sqrt(var + eps), y = gamma * xhat + beta. The running statistics move towards
//! the batch's with momentum (PyTorch's 0.1), the variance unbiased by M / (M - 1), M = N*H*W.
//! Inference normalises with the running statistics instead.
//!
//! Backward (training), per channel, from y = gamma * xhat + beta:
//!   dbeta  = sum(dy),  dgamma = sum(dy * xhat)
//!   dxhat  = gamma * dy
//!   dx     = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
//!          = gamma * inv_std * (dy - dbeta / M - xhat * dgamma / M)
//! The mean and variance depend on every x, which gives the two subtracted terms: moving one
//! x shifts the mean (all xhat move together) and scales the variance (xhat moves along
//! itself). Two kernels: a per-channel reduction for the sums, then one pass for dx.

use super::chunks;
use super::programs::{
    BATCHNORM_APPLY, BATCHNORM_BWD_INPUT, BATCHNORM_BWD_REDUCE, BATCHNORM_STATS, EMA,
};
use super::u32_of;
use crate::tensor::Tensor;

fn channel_params(x: &Tensor) -> (usize, usize, usize) {
    let (n, c, h, w) = x.nchw();
    (n, c, h * w)
}

crate::params! {
    /// The parameters of `shaders/batchnorm_stats.wgsl` (eps unused there) and
    /// `batchnorm_bwd_reduce.wgsl`: one workgroup per channel of x [batch, channels, hw].
    pub(crate) struct BatchNormChannels { batch: u32, channels: u32, hw: u32, eps: f32 }
}

impl BatchNormChannels {
    fn new(batch: usize, channels: usize, hw: usize, eps: f32) -> BatchNormChannels {
        BatchNormChannels {
            batch: u32_of(batch),
            channels: u32_of(channels),
            hw: u32_of(hw),
            eps,
        }
    }
}

crate::params! {
    /// The parameters of `shaders/batchnorm_apply.wgsl` and `batchnorm_bwd_input.wgsl` (count
    /// used there only): n elements of the window starting at flat index base.
    pub(crate) struct BatchNormElements { n: u32, base: u32, channels: u32, hw: u32, eps: f32, count: f32 }
}

impl BatchNormElements {
    fn new(n: usize, base: usize, channels: usize, hw: usize, eps: f32, count: f32) -> Self {
        BatchNormElements {
            n: u32_of(n),
            base: u32_of(base),
            channels: u32_of(channels),
            hw: u32_of(hw),
            eps,
            count,
        }
    }
}

crate::params! {
    /// The parameters of `shaders/ema.wgsl`.
    pub(crate) struct EmaParams { n: u32, momentum: f32, unbias: f32 }
}

/// Training-mode forward: (y, batch mean, batch biased variance).
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f32,
) -> (Tensor, Tensor, Tensor) {
    let (n, c, hw) = channel_params(x);
    let gpu = x.gpu();
    let mean = Tensor::uninit(gpu, &[c]);
    let var = Tensor::uninit(gpu, &[c]);
    gpu.dispatch(
        BATCHNORM_STATS.main(),
        &[x.view(), mean.view(), var.view()],
        &BatchNormChannels::new(n, c, hw, 0.0),
        [u32_of(c), 1, 1],
    );
    let y = batch_norm_apply(x, &mean, &var, gamma, beta, eps);
    (y, mean, var)
}

/// y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel: inference mode with the
/// running statistics, or the second half of the training forward.
pub fn batch_norm_apply(
    x: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f32,
) -> Tensor {
    let (_, c, hw) = channel_params(x);
    for t in [mean, var, gamma, beta] {
        assert_eq!(
            t.shape(),
            [c],
            "batch norm: per-channel tensors must have {c} values"
        );
    }
    let gpu = x.gpu();
    let y = Tensor::uninit(gpu, x.shape());
    for (start, len) in chunks(gpu, x.numel()) {
        let views = [
            x.range(start, len),
            mean.view(),
            var.view(),
            gamma.view(),
            beta.view(),
            y.range(start, len),
        ];
        let p = BatchNormElements::new(len, start, c, hw, eps, 0.0);
        gpu.dispatch(
            BATCHNORM_APPLY.main(),
            &views,
            &p,
            gpu.groups_1d(len as u64, 256),
        );
    }
    y
}

/// Moves the running statistics towards the batch's, in place.
pub fn update_running(
    running_mean: &Tensor,
    running_var: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    momentum: f32,
    count: usize,
) {
    let gpu = mean.gpu();
    let unbias = count as f32 / (count.max(2) - 1) as f32;
    let n = mean.numel();
    let views = [
        mean.view(),
        var.view(),
        running_mean.view(),
        running_var.view(),
    ];
    let p = EmaParams {
        n: u32_of(n),
        momentum,
        unbias,
    };
    gpu.dispatch(EMA.main(), &views, &p, gpu.groups_1d(n as u64, 256));
}

/// Training-mode backward: (dx, dgamma, dbeta).
pub fn batch_norm_backward(
    x: &Tensor,
    dy: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    gamma: &Tensor,
    eps: f32,
) -> (Tensor, Tensor, Tensor) {
    let (n, c, hw) = channel_params(x);
    assert_eq!(
        x.shape(),
        dy.shape(),
        "batch norm backward: dy has the wrong shape"
    );
    let gpu = x.gpu();
    let dgamma = Tensor::uninit(gpu, &[c]);
    let dbeta = Tensor::uninit(gpu, &[c]);
    let views = [
        x.view(),
        dy.view(),
        mean.view(),
        var.view(),
        dgamma.view(),
        dbeta.view(),
    ];
    gpu.dispatch(
        BATCHNORM_BWD_REDUCE.main(),
        &views,
        &BatchNormChannels::new(n, c, hw, eps),
        [u32_of(c), 1, 1],
    );
    let dx = Tensor::uninit(gpu, x.shape());
    let count = (n * hw) as f32;
    for (start, len) in chunks(gpu, x.numel()) {
        let views = [
            x.range(start, len),
            dy.range(start, len),
            mean.view(),
            var.view(),
            gamma.view(),
            dgamma.view(),
            dbeta.view(),
            dx.range(start, len),
        ];
        let p = BatchNormElements::new(len, start, c, hw, eps, count);
        let groups = gpu.groups_1d(len as u64, 256);
        gpu.dispatch(BATCHNORM_BWD_INPUT.main(), &views, &p, groups);
    }
    (dx, dgamma, dbeta)
}

pub mod cpu {
    /// (y, mean, biased variance) over N and HW of x [N, C, HW].
    pub fn batch_norm_train(
        x: &[f64],
        n: usize,
        c: usize,
        hw: usize,
        gamma: &[f64],
        beta: &[f64],
        eps: f64,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let count = (n * hw) as f64;
        let at = |b: usize, ch: usize| &x[(b * c + ch) * hw..][..hw];
        let mean: Vec<f64> = (0..c)
            .map(|ch| (0..n).map(|b| at(b, ch).iter().sum::<f64>()).sum::<f64>() / count)
            .collect();
        let var: Vec<f64> = (0..c)
            .map(|ch| {
                (0..n)
                    .map(|b| {
                        at(b, ch)
                            .iter()
                            .map(|v| (v - mean[ch]).powi(2))
                            .sum::<f64>()
                    })
                    .sum::<f64>()
                    / count
            })
            .collect();
        let y = x
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let ch = (i / hw) % c;
                (v - mean[ch]) / (var[ch] + eps).sqrt() * gamma[ch] + beta[ch]
            })
            .collect();
        (y, mean, var)
    }

    /// (dx, dgamma, dbeta), from the derivation at the top of this file.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm_backward(
        x: &[f64],
        dy: &[f64],
        n: usize,
        c: usize,
        hw: usize,
        gamma: &[f64],
        mean: &[f64],
        var: &[f64],
        eps: f64,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let count = (n * hw) as f64;
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let mut dgamma = vec![0.0; c];
        let mut dbeta = vec![0.0; c];
        for i in 0..x.len() {
            let ch = (i / hw) % c;
            dbeta[ch] += dy[i];
            dgamma[ch] += dy[i] * (x[i] - mean[ch]) * inv_std[ch];
        }
        let dx = (0..x.len())
            .map(|i| {
                let ch = (i / hw) % c;
                let xhat = (x[i] - mean[ch]) * inv_std[ch];
                gamma[ch] * inv_std[ch] * (dy[i] - dbeta[ch] / count - xhat * dgamma[ch] / count)
            })
            .collect();
        (dx, dgamma, dbeta)
    }
}

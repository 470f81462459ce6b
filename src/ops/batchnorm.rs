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
//!
//! Batch norm then PReLU (SRGAN's generator blocks) also runs fused (`batch_norm_prelu_train`):
//! one pass applies both, and its backward takes PReLU's gradient dz = dy where z > 0, else
//! slope dy, inside the two passes above, recomputing z from x, so neither z nor dz is stored.
//!
//! A batch larger than one storage binding is reduced in runs of whole images (`image_runs`):
//! the gradients' sums add up over the runs, the runs' statistics are pooled
//! (`pooled_stats`), and the fused backward's per-channel values are the runs' weighted mean.

use super::programs::{
    BATCHNORM_APPLY, BATCHNORM_BWD_INPUT, BATCHNORM_BWD_REDUCE, BATCHNORM_PRELU,
    BATCHNORM_PRELU_BWD_INPUT, BATCHNORM_PRELU_BWD_REDUCE, BATCHNORM_STATS, EMA,
};
use super::u32_of;
use super::{chunks, elementwise, image_runs, images_view, sum_over_image_runs};
use crate::gpu::Kernel;
use crate::tensor::Tensor;

fn channel_params(x: &Tensor) -> (usize, usize, usize) {
    let (n, c, h, w) = x.nchw();
    (n, c, h * w)
}

crate::params! {
    /// The parameters of `shaders/batchnorm_stats.wgsl` (eps unused there),
    /// `batchnorm_bwd_reduce.wgsl` and `batchnorm_prelu_bwd_reduce.wgsl` (`spacing`: where its
    /// results start, one from the next): one workgroup per channel of x [batch, channels, hw].
    pub(crate) struct BatchNormChannels { batch: u32, channels: u32, hw: u32, eps: f32, spacing: u32 }
}

impl BatchNormChannels {
    fn new(batch: usize, channels: usize, hw: usize, eps: f32) -> BatchNormChannels {
        BatchNormChannels {
            batch: u32_of(batch),
            channels: u32_of(channels),
            hw: u32_of(hw),
            eps,
            spacing: 0,
        }
    }
}

crate::params! {
    /// The parameters of the per-element batch-norm passes (`shaders/batchnorm_apply.wgsl`,
    /// `batchnorm_bwd_input.wgsl`, `batchnorm_prelu.wgsl`, `batchnorm_prelu_bwd_input.wgsl`,
    /// which reads neither eps nor count): n elements of the window starting at flat index
    /// base; count (M = N HW) is read by `batchnorm_bwd_input.wgsl` only.
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

/// The batch's mean and biased variance per channel.
fn batch_stats(x: &Tensor) -> (Tensor, Tensor) {
    let (n, c, hw) = channel_params(x);
    let gpu = x.gpu();
    let run_stats = |run: (usize, usize)| {
        let mean = Tensor::uninit(gpu, &[c]);
        let var = Tensor::uninit(gpu, &[c]);
        gpu.dispatch(
            BATCHNORM_STATS.main(),
            &[images_view(x, n, run), mean.view(), var.view()],
            &BatchNormChannels::new(run.1, c, hw, 0.0),
            [u32_of(c), 1, 1],
        );
        (run.1, mean, var)
    };
    match image_runs(n, &[x]).as_slice() {
        [run] => {
            let (_, mean, var) = run_stats(*run);
            (mean, var)
        }
        runs => pooled_stats(n, runs.iter().map(|&run| run_stats(run)).collect()),
    }
}

/// The mean and biased variance of a batch of `batch_images` from those of its runs, `runs`
/// holding each run's `(run_images, mean, variance)`. With w_r a run's share of the batch, the
/// law of total variance: mean = sum w_r mean_r, var = sum w_r (var_r + (mean_r - mean)^2);
/// each run's variance is the kernel's two-pass one, not E[x^2] - mean^2. The spread term
/// carries the runs' means' f32 rounding, so where |mean| is many standard deviations the
/// pooled variance is less exact than one run's (a per-channel shift in the kernel would fix
/// that; activations are not so far from zero).
fn pooled_stats(batch_images: usize, runs: Vec<(usize, Tensor, Tensor)>) -> (Tensor, Tensor) {
    let mean = weighted_mean(batch_images, runs.iter().map(|(k, m, _)| (*k, m.clone())));
    let var = weighted_mean(
        batch_images,
        runs.iter().map(|(k, m, v)| {
            let d = elementwise::sub(m, &mean);
            (*k, elementwise::add(v, &elementwise::mul(&d, &d)))
        }),
    );
    (mean, var)
}

/// The sum of `run_images / batch_images * t` over `terms`, `(run_images, t)`: values of the
/// runs of a batch, each weighted by its run's share. Computed as t_1 + sum w_r (t_r - t_1)
/// (the weights add up to 1), so that a value the same in every run comes out unrounded.
fn weighted_mean(batch_images: usize, mut terms: impl Iterator<Item = (usize, Tensor)>) -> Tensor {
    let weight = |run_images: usize| run_images as f32 / batch_images as f32;
    let (_, first) = terms.next().expect("a batch has runs");
    terms.fold(first.clone(), |sum, (run_images, t)| {
        let step = elementwise::sub(&t, &first);
        elementwise::axpby(1.0, &sum, weight(run_images), &step)
    })
}

/// Training-mode forward: (y, batch mean, batch biased variance).
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f32,
) -> (Tensor, Tensor, Tensor) {
    let (mean, var) = batch_stats(x);
    let y = batch_norm_apply(x, &mean, &var, gamma, beta, eps);
    (y, mean, var)
}

/// Training-mode batch norm, then PReLU with one slope per channel, in one pass after the
/// statistics: (y, batch mean, batch biased variance).
pub fn batch_norm_prelu_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    slope: &Tensor,
    eps: f32,
) -> (Tensor, Tensor, Tensor) {
    let (_, c, _) = channel_params(x);
    check_channels(c, &[gamma, beta, slope]);
    let (mean, var) = batch_stats(x);
    let per_channel = [&mean, &var, gamma, beta, slope];
    let y = per_element(BATCHNORM_PRELU.main(), x, &per_channel, eps);
    (y, mean, var)
}

/// One per-element pass over x (in pieces that fit a binding): `kernel` binds x, the
/// per-channel tensors, then y.
fn per_element(kernel: Kernel, x: &Tensor, per_channel: &[&Tensor], eps: f32) -> Tensor {
    let (_, c, hw) = channel_params(x);
    let gpu = x.gpu();
    let y = Tensor::uninit(gpu, x.shape());
    for (start, len) in chunks(gpu, x.numel()) {
        let mut views = vec![x.range(start, len)];
        views.extend(per_channel.iter().map(|t| t.view()));
        views.push(y.range(start, len));
        let p = BatchNormElements::new(len, start, c, hw, eps, 0.0);
        gpu.dispatch(kernel, &views, &p, gpu.groups_1d(len as u64, 256));
    }
    y
}

fn check_channels(c: usize, per_channel: &[&Tensor]) {
    for t in per_channel {
        assert_eq!(
            t.shape(),
            [c],
            "batch norm: per-channel tensors must have {c} values"
        );
    }
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
    let (_, c, _) = channel_params(x);
    check_channels(c, &[mean, var, gamma, beta]);
    per_element(BATCHNORM_APPLY.main(), x, &[mean, var, gamma, beta], eps)
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
    // dgamma and dbeta, slices of one buffer so that the runs' sums add up as one.
    let spacing = c.next_multiple_of(gpu.align_elements());
    let sums = sum_over_image_runs(n, &[x, dy], &[spacing + c], |run, out| {
        let views = [
            images_view(x, n, run),
            images_view(dy, n, run),
            mean.view(),
            var.view(),
            out.range(0, c),
            out.range(spacing, c),
        ];
        gpu.dispatch(
            BATCHNORM_BWD_REDUCE.main(),
            &views,
            &BatchNormChannels::new(run.1, c, hw, eps),
            [u32_of(c), 1, 1],
        );
    });
    let (dgamma, dbeta) = (sums.part(0, &[c]), sums.part(spacing, &[c]));
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

/// The backward of `batch_norm_prelu_train`: (dx, dgamma, dbeta, dslope). Its reduction writes
/// the three per-channel gradients and what the pass for dx needs into one buffer
/// (`shaders/batchnorm_prelu_bwd_reduce.wgsl`), from which the gradients are handed out.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_prelu_backward(
    x: &Tensor,
    dy: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    slope: &Tensor,
    eps: f32,
) -> (Tensor, Tensor, Tensor, Tensor) {
    let (n, c, hw) = channel_params(x);
    assert_eq!(
        x.shape(),
        dy.shape(),
        "batch norm backward: dy has the wrong shape"
    );
    check_channels(c, &[mean, var, gamma, beta, slope]);
    let gpu = x.gpu();
    let spacing = c.next_multiple_of(gpu.align_elements());
    let reduce = |run: (usize, usize)| {
        let out = Tensor::uninit(gpu, &[3 * spacing + 8 * c]);
        let views = [
            images_view(x, n, run),
            images_view(dy, n, run),
            mean.view(),
            var.view(),
            gamma.view(),
            beta.view(),
            slope.view(),
            out.view(),
        ];
        let p = BatchNormChannels {
            spacing: u32_of(spacing),
            ..BatchNormChannels::new(run.1, c, hw, eps)
        };
        gpu.dispatch(
            BATCHNORM_PRELU_BWD_REDUCE.main(),
            &views,
            &p,
            [u32_of(c), 1, 1],
        );
        out
    };
    // An output's two parts: the gradients' sums (with padding), and the values the pass for
    // dx reads, 8 a channel (`coef` in the shaders).
    let grad_sums_of = |out: &Tensor| out.part(0, &[3 * spacing]);
    let coef_of = |out: &Tensor| out.part(3 * spacing, &[8 * c]);
    let (grad_sums, coef) = match image_runs(n, &[x, dy]).as_slice() {
        [run] => {
            let out = reduce(*run);
            (grad_sums_of(&out), coef_of(&out))
        }
        runs => {
            // The gradients' sums add up over the runs (by hand: the runs' outputs are needed
            // again below). Of the values for dx, mean, inv_std, gamma, beta and slope are the
            // same in every run's output, and dbeta / M_r and dgamma / M_r are a run's sums S_r
            // over its own M_r = k_r HW: weighted by k_r / N, sum (k_r / N) S_r / (k_r HW) =
            // S / M, so the weighted mean is the batch's value in all seven (the eighth slot is
            // padding, never read).
            let outs: Vec<(usize, Tensor)> = runs.iter().map(|&r| (r.1, reduce(r))).collect();
            let grad_sums = outs
                .iter()
                .map(|(_, out)| grad_sums_of(out))
                .reduce(|a, b| elementwise::add(&a, &b))
                .expect("a batch has runs");
            let coef = weighted_mean(n, outs.iter().map(|(k, out)| (*k, coef_of(out))));
            (grad_sums, coef)
        }
    };
    let dx = Tensor::uninit(gpu, x.shape());
    for (start, len) in chunks(gpu, x.numel()) {
        let views = [
            x.range(start, len),
            dy.range(start, len),
            coef.view(),
            dx.range(start, len),
        ];
        // eps and M are in the reduction's per-channel values already.
        let p = BatchNormElements::new(len, start, c, hw, 0.0, 0.0);
        let groups = gpu.groups_1d(len as u64, 256);
        gpu.dispatch(BATCHNORM_PRELU_BWD_INPUT.main(), &views, &p, groups);
    }
    let [dgamma, dbeta, dslope] = [0, 1, 2].map(|i| grad_sums.part(i * spacing, &[c]));
    (dx, dgamma, dbeta, dslope)
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

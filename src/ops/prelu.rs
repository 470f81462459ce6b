//! PReLU, y = x for x > 0, else a * x, with one learned slope a per channel (SRGAN's
//! generator) or one shared by all channels (PyTorch's default, `num_parameters=1`).
//! Backward: dx = dy where x > 0, else a * dy; da = sum of dy * x over the elements where
//! x <= 0 that share the slope. A batch larger than one storage binding is taken in chunks
//! (the elementwise parts) or runs of whole images (the slopes' sums).

use super::programs::{PRELU, PRELU_BWD, PRELU_SLOPE_GRAD};
use super::{chunks, images_view, sum_over_image_runs, u32_of};
use crate::tensor::Tensor;

/// (batch, channels, pixels) of x as PReLU sees it: [N, C, ...] with C = 1 treated alike.
fn layout(x: &Tensor) -> (usize, usize, usize) {
    let s = x.shape();
    assert!(
        s.len() >= 2,
        "prelu: input must be at least [N, C], got {s:?}"
    );
    (s[0], s[1], s[2..].iter().product())
}

fn check(x: &Tensor, slope: &Tensor) -> (usize, usize, usize) {
    let (n, c, hw) = layout(x);
    assert!(
        slope.numel() == 1 || slope.numel() == c,
        "prelu: {} slopes for {c} channels",
        slope.numel()
    );
    (n, c, hw)
}

crate::params! {
    /// The parameters of `shaders/prelu.wgsl` and `prelu_bwd.wgsl`: n elements of the window
    /// starting at flat index base.
    pub(crate) struct PreluParams { n: u32, base: u32, channels: u32, hw: u32, slopes: u32 }
}

impl PreluParams {
    fn new(n: usize, base: usize, channels: usize, hw: usize, slopes: usize) -> PreluParams {
        PreluParams {
            n: u32_of(n),
            base: u32_of(base),
            channels: u32_of(channels),
            hw: u32_of(hw),
            slopes: u32_of(slopes),
        }
    }
}

crate::params! {
    /// The parameters of `shaders/prelu_slope_grad.wgsl`: one workgroup per slope.
    pub(crate) struct SlopeGradParams { batch: u32, channels: u32, hw: u32 }
}

pub fn prelu(x: &Tensor, slope: &Tensor) -> Tensor {
    let (_, c, hw) = check(x, slope);
    let gpu = x.gpu();
    let y = Tensor::uninit(gpu, x.shape());
    let k = PRELU.main();
    for (start, len) in chunks(gpu, x.numel()) {
        let p = PreluParams::new(len, start, c, hw, slope.numel());
        gpu.dispatch(
            k,
            &[x.range(start, len), slope.view(), y.range(start, len)],
            &p,
            gpu.groups_1d(len as u64, 256),
        );
    }
    y
}

/// (dx, dslope)
pub fn prelu_backward(x: &Tensor, slope: &Tensor, dy: &Tensor) -> (Tensor, Tensor) {
    let (n, c, hw) = check(x, slope);
    let gpu = x.gpu();
    let dx = Tensor::uninit(gpu, x.shape());
    let k = PRELU_BWD.main();
    for (start, len) in chunks(gpu, x.numel()) {
        let p = PreluParams::new(len, start, c, hw, slope.numel());
        let views = [
            x.range(start, len),
            slope.view(),
            dy.range(start, len),
            dx.range(start, len),
        ];
        gpu.dispatch(k, &views, &p, gpu.groups_1d(len as u64, 256));
    }
    let (channels, pixels) = if slope.numel() == 1 {
        (1, c * hw)
    } else {
        (c, hw)
    };
    let k = PRELU_SLOPE_GRAD.main();
    let dslope = sum_over_image_runs(n, &[x, dy], slope.shape(), |run, part| {
        let p = SlopeGradParams {
            batch: u32_of(run.1),
            channels: u32_of(channels),
            hw: u32_of(pixels),
        };
        let views = [images_view(x, n, run), images_view(dy, n, run), part.view()];
        gpu.dispatch(k, &views, &p, [u32_of(channels), 1, 1]);
    });
    (dx, dslope)
}

pub mod cpu {
    fn slope_of(i: usize, c: usize, hw: usize, slope: &[f64]) -> usize {
        if slope.len() == 1 {
            0
        } else {
            (i / hw) % c
        }
    }

    pub fn prelu(x: &[f64], c: usize, hw: usize, slope: &[f64]) -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(i, &v)| {
                if v > 0.0 {
                    v
                } else {
                    slope[slope_of(i, c, hw, slope)] * v
                }
            })
            .collect()
    }

    /// (dx, dslope)
    pub fn prelu_backward(
        x: &[f64],
        c: usize,
        hw: usize,
        slope: &[f64],
        dy: &[f64],
    ) -> (Vec<f64>, Vec<f64>) {
        let mut dslope = vec![0.0; slope.len()];
        let dx = x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let s = slope_of(i, c, hw, slope);
                if v > 0.0 {
                    dy[i]
                } else {
                    dslope[s] += dy[i] * v;
                    slope[s] * dy[i]
                }
            })
            .collect();
        (dx, dslope)
    }
}

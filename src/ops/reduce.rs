//! Sums (`shaders/reduce.wgsl`): of a whole tensor, per channel, and of split-K slices.

use super::programs::REDUCE;
use super::{chunks, elementwise, images_view, sum_over_image_runs, u32_of};
use crate::gpu::{Gpu, View};
use crate::tensor::Tensor;

/// Elements each workgroup of `sum_partial` adds up.
const SPAN: usize = 4096;

crate::params! {
    /// The parameters of `shaders/reduce.wgsl` (each entry reads the fields it names).
    pub(crate) struct ReduceParams {
        n: u32, span: u32, channels: u32, hw: u32, batch: u32, accumulate: u32, alpha: f32,
        out_base: u32,
    }
}

/// alpha * (sum of all elements) as a one-element tensor. Workgroups add spans of 4096 into
/// partial sums, repeated until one is left; tensors past one binding are summed per piece.
pub fn sum(x: &Tensor, alpha: f32) -> Tensor {
    let gpu = x.gpu();
    let partial_sums = |input: View, len: usize, alpha: f32| {
        let out = Tensor::uninit(gpu, &[len.div_ceil(SPAN)]);
        let p = ReduceParams {
            n: u32_of(len),
            span: SPAN as u32,
            alpha,
            ..Default::default()
        };
        let groups = gpu.groups_1d(out.numel() as u64, 1);
        gpu.dispatch(
            REDUCE.kernel("sum_partial"),
            &[input, out.view()],
            &p,
            groups,
        );
        out
    };
    let pieces: Vec<Tensor> = chunks(gpu, x.numel())
        .into_iter()
        .map(|(start, len)| {
            let mut level = partial_sums(x.range(start, len), len, alpha);
            while level.numel() > 1 {
                level = partial_sums(level.view(), level.numel(), 1.0);
            }
            level
        })
        .collect();
    let mut total = pieces[0].clone();
    for piece in &pieces[1..] {
        total = elementwise::add(&total, piece);
    }
    total
}

pub fn mean(x: &Tensor) -> Tensor {
    sum(x, 1.0 / x.numel() as f32)
}

/// Per-channel sums of x viewed as [N, C, HW]: the bias gradient of a convolution or (with
/// HW = 1) of a linear layer. A batch larger than one binding is summed a run of whole images
/// at a time.
pub fn channel_sum(x: &Tensor, batch: usize, channels: usize, hw: usize) -> Tensor {
    assert_eq!(
        x.numel(),
        batch * channels * hw,
        "channel_sum: shape {:?} is not [{batch}, {channels}, {hw}]",
        x.shape()
    );
    let gpu = x.gpu();
    sum_over_image_runs(batch, &[x], &[channels], |run, out| {
        let p = ReduceParams {
            channels: u32_of(channels),
            hw: u32_of(hw),
            batch: u32_of(run.1),
            alpha: 1.0,
            ..Default::default()
        };
        let groups = [u32_of(channels), 1, 1];
        let views = [images_view(x, batch, run), out.view()];
        gpu.dispatch(REDUCE.kernel("channel_sum"), &views, &p, groups);
    })
}

/// Elements `out_base .. out_base + n` of `out` (+)= the sum over s < `count` of block s of
/// `slices` (n elements each): adds up the K slices of a split matrix product.
pub(crate) fn sum_slices(
    gpu: &Gpu,
    slices: View,
    count: usize,
    out: View,
    out_base: usize,
    n: usize,
    accumulate: bool,
) {
    let p = ReduceParams {
        n: u32_of(n),
        batch: u32_of(count),
        accumulate: accumulate as u32,
        out_base: u32_of(out_base),
        ..Default::default()
    };
    let groups = gpu.groups_1d(n as u64, 256);
    gpu.dispatch(REDUCE.kernel("sum_slices"), &[slices, out], &p, groups);
}

pub mod cpu {
    pub fn channel_sum(x: &[f64], batch: usize, channels: usize, hw: usize) -> Vec<f64> {
        let mut out = vec![0.0; channels];
        for n in 0..batch {
            for (c, o) in out.iter_mut().enumerate() {
                *o += x[(n * channels + c) * hw..][..hw].iter().sum::<f64>();
            }
        }
        out
    }
}

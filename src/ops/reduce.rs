//! Sums (`shaders/reduce.wgsl`): of a whole tensor, per channel, and of split-K slices.

use super::u32_of;
use super::{chunks, elementwise, wgsl};
use crate::gpu::{Gpu, Kernel, View};
use crate::tensor::Tensor;

fn kernel(entry: &'static str) -> Kernel {
    Kernel {
        name: "reduce",
        entry,
        source: wgsl!("reduce"),
        trusted: true,
    }
}

/// Elements each workgroup of `sum_partial` adds up.
const SPAN: usize = 4096;

#[derive(Clone, Copy, Default)]
struct Params {
    n: usize,
    span: usize,
    channels: usize,
    hw: usize,
    batch: usize,
    accumulate: bool,
    alpha: f32,
}

crate::uniform! {
    /// `Params` of `shaders/reduce.wgsl`.
    struct Block { n: u32, span: u32, channels: u32, hw: u32, batch: u32, accumulate: u32, alpha: f32, _pad: u32 }
}

impl Params {
    fn pack(self) -> Block {
        Block {
            n: u32_of(self.n),
            span: u32_of(self.span),
            channels: u32_of(self.channels),
            hw: u32_of(self.hw),
            batch: u32_of(self.batch),
            accumulate: self.accumulate as u32,
            alpha: self.alpha,
            _pad: 0,
        }
    }
}

/// alpha * (sum of all elements) as a one-element tensor. Workgroups add spans of 4096 into
/// partial sums, repeated until one is left; tensors past one binding are summed per piece.
pub fn sum(x: &Tensor, alpha: f32) -> Tensor {
    let gpu = x.gpu();
    let pieces: Vec<Tensor> = chunks(gpu, x.numel())
        .into_iter()
        .map(|(start, len)| {
            let mut level = Tensor::uninit(gpu, &[len.div_ceil(SPAN)]);
            let p = Params {
                n: len,
                span: SPAN,
                alpha,
                ..Default::default()
            };
            let groups = gpu.groups_1d(level.numel() as u64, 1);
            gpu.dispatch(
                &kernel("sum_partial"),
                &[x.range(start, len), level.view()],
                &p.pack(),
                groups,
            );
            while level.numel() > 1 {
                let next = Tensor::uninit(gpu, &[level.numel().div_ceil(SPAN)]);
                let p = Params {
                    n: level.numel(),
                    span: SPAN,
                    alpha: 1.0,
                    ..Default::default()
                };
                let groups = gpu.groups_1d(next.numel() as u64, 1);
                gpu.dispatch(
                    &kernel("sum_partial"),
                    &[level.view(), next.view()],
                    &p.pack(),
                    groups,
                );
                level = next;
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
/// HW = 1) of a linear layer.
pub fn channel_sum(x: &Tensor, batch: usize, channels: usize, hw: usize) -> Tensor {
    assert_eq!(
        x.numel(),
        batch * channels * hw,
        "channel_sum: shape {:?} is not [{batch}, {channels}, {hw}]",
        x.shape()
    );
    let gpu = x.gpu();
    let out = Tensor::uninit(gpu, &[channels]);
    let p = Params {
        channels,
        hw,
        batch,
        alpha: 1.0,
        ..Default::default()
    };
    gpu.dispatch(
        &kernel("channel_sum"),
        &[x.view(), out.view()],
        &p.pack(),
        [u32_of(channels), 1, 1],
    );
    out
}

/// out (+)= sum over s of slices[s], slices being `count` consecutive blocks of out's size.
pub(crate) fn sum_slices(slices: &Tensor, count: usize, out: &Tensor, accumulate: bool) {
    let n = out.numel();
    assert_eq!(slices.numel(), n * count);
    let p = Params {
        n,
        batch: count,
        accumulate,
        ..Default::default()
    };
    dispatch_sum_slices(out.gpu(), slices.view(), out.view(), p);
}

/// The first n elements of `out` = the sum of `count` consecutive blocks of n in `slices`.
pub(crate) fn sum_slices_view(gpu: &Gpu, slices: View, count: usize, out: View, n: usize) {
    let p = Params {
        n,
        batch: count,
        ..Default::default()
    };
    dispatch_sum_slices(gpu, slices, out, p);
}

fn dispatch_sum_slices(gpu: &Gpu, slices: View, out: View, p: Params) {
    let groups = gpu.groups_1d(p.n as u64, 256);
    gpu.dispatch(&kernel("sum_slices"), &[slices, out], &p.pack(), groups);
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

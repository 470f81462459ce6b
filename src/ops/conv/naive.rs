//! The naive path: each pass is the CPU reference's loop (`cpu.rs`) in WGSL, one invocation
//! per output value, nothing tiled or shared (`shaders/conv_fwd_naive.wgsl`,
//! `conv_bwd_input_naive.wgsl`, `conv_bwd_weight_naive.wgsl`). It is slow, and meant to be
//! read: every other path computes the same sums faster.

use super::{forward_windows, ConvParams, Geometry, Group};
use crate::ops::programs::{CONV_BWD_INPUT_NAIVE, CONV_BWD_WEIGHT_NAIVE, CONV_FWD_NAIVE};
use crate::tensor::Tensor;

pub(super) fn forward(
    g: &Geometry,
    group: &Group,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
) {
    let gpu = x.gpu();
    let outputs = group.count * g.out_size();
    let (xv, yv, p) = forward_windows(g, group, x, y, bias.is_some(), outputs);
    let views = [xv, w.view(), bias.unwrap_or(w).view(), yv];
    let groups = gpu.groups_1d(outputs as u64, 256);
    gpu.dispatch(CONV_FWD_NAIVE.main(), &views, &p, groups);
}

pub(super) fn backward_input(g: &Geometry, group: &Group, dy: &Tensor, w: &Tensor, dx: &Tensor) {
    let gpu = dy.gpu();
    let (dyv, y_base) = dy.window(group.first * g.out_size(), group.count * g.out_size());
    let (dxv, x_base) = dx.window(group.first * g.in_size(), group.count * g.in_size());
    let outputs = group.count * g.in_size();
    let p = g.params(group.count, outputs, 0, (x_base, y_base));
    let groups = gpu.groups_1d(outputs as u64, 256);
    gpu.dispatch(
        CONV_BWD_INPUT_NAIVE.main(),
        &[dyv, w.view(), dxv],
        &p,
        groups,
    );
}

/// Adds to `dw` with `accumulate`: the images after a batch's first group.
pub(super) fn backward_weight(
    g: &Geometry,
    group: &Group,
    dy: &Tensor,
    x: &Tensor,
    dw: &Tensor,
    accumulate: bool,
) {
    let gpu = x.gpu();
    let (dyv, y_base) = dy.window(group.first * g.out_size(), group.count * g.out_size());
    let (xv, x_base) = x.window(group.first * g.in_size(), group.count * g.in_size());
    let flags = if accumulate {
        ConvParams::FLAG_ACCUMULATE
    } else {
        0
    };
    let p = g.params(group.count, dw.numel(), flags, (x_base, y_base));
    let groups = gpu.groups_1d(dw.numel() as u64, 256);
    gpu.dispatch(
        CONV_BWD_WEIGHT_NAIVE.main(),
        &[dyv, xv, dw.view()],
        &p,
        groups,
    );
}

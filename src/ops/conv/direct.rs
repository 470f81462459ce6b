//! Direct kernels for convolutions to at most 4 output channels, such as SRGAN's last layer
//! (64 -> 3, 9x9). As a matrix product such a layer has 3 rows: each im2col value would feed
//! 3 products and its address arithmetic would dominate (and its im2col is 81 times the
//! input). Here an invocation computes all output channels of its pixels at once, a vec4,
//! from input windows staged in workgroup memory. `plan` picks the variant.

use super::{forward_windows, Direct, Geometry, Group};
use crate::ops::programs::{CONV_BWD_WEIGHT_DIRECT, CONV_FWD_DIRECT_ROWS, CONV_FWD_DIRECT_TILED};
use crate::ops::{reduce, u32_of};
use crate::tensor::Tensor;

/// Output block of `shaders/conv_direct_rows.wgsl` (rows, columns) and of the other tiled
/// kernels (a square).
const ROWS_BLOCK: (usize, usize) = (16, 64);
const BLOCK: usize = 16;

pub(super) fn forward(
    kind: Direct,
    g: &Geometry,
    group: &Group,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
) {
    let gpu = x.gpu();
    let pixels = group.count * g.out_h * g.out_w;
    let (xv, yv, p) = forward_windows(g, group, x, y, bias.is_some(), pixels);
    let views = [xv, w.view(), bias.unwrap_or(w).view(), yv];
    let blocks = |side: usize, block: usize| u32_of(side.div_ceil(block));
    let images = u32_of(group.count);
    match kind {
        Direct::Tiled => {
            let groups = [blocks(g.out_w, BLOCK), blocks(g.out_h, BLOCK), images];
            gpu.dispatch(CONV_FWD_DIRECT_TILED.main(), &views, &p, groups);
        }
        Direct::Rows => {
            // Specialised: the kernel side and sizes are constants of the tap loops.
            let (bh, bw) = ROWS_BLOCK;
            let groups = [blocks(g.out_w, bw), blocks(g.out_h, bh), images];
            let kernel = CONV_FWD_DIRECT_ROWS.main();
            gpu.dispatch_specialized(kernel, &[("p", &p)], &views, groups);
        }
        Direct::Weight => unreachable!("the weight gradient's kernel is not a forward"),
    }
}

/// `shaders/conv_bwd_weight_direct.wgsl`: one slice of dw per image, added up (into dw, or to
/// it with `accumulate`) by `reduce::sum_slices`.
pub(super) fn backward_weight(
    g: &Geometry,
    group: &Group,
    dy: &Tensor,
    x: &Tensor,
    dw: &Tensor,
    accumulate: bool,
) {
    let gpu = x.gpu();
    let (xv, x_base) = x.window(group.first * g.in_size(), group.count * g.in_size());
    let (dyv, y_base) = dy.window(group.first * g.out_size(), group.count * g.out_size());
    let partial = Tensor::uninit(gpu, &[group.count, dw.numel()]);
    let p = g.params(group.count, dw.numel(), 0, (x_base, y_base));
    let groups = [u32_of(g.cin), u32_of(group.count), 1];
    let views = [xv, dyv, partial.view()];
    gpu.dispatch(CONV_BWD_WEIGHT_DIRECT.main(), &views, &p, groups);
    let n = dw.numel();
    reduce::sum_slices(
        gpu,
        partial.view(),
        group.count,
        dw.view(),
        0,
        n,
        accumulate,
    );
}

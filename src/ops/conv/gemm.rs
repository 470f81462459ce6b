//! The convolution as an implicit matrix product (`ops::gemm`): each pass fills a
//! `GemmParams` with its sizes (`plan::matrix`) and geometry and binds its tensors; the
//! user's WGSL (`shaders/gemm_conv_*.wgsl`) turns matrix coordinates into tensor addresses.

use super::plan::matrix;
use super::{Epilogue, Geometry, Group, Pass, Strategy};
use crate::ops::gemm::{self, GemmParams, Implementation, Product, User};
use crate::ops::u32_of;
use crate::tensor::Tensor;

fn implementation(strategy: Strategy) -> Implementation {
    match strategy {
        Strategy::GemmTiled(tile, scalar) => Implementation::Tiled(tile, scalar),
        Strategy::GemmF16 => Implementation::F16,
        Strategy::Naive | Strategy::Direct(_) | Strategy::Unrolled => {
            unreachable!("{strategy:?} is no matrix product")
        }
    }
}

/// The user of `pass` and its parameters over `images` images: sizes and geometry, with
/// bases and flags 0.
pub(crate) fn product_params(pass: Pass, g: &Geometry, images: usize) -> (User, GemmParams) {
    let user = match pass {
        Pass::Forward => User::ConvForward,
        Pass::BackwardInput => User::ConvBackwardInput,
        Pass::BackwardWeight => User::ConvBackwardWeight,
    };
    let (m, n, k) = matrix(pass, g, images);
    let p = GemmParams {
        m: u32_of(m),
        n: u32_of(n),
        k: u32_of(k),
        cin: u32_of(g.cin),
        height: u32_of(g.height),
        width: u32_of(g.width),
        cout: u32_of(g.cout),
        out_h: u32_of(g.out_h),
        out_w: u32_of(g.out_w),
        kh: u32_of(g.kh),
        kw: u32_of(g.kw),
        stride: u32_of(g.stride),
        pad: u32_of(g.pad),
        ..Default::default()
    };
    (user, p)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn forward(
    strategy: Strategy,
    g: &Geometry,
    group: &Group,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    epilogue: &Epilogue,
    y: &Tensor,
) {
    let (xv, x_base) = x.window(group.first * g.in_size(), group.count * g.in_size());
    let (yv, y_base) = y.window(group.first * g.out_size(), group.count * g.out_size());
    let bit = |on: bool, flag: u32| if on { flag } else { 0 };
    let flags = bit(bias.is_some(), GemmParams::FLAG_BIAS)
        | bit(epilogue.residual.is_some(), GemmParams::FLAG_RESIDUAL)
        | bit(epilogue.prelu.is_some(), GemmParams::FLAG_PRELU)
        | bit(epilogue.shuffle, GemmParams::FLAG_SHUFFLE)
        | bit(epilogue.tanh, GemmParams::FLAG_TANH);
    let mut views = gemm::operands(w.view(), xv, bias.unwrap_or(w).view(), yv);
    if let Some(s) = epilogue.prelu {
        views[4] = s.view();
    }
    if let Some(r) = epilogue.residual {
        // The same window as y's: the kernel reads it at y's indices.
        views[5] = r
            .window(group.first * g.out_size(), group.count * g.out_size())
            .0;
    }
    let (user, p) = product_params(Pass::Forward, g, group.count);
    let product = Product {
        user,
        p: GemmParams {
            b_base: u32_of(x_base),
            c_base: u32_of(y_base),
            flags,
            ..p
        },
        images: group.count,
        slices: group.slices,
        views,
    };
    gemm::run(x.gpu(), &product, implementation(strategy));
}

pub(super) fn backward_input(
    strategy: Strategy,
    g: &Geometry,
    group: &Group,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
) {
    let (dyv, dy_base) = dy.window(group.first * g.out_size(), group.count * g.out_size());
    let (dxv, dx_base) = dx.window(group.first * g.in_size(), group.count * g.in_size());
    let (user, p) = product_params(Pass::BackwardInput, g, group.count);
    let product = Product {
        user,
        p: GemmParams {
            b_base: u32_of(dy_base),
            c_base: u32_of(dx_base),
            ..p
        },
        images: group.count,
        slices: group.slices,
        views: gemm::operands(w.view(), dyv, w.view(), dxv),
    };
    gemm::run(dy.gpu(), &product, implementation(strategy));
}

/// Adds to `dw` with `accumulate`: the images after a batch's first group.
pub(super) fn backward_weight(
    strategy: Strategy,
    g: &Geometry,
    group: &Group,
    dy: &Tensor,
    x: &Tensor,
    dw: &Tensor,
    accumulate: bool,
) {
    let (dyv, dy_base) = dy.window(group.first * g.out_size(), group.count * g.out_size());
    let (xv, x_base) = x.window(group.first * g.in_size(), group.count * g.in_size());
    let flags = if accumulate {
        GemmParams::FLAG_ACCUMULATE
    } else {
        0
    };
    // The bias binding is unused (no FLAG_BIAS) but must be bound: dy again, since a buffer
    // may be bound twice for reading, though never for reading and writing.
    let (user, p) = product_params(Pass::BackwardWeight, g, group.count);
    let product = Product {
        user,
        p: GemmParams {
            a_base: u32_of(dy_base),
            b_base: u32_of(x_base),
            flags,
            ..p
        },
        images: 1,
        slices: group.slices,
        views: gemm::operands(dyv, xv, dyv, dw.view()),
    };
    gemm::run(x.gpu(), &product, implementation(strategy));
}

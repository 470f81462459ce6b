//! The convolution as an implicit matrix product (`ops::gemm`): each pass fills a
//! `GemmParams` with its sizes (`plan::matrix`) and geometry and binds its tensors; the
//! user's WGSL (`shaders/gemm_conv_*.wgsl`) turns matrix coordinates into tensor addresses.
//! The input gradient of a strided convolution is one product per phase of dx (pixels a
//! stride apart), each over the taps that reach it.

use super::plan::matrix;
use super::{Epilogue, Geometry, Group, Pass, Strategy};
use crate::ops::gemm::{self, GemmParams, Implementation, Product, User};
use crate::ops::u32_of;
use crate::tensor::Tensor;

fn implementation(strategy: Strategy) -> Implementation {
    match strategy {
        Strategy::GemmTiled(tile, scalar) => Implementation::Tiled(tile, scalar),
        Strategy::GemmF16 => Implementation::F16,
        Strategy::Naive | Strategy::Direct(_) | Strategy::Unrolled | Strategy::Winograd => {
            unreachable!("{strategy:?} is no matrix product")
        }
    }
}

/// The user of `pass` and its parameters over `images` images: sizes and geometry, with
/// bases and flags 0. An input gradient is one product per phase (`input_products`); use
/// `products` for it.
fn product_params(pass: Pass, g: &Geometry, images: usize) -> (User, GemmParams) {
    let user = match pass {
        Pass::Forward => User::ConvForward,
        Pass::BackwardInput => User::ConvBackwardInput,
        Pass::BackwardWeight => User::ConvBackwardWeight,
    };
    let p = g.gemm_params(matrix(pass, g, images));
    (user, p)
}

/// The products of `pass` over `images` images: one, or an input gradient's phases.
pub(crate) fn products(pass: Pass, g: &Geometry, images: usize) -> (User, Vec<GemmParams>) {
    let (user, p) = product_params(pass, g, images);
    match pass {
        Pass::BackwardInput => (user, input_products(g, &p)),
        Pass::Forward | Pass::BackwardWeight => (user, vec![p]),
    }
}

/// One phase of an input gradient along one axis of stride s: the `count` pixels `first`,
/// `first` + s, ... of dx, which take the `taps` taps `tap`, `tap` + s, ... of the kernel
/// (`shaders/gemm_conv_bwd_input.wgsl` says why).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AxisPhase {
    first: usize,
    count: usize,
    tap: usize,
    taps: usize,
}

/// The s phases of an axis of `size` pixels under a kernel of `kernel` taps: phase r holds the
/// pixels i with (i + pad) mod s = r and the taps r, r + s, ....
fn axis_phases(size: usize, kernel: usize, stride: usize, pad: usize) -> Vec<AxisPhase> {
    (0..stride)
        .map(|r| {
            let first = (r + stride - pad % stride) % stride;
            AxisPhase {
                first,
                count: size.saturating_sub(first).div_ceil(stride),
                tap: r,
                taps: kernel.saturating_sub(r).div_ceil(stride),
            }
        })
        .collect()
}

/// Whether some pixels of dx may meet no tap (a kernel smaller than its stride): the products
/// leave them alone, so dx must start at zero.
pub(super) fn input_gaps(g: &Geometry) -> bool {
    g.kh < g.stride || g.kw < g.stride
}

/// An input gradient's products, from `p` (`product_params`): one per phase of dx that has
/// pixels and taps, N = its pixels, K = Cout x its taps; none where every pixel is in a phase
/// without taps (a 1x1 kernel at stride 2 over one row, padded by 1). Stride 1: one product,
/// all of dx.
fn input_products(g: &Geometry, p: &GemmParams) -> Vec<GemmParams> {
    let rows = axis_phases(g.height, g.kh, g.stride, g.pad);
    let cols = axis_phases(g.width, g.kw, g.stride, g.pad);
    let mut out = Vec::new();
    for y in &rows {
        for x in &cols {
            if y.count * x.count * y.taps * x.taps == 0 {
                continue;
            }
            out.push(GemmParams {
                n: u32_of(y.count * x.count),
                k: u32_of(g.cout * y.taps * x.taps),
                phase_ky: u32_of(y.tap),
                phase_kx: u32_of(x.tap),
                taps_y: u32_of(y.taps),
                taps_x: u32_of(x.taps),
                first_y: u32_of(y.first),
                first_x: u32_of(x.first),
                phase_w: u32_of(x.count),
                ..*p
            });
        }
    }
    out
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
    let flags = epilogue.flags(bias.is_some());
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
    gemm::run(x.gpu(), &[product], implementation(strategy));
}

/// One product per phase of dx (`input_products`), their K slices summed together; the
/// caller zeroes dx first where some of its pixels take no tap (`input_gaps`), and the plan
/// does not split those.
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
    let (user, phases) = products(Pass::BackwardInput, g, group.count);
    if phases.is_empty() {
        // Every pixel of dx is in a phase without taps: dx stays the zeros it was cleared to.
        return;
    }
    let products: Vec<Product> = phases
        .into_iter()
        .map(|p| Product {
            user,
            p: GemmParams {
                b_base: u32_of(dy_base),
                c_base: u32_of(dx_base),
                ..p
            },
            images: group.count,
            slices: group.slices,
            views: gemm::operands(w.view(), dyv, w.view(), dxv),
        })
        .collect();
    gemm::run(dy.gpu(), &products, implementation(strategy));
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
    gemm::run(x.gpu(), &[product], implementation(strategy));
}

#[cfg(test)]
mod tests {
    use super::axis_phases;

    /// The phases of an axis part its pixels and its taps, and a pixel meets an output through
    /// exactly the taps of its own phase.
    #[test]
    fn phases_part_pixels_and_taps() {
        for (size, kernel, stride, pad) in
            [(7, 3, 2, 1), (8, 2, 3, 1), (1, 3, 2, 1), (27, 11, 4, 2)]
        {
            let phases = axis_phases(size, kernel, stride, pad);
            let mut pixels = vec![0; size];
            let mut taps = vec![0; kernel];
            for ph in &phases {
                for i in (0..ph.count).map(|i| ph.first + i * stride) {
                    pixels[i] += 1;
                    for t in 0..kernel {
                        let own = t >= ph.tap && (t - ph.tap) % stride == 0;
                        assert_eq!((i + pad).abs_diff(t) % stride == 0, own, "{i} {t}");
                    }
                }
                for t in (0..ph.taps).map(|a| ph.tap + a * stride) {
                    taps[t] += 1;
                }
            }
            assert!(pixels.iter().all(|&c| c == 1), "{pixels:?}");
            assert!(taps.iter().all(|&c| c == 1), "{taps:?}");
            // Pixels without taps only where `input_gaps` says they may be.
            if phases.iter().any(|ph| ph.count > 0 && ph.taps == 0) {
                assert!(kernel < stride);
            }
        }
    }
}

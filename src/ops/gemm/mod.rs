//! Matrix products C\[M, N\] = A\[M, K\] B\[K, N\] whose operands are never stored as matrices:
//! a user's WGSL file maps matrix coordinates to tensor addresses, so a convolution reads its
//! im2col matrix on the fly, zero for padding, as TensorFlow.js's WebGPU backend does. The
//! users: `shaders/gemm_conv_fwd.wgsl`, `gemm_conv_bwd_input.wgsl`,
//! `gemm_conv_bwd_weight.wgsl` and `gemm_matmul.wgsl`; what each gives (an address of B as a
//! row's part plus a column's, so that the tiled product computes the divisions of each once,
//! not per element; `write_c` for C) is in `shaders/gemm_user.wgsl`.
//!
//! This file describes a product (`Product`) and splits its K where asked; the two
//! implementations depend only on it: `tiled.rs` (tiles in f32 on any adapter, or in f16 with
//! `shader-f16`) and `f16.rs` (f16 operands on tensor cores). Which one runs, and the split,
//! is the caller's plan (`conv::plan`, `linear`).

pub(crate) mod f16;
pub(crate) mod tiled;

use super::{reduce, u32_of};
use crate::gpu::{Gpu, View};

/// The WGSL file that maps a product onto tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum User {
    /// M = Cout, N = output pixels, K = Cin KH KW; z: images.
    ConvForward,
    /// M = Cin, N = input pixels, K = Cout KH KW; z: images.
    ConvBackwardInput,
    /// M = Cout, N = Cin KH KW, K = images x output pixels.
    ConvBackwardWeight,
    /// Any strides: C\[m, n\] = sum over k of a\[m sa_m + k sa_k\] b\[k sb_k + n sb_n\].
    Matmul,
}

crate::params! {
    /// The parameters of every matrix product: its sizes; the bound windows' first elements
    /// (`a_base`, `b_base`, `c_base`); the flags; a convolution's geometry (zero for
    /// `Matmul`); `Matmul`'s strides. `tiles_n`, `tiles` and `pixels` are the tiled
    /// kernel's (`pixels`: a column's pixels per image where N runs over several images, else
    /// 0; for an input gradient, its phase's pixels), `k_per_z` the K of each slice of a split
    /// product and `slice_len` the elements between its slices' partial sums (`split`). The
    /// last seven are the phase of an input gradient (`conv::gemm::input_products`): its
    /// pixels of dx start at (`first_y`, `first_x`), `phase_w` to a row, and take the taps
    /// from (`phase_ky`, `phase_kx`), `taps_y` x `taps_x` of them, all a stride apart.
    pub(crate) struct GemmParams {
        m: u32, n: u32, k: u32, tiles_n: u32,
        tiles: u32, k_per_z: u32, a_base: u32, b_base: u32,
        c_base: u32, flags: u32, cin: u32, height: u32,
        width: u32, cout: u32, out_h: u32, out_w: u32,
        kh: u32, kw: u32, stride: u32, pad: u32,
        sa_m: u32, sa_k: u32, sb_k: u32, sb_n: u32,
        pixels: u32, slice_len: u32, phase_ky: u32, phase_kx: u32, taps_y: u32,
        taps_x: u32, first_y: u32, first_x: u32, phase_w: u32,
    }
    consts {
        /// Add the bias (per row, or per column for `Matmul`).
        FLAG_BIAS = 1,
        /// K is split over z: slice z writes block z of C (see `run`).
        FLAG_SPLIT = 2,
        /// Add to C instead of writing over it.
        FLAG_ACCUMULATE = 4,
        /// The epilogue of a convolution's forward (`conv::Epilogue`), in this order: add the
        /// residual (binding 5), PReLU with the slopes of binding 4, pixel shuffle x2, tanh.
        FLAG_RESIDUAL = 8,
        FLAG_PRELU = 16,
        FLAG_SHUFFLE = 32,
        FLAG_TANH = 64,
    }
}

/// The flags of the epilogue.
pub(crate) const EPILOGUE: u32 = GemmParams::FLAG_RESIDUAL
    | GemmParams::FLAG_PRELU
    | GemmParams::FLAG_SHUFFLE
    | GemmParams::FLAG_TANH;

/// One product to run.
#[derive(Clone, Copy)]
pub(crate) struct Product<'a> {
    pub user: User,
    pub p: GemmParams,
    /// Images whose pixels run side by side along N: a convolution's forward or input
    /// gradient of several images; else 1.
    pub images: usize,
    /// K split into this many slices, each summed apart, then added up by one more pass:
    /// for products with too few tiles of C to fill the GPU and a long K.
    pub slices: usize,
    /// a, b, bias, c, and the epilogue's slopes and residual (see `operands`).
    pub views: [View<'a>; 6],
}

/// The six bindings of a product: a, b, bias, c, and the epilogue's slopes and residual, for
/// which a product without them binds `a` again (the kernels read them only when flagged).
pub(crate) fn operands<'a>(a: View<'a>, b: View<'a>, bias: View<'a>, c: View<'a>) -> [View<'a>; 6] {
    [a, b, bias, c, a, a]
}

/// How a product is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Implementation {
    /// Workgroup tiles, in f32 or f16 arithmetic.
    Tiled(tiled::Tile, tiled::Scalar),
    /// Tensor cores.
    F16,
}

/// Elements of C a product writes, from `c_base`.
pub(crate) fn out_len(user: User, p: &GemmParams, images: usize) -> usize {
    let u = |v: u32| v as usize;
    match user {
        User::ConvForward => images * u(p.cout) * u(p.out_h) * u(p.out_w),
        User::ConvBackwardInput => images * u(p.cin) * u(p.height) * u(p.width),
        User::ConvBackwardWeight | User::Matmul => u(p.m) * u(p.n),
    }
}

/// The parameters of a product whose K is split into about `slices` slices, and how many
/// there are: K per slice (a multiple of 32), `FLAG_SPLIT`, and C's partial sums from their
/// buffer's start, `slice_len` elements apart. `k_most`: the longest K of the products that
/// share the partial sums (`run`), so that all make as many slices, a short one's last ones
/// empty (they write zeros). One slice: the product whole.
pub(crate) fn split(
    p: &GemmParams,
    slices: usize,
    k_most: usize,
    slice_len: usize,
) -> (GemmParams, usize) {
    let k_per_z = k_most.div_ceil(slices.max(1)).next_multiple_of(32).max(32);
    let slices = k_most.div_ceil(k_per_z).max(1);
    if slices == 1 {
        return (GemmParams { k_per_z: p.k, ..*p }, 1);
    }
    let flags = (p.flags & !GemmParams::FLAG_ACCUMULATE) | GemmParams::FLAG_SPLIT;
    let p = GemmParams {
        k_per_z: u32_of(k_per_z),
        slice_len: u32_of(slice_len),
        c_base: 0,
        flags,
        ..*p
    };
    (p, slices)
}

/// Runs `products` on `implementation`: one, or several that write disjoint parts of one C
/// (an input gradient's phases), taking the user, images, slices, C and its flags from the
/// first. With several slices, slice z of K writes block z of a buffer of partial sums (the
/// bias with block 0), shared by all the products, and `reduce::sum_slices` adds the blocks
/// into C (or to it, with `FLAG_ACCUMULATE`): so then every element of C from `c_base` must be
/// written by exactly one of them.
pub(crate) fn run(gpu: &Gpu, products: &[Product], implementation: Implementation) {
    let first = products
        .first()
        .expect("gemm::run needs at least one product");
    let out = out_len(first.user, &first.p, first.images);
    let k_most = products.iter().map(|x| x.p.k as usize).max().unwrap_or(0);
    let slices = split(&first.p, first.slices, k_most, out).1;
    if slices == 1 {
        let whole: Vec<Product> = products
            .iter()
            .map(|product| {
                let p = GemmParams {
                    k_per_z: product.p.k,
                    ..product.p
                };
                Product { p, ..*product }
            })
            .collect();
        implementation.run(gpu, &whole);
        return;
    }
    let written: usize = products
        .iter()
        .map(|x| x.p.m as usize * x.p.n as usize * x.images)
        .sum();
    debug_assert_eq!(written, out, "split products must cover C exactly");
    let partial = gpu
        .buffer((slices * out * 4) as u64)
        .unwrap_or_else(|e| std::panic::panic_any(e));
    let sliced: Vec<Product> = products
        .iter()
        .map(|product| {
            let (p, _) = split(&product.p, first.slices, k_most, out);
            let mut views = product.views;
            views[3] = View::whole(&partial);
            Product {
                p,
                slices,
                views,
                ..*product
            }
        })
        .collect();
    implementation.run(gpu, &sliced);
    let accumulate = first.p.flags & GemmParams::FLAG_ACCUMULATE != 0;
    let c = first.views[3];
    let c_base = first.p.c_base as usize;
    let whole = View::whole(&partial);
    reduce::sum_slices(gpu, whole, slices, c, c_base, out, accumulate);
}

impl Implementation {
    /// Runs products that write disjoint parts of one C (`run`), in order.
    fn run(self, gpu: &Gpu, products: &[Product]) {
        match self {
            Implementation::Tiled(tile, scalar) => products
                .iter()
                .for_each(|product| tiled::run(gpu, product, tile, scalar)),
            Implementation::F16 => f16::run(gpu, products),
        }
    }
}

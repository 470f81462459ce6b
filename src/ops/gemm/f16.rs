//! The mixed-precision matrix product: both operands are packed into f16 matrices padded to
//! whole tiles (`shaders/gemm_pack_f16.wgsl`, which reads them through `read_a` and `read_b`
//! of `shaders/gemm_user.wgsl`, im2col included), then multiplied on tensor cores with f32 sums
//! (`shaders/gemm_f16.wgsl`), whose store puts each result where the f32 kernel would. Both
//! kernels are specialised: the product's parameters and shape are WGSL constants.
//!
//! Packing costs one pass over each operand, written and read once more in f16; in exchange
//! the product reads plain rows four halves at a time (`benches/NOTES.md` has the numbers).

use super::{GemmParams, Product, User};
use crate::gpu::{Gpu, Program, View};
use crate::ops::programs::{
    CONV_BWD_INPUT_F16, CONV_BWD_INPUT_F16_PACK, CONV_BWD_WEIGHT_F16, CONV_BWD_WEIGHT_F16_PACK,
    CONV_FWD_F16, CONV_FWD_F16_PACK, MATMUL_F16, MATMUL_F16_PACK,
};
use crate::ops::u32_of;

/// K per step of the product, and the columns of C per workgroup.
const BK: usize = 32;
const BN: usize = 128;

/// Rows of C per workgroup for a product of `m` rows: 128 where there are more than 64 (twice
/// the products per staged value), else 64.
pub(crate) fn tile_m(m: usize) -> usize {
    if m > 64 {
        128
    } else {
        64
    }
}

/// The tile of C per workgroup, rows and columns.
pub(crate) fn tile(m: usize) -> (usize, usize) {
    (tile_m(m), BN)
}

crate::params! {
    /// The packed product's shape, compiled into both kernels as `shape`: the tile's rows
    /// (`bm`); A packed as [mp][kp] and B as [kp][np] (or [np][kp] when `b_transposed`);
    /// `nt` columns of C, which with `img_split` run over all images, `pixels` each; a
    /// result goes to c_base + (image rows + m) cols + pixel; the bias is per column when
    /// `bias_by_n`; each K slice spans `kpz`, and a split product writes slice z at
    /// z `slice` of its partial sums. A phase of an input gradient (`phase_w` not 0) puts
    /// pixel i of its `phase_w` to a row at `phase_first` + (i / `phase_w`) `phase_row` +
    /// (i % `phase_w`) `phase_step` of its image.
    pub(crate) struct F16Shape {
        bm: u32, mp: u32, kp: u32, np: u32, nt: u32, pixels: u32, img_split: u32,
        rows: u32, cols: u32, bias_by_n: u32, b_transposed: u32, kpz: u32, slice: u32,
        phase_w: u32, phase_first: u32, phase_row: u32, phase_step: u32,
    }
}

/// Columns of B and C: a convolution's forward and input gradient put all images' pixels side
/// by side (so a workgroup's columns may span two images); the others, N.
fn columns(user: User, p: &GemmParams, images: usize) -> usize {
    match user {
        User::ConvForward | User::ConvBackwardInput => images * p.n as usize,
        User::ConvBackwardWeight | User::Matmul => p.n as usize,
    }
}

/// The bytes of the packed A and B of a product of M rows, K and `columns` columns.
pub(crate) fn packed_bytes(m: usize, k: usize, columns: usize) -> (u64, u64) {
    let mp = m.next_multiple_of(tile_m(m)) as u64;
    let kp = k.next_multiple_of(BK) as u64;
    let np = columns.next_multiple_of(BN) as u64;
    (mp * kp * 2, kp * np * 2)
}

/// Whether the packed operands of a product each fit one storage binding.
pub(crate) fn fits(m: usize, k: usize, columns: usize, max_binding: u64) -> bool {
    let (a, b) = packed_bytes(m, k, columns);
    a.max(b) <= max_binding
}

/// The shape of a product of `user` over `images` images with parameters `p` (as `gemm::split`
/// gives them).
pub(crate) fn shape(user: User, p: &GemmParams, images: usize) -> F16Shape {
    let (m, k) = (p.m as usize, p.k as usize);
    let columns = columns(user, p, images);
    let bm = tile_m(m);
    let kp = k.next_multiple_of(BK);
    let split = p.flags & GemmParams::FLAG_SPLIT != 0;
    let (img_split, rows, cols, bias_by_n, b_transposed) = match user {
        User::ConvForward => (true, p.cout, p.out_h * p.out_w, false, false),
        User::ConvBackwardInput => (true, p.cin, p.height * p.width, false, false),
        // Its K runs along pixels: B is packed transposed, along its contiguous axis.
        User::ConvBackwardWeight => (false, 0, p.n, false, true),
        // The linear layer's forward reads W transposed: packed along its contiguous K.
        User::Matmul => (false, 0, p.n, true, p.sb_k == 1 && p.sb_n != 1),
    };
    // Stride 1 has one phase, every pixel in place.
    let phased = user == User::ConvBackwardInput && p.stride > 1;
    let (phase_w, phase_first, phase_row, phase_step) = if phased {
        let first = p.first_y * p.width + p.first_x;
        (p.phase_w, first, p.stride * p.width, p.stride)
    } else {
        (0, 0, 0, 0)
    };
    F16Shape {
        phase_w,
        phase_first,
        phase_row,
        phase_step,
        bm: u32_of(bm),
        mp: u32_of(m.next_multiple_of(bm)),
        kp: u32_of(kp),
        np: u32_of(columns.next_multiple_of(BN)),
        nt: u32_of(columns),
        pixels: if img_split { p.n } else { 1 },
        img_split: img_split as u32,
        rows,
        cols,
        bias_by_n: bias_by_n as u32,
        b_transposed: b_transposed as u32,
        kpz: u32_of(if split {
            (p.k_per_z as usize).next_multiple_of(BK)
        } else {
            kp
        }),
        slice: p.slice_len,
    }
}

/// The packing and product programs of a user.
pub(crate) fn programs(user: User) -> (&'static Program, &'static Program) {
    match user {
        User::ConvForward => (&CONV_FWD_F16_PACK, &CONV_FWD_F16),
        User::ConvBackwardInput => (&CONV_BWD_INPUT_F16_PACK, &CONV_BWD_INPUT_F16),
        User::ConvBackwardWeight => (&CONV_BWD_WEIGHT_F16_PACK, &CONV_BWD_WEIGHT_F16),
        User::Matmul => (&MATMUL_F16_PACK, &MATMUL_F16),
    }
}

/// Packs both operands (one dispatch), then multiplies: tiles of C over x and y, K slices
/// over z. The caller has checked that the packed operands fit (`fits`).
pub(crate) fn run(gpu: &Gpu, product: &Product) {
    let s = shape(product.user, &product.p, product.images);
    let (a_bytes, b_bytes) = (s.mp as u64 * s.kp as u64 * 2, s.kp as u64 * s.np as u64 * 2);
    assert!(
        a_bytes.max(b_bytes) <= gpu.max_binding(),
        "a packed f16 operand would pass the binding limit: the plan should have chosen f32"
    );
    let buffer = |bytes| {
        gpu.buffer(bytes)
            .unwrap_or_else(|e| std::panic::panic_any(e))
    };
    let (a16, b16) = (buffer(a_bytes), buffer(b_bytes));
    let (a16, b16) = (View::whole(&a16), View::whole(&b16));
    let (pack, multiply) = programs(product.user);
    let constants: [(&str, &dyn crate::gpu::Constant); 2] = [("p", &product.p), ("shape", &s)];
    let [a, b, bias, c, slope, residual] = product.views;
    let groups = gpu.groups_1d((a_bytes + b_bytes) / 8, 256);
    gpu.dispatch_specialized(pack.main(), &constants, &[a, b, a16, b16], groups);
    let tiles = (s.mp / s.bm) as u64 * (s.np as usize / BN) as u64;
    let [x, y, _] = gpu.groups_1d(tiles, 1);
    let views = [a16, b16, bias, c, slope, residual];
    let groups = [x, y, u32_of(product.slices)];
    gpu.dispatch_specialized(multiply.main(), &constants, &views, groups);
}

//! The mixed-precision matrix product: both operands are packed into f16 matrices padded to
//! whole tiles (`shaders/gemm_pack_f16.wgsl`, which reads them through `read_a` and `read_b`
//! of `shaders/gemm_user.wgsl`, im2col included), then multiplied on tensor cores with f32 sums
//! (`shaders/gemm_f16.wgsl`), whose store puts each result where the f32 kernel would. Both
//! kernels are specialised: the product's parameters and shape are WGSL constants.
//!
//! Packing costs one pass over each operand, written and read once more in f16; in exchange
//! the product reads plain rows four halves at a time (`benches/NOTES.md` has the numbers).
//! A convolution whose gathered tensor (x for the forward and the weight gradient, dy for the
//! input gradient) has enough channels is not packed as im2col, which is KH x KW times that
//! tensor: it is packed as itself, in f16 with channels last, and the product gathers B's
//! values from it (`gathers`). Along the matrix's pixel axis each index is a window, along
//! the other a tap and a channel, taps outer: so four neighbouring values of B are four
//! channels of one pixel, one read.

use super::{GemmParams, Product, User};
use crate::gpu::{Gpu, GpuBuffer, Program, View};
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
    /// (i % `phase_w`) `phase_step` of its image. A product that gathers B (`gather`, one of
    /// the constants below) has its `Gather` in the fields after it; `pack_b` is 0 where
    /// another product's packing of the same B serves this one (`run`).
    pub(crate) struct F16Shape {
        bm: u32, mp: u32, kp: u32, np: u32, nt: u32, pixels: u32, img_split: u32,
        rows: u32, cols: u32, bias_by_n: u32, b_transposed: u32, kpz: u32, slice: u32,
        phase_w: u32, phase_first: u32, phase_row: u32, phase_step: u32,
        gather: u32, g_images: u32, g_pixels: u32, g_c: u32, g_h: u32, g_w: u32,
        win_w: u32, win_step: u32, win_y0: u32, win_x0: u32, tap_w: u32, tap_step: u32,
        pack_b: u32,
    }
    consts {
        /// `gather`: B packed as a matrix.
        GATHER_NONE = 0,
        /// `gather`: B gathered, its pixels along N (`Pixels::AlongN`).
        GATHER_ALONG_N = 1,
        /// `gather`: B gathered, its pixels along K (`Pixels::AlongK`).
        GATHER_ALONG_K = 2,
    }
}

/// Which axis of B runs over the pixels of a gathering product (`gathers`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Pixels {
    /// N (a convolution's forward and input gradient): K runs tap by tap, channels within,
    /// in steps of 32 that never span two taps, so a column's step is 32 neighbouring
    /// channels of one pixel.
    #[default]
    AlongN,
    /// K (the weight gradient): N runs tap by tap, channels within, and four neighbouring
    /// columns are four channels of one tap.
    AlongK,
}

/// A product that gathers B from its tensor, packed channels last (`images` x `height` x
/// `width` x `channels`), instead of packing B itself. Pixel i of B's pixel axis (`along`;
/// `pixels` per image) is a window whose corner is at (`y0` + (i' / `win_w`) `win_step`,
/// `x0` + (i' % `win_w`) `win_step`), i' = i mod `pixels`; tap t adds `tap_step` (t /
/// `tap_w`, t % `tap_w`) to it. (`shape` writes a default one, all zero, for a product that
/// packs B.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Gather {
    pub along: Pixels,
    pub images: u32,
    pub pixels: u32,
    pub channels: u32,
    pub height: u32,
    pub width: u32,
    win_w: u32,
    win_step: u32,
    y0: i32,
    x0: i32,
    tap_w: u32,
    tap_step: i32,
}

/// How `user`'s product over `images` images with parameters `p` gathers B, if it does: a
/// convolution's forward and weight gradient from x (windows at (oy s - pad, ox s - pad),
/// taps (ky, kx)), its input gradient from dy (a phase's pixel (i, j) reads dy at
/// q + (i, j) minus (a, b) for its taps (a, b): see `shaders/gemm_conv_bwd_input.wgsl`). Along N the
/// tensor needs a multiple of BK channels (a K step is one tap), along K a multiple of 4 (a
/// vec4 of columns is one tap).
pub(crate) fn gathers(user: User, p: &GemmParams, images: usize) -> Option<Gather> {
    let of_x = Gather {
        along: Pixels::AlongN,
        images: u32_of(images),
        pixels: p.out_h * p.out_w,
        channels: p.cin,
        height: p.height,
        width: p.width,
        win_w: p.out_w,
        win_step: p.stride,
        y0: -(p.pad as i32),
        x0: -(p.pad as i32),
        tap_w: p.kw,
        tap_step: 1,
    };
    let gather = match user {
        User::ConvForward => of_x,
        User::ConvBackwardWeight => Gather {
            along: Pixels::AlongK,
            // The weight gradient's K runs over all its images' output pixels.
            images: p.k / (p.out_h * p.out_w),
            ..of_x
        },
        User::ConvBackwardInput => Gather {
            along: Pixels::AlongN,
            images: u32_of(images),
            pixels: p.n,
            channels: p.cout,
            height: p.out_h,
            width: p.out_w,
            win_w: p.phase_w,
            win_step: 1,
            y0: ((p.first_y + p.pad) / p.stride) as i32,
            x0: ((p.first_x + p.pad) / p.stride) as i32,
            tap_w: p.taps_x,
            tap_step: -1,
        },
        User::Matmul => return None,
    };
    let multiple = match gather.along {
        Pixels::AlongN => BK,
        Pixels::AlongK => 4,
    };
    (gather.channels as usize)
        .is_multiple_of(multiple)
        .then_some(gather)
}

/// Columns of B and C: a convolution's forward and input gradient put all images' pixels side
/// by side (so a workgroup's columns may span two images); the others, N.
fn columns(user: User, p: &GemmParams, images: usize) -> usize {
    match user {
        User::ConvForward | User::ConvBackwardInput => images * p.n as usize,
        User::ConvBackwardWeight | User::Matmul => p.n as usize,
    }
}

/// The bytes of the packed A and B of a product of M rows, K and `columns` columns. A product
/// that gathers B (`gathers`) packs less: B's tensor in f16, at most half its f32 binding; the
/// plan's `fits` still asks for the packed size, which can only refuse a layer too many.
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
    let g = gathers(user, p, images);
    let gather = g.unwrap_or_default();
    let (m, k) = (p.m as usize, p.k as usize);
    let columns = columns(user, p, images);
    let bm = tile_m(m);
    let kp = k.next_multiple_of(BK);
    let split = p.flags & GemmParams::FLAG_SPLIT != 0;
    let (img_split, rows, cols, bias_by_n, b_transposed) = match user {
        User::ConvForward => (true, p.cout, p.out_h * p.out_w, false, false),
        User::ConvBackwardInput => (true, p.cin, p.height * p.width, false, false),
        // Its K runs along pixels: B is packed transposed, along its contiguous axis (unless
        // gathered: channels last, N is that axis).
        User::ConvBackwardWeight => (false, 0, p.n, false, g.is_none()),
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
        gather: match g.map(|g| g.along) {
            None => F16Shape::GATHER_NONE,
            Some(Pixels::AlongN) => F16Shape::GATHER_ALONG_N,
            Some(Pixels::AlongK) => F16Shape::GATHER_ALONG_K,
        },
        g_images: gather.images,
        g_pixels: gather.pixels,
        g_c: gather.channels,
        g_h: gather.height,
        g_w: gather.width,
        win_w: gather.win_w,
        win_step: gather.win_step,
        // Offsets travel as their bits (the kernels read them back with i32(), which keeps
        // the bits).
        win_y0: gather.y0 as u32,
        win_x0: gather.x0 as u32,
        tap_w: gather.tap_w,
        tap_step: gather.tap_step as u32,
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
        pack_b: 1,
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

/// Runs `products`, each as `run_one` does: one, or an input gradient's phases, which gather
/// the same dy. The first packs it and the others read that copy, where they gather the same
/// tensor in the same way (`PackedB`); it had been packed again for each of a strided
/// layer's four phases.
pub(crate) fn run(gpu: &Gpu, products: &[Product]) {
    let mut packed_b = None;
    for product in products {
        run_one(gpu, product, &mut packed_b);
    }
}

/// A gathered B packed channels last, and what it was packed from: the bound tensor (its
/// buffer's address, offset and length), the element its window starts at, and its images,
/// channels, height and width (the phases' windows differ, the packed tensor does not).
struct PackedB {
    buffer: GpuBuffer,
    from: (usize, u64, u64, u32, [u32; 4]),
}

/// Packs both operands (one dispatch), then multiplies: tiles of C over x and y, K slices
/// over z. A gathered B that `packed_b` holds from the same tensor is not packed again; one
/// packed here is left there. The caller has checked that the packed operands fit (`fits`).
fn run_one(gpu: &Gpu, product: &Product, packed_b: &mut Option<PackedB>) {
    let mut s = shape(product.user, &product.p, product.images);
    let gathered = s.gather != F16Shape::GATHER_NONE;
    let b = product.views[1];
    let address = b.buffer as *const GpuBuffer as usize;
    let layout = [s.g_images, s.g_c, s.g_h, s.g_w];
    let from = gathered.then_some((address, b.offset, b.bytes, product.p.b_base, layout));
    let a_bytes = s.mp as u64 * s.kp as u64 * 2;
    let b_bytes = if gathered {
        [s.g_images, s.g_h, s.g_w, s.g_c, 2]
            .map(u64::from)
            .iter()
            .product()
    } else {
        s.kp as u64 * s.np as u64 * 2
    };
    assert!(
        a_bytes.max(b_bytes) <= gpu.max_binding(),
        "a packed f16 operand would pass the binding limit: the plan should have chosen f32"
    );
    let buffer = |bytes| {
        gpu.buffer(bytes)
            .unwrap_or_else(|e| std::panic::panic_any(e))
    };
    let a16 = buffer(a_bytes);
    let b16 = match packed_b.take() {
        Some(packed) if from == Some(packed.from) => {
            s.pack_b = 0;
            packed.buffer
        }
        _ => buffer(b_bytes),
    };
    let (pack, multiply) = programs(product.user);
    let constants: [(&str, &dyn crate::gpu::Constant); 2] = [("p", &product.p), ("shape", &s)];
    let [a, _, bias, c, slope, residual] = product.views;
    let (a16v, b16v) = (View::whole(&a16), View::whole(&b16));
    let packed = a_bytes + if s.pack_b == 1 { b_bytes } else { 0 };
    let groups = gpu.groups_1d(packed / 8, 256);
    gpu.dispatch_specialized(pack.main(), &constants, &[a, b, a16v, b16v], groups);
    let tiles = (s.mp / s.bm) as u64 * (s.np as usize / BN) as u64;
    let [x, y, _] = gpu.groups_1d(tiles, 1);
    let views = [a16v, b16v, bias, c, slope, residual];
    let groups = [x, y, u32_of(product.slices)];
    gpu.dispatch_specialized(multiply.main(), &constants, &views, groups);
    if let Some(from) = from {
        *packed_b = Some(PackedB { buffer: b16, from });
    }
}

//! Mixed-precision matrix products: the operands are packed into f16 matrices padded to whole
//! tiles (`shaders/pack.wgsl`, which reads them through the same user functions as the f32
//! kernel, im2col included), then multiplied on tensor cores with f32 sums
//! (`shaders/gemm16.wgsl`), whose store puts each result where the f32 kernel would.
//! Every kernel is specialised: the layer's parameters are WGSL constants.
//!
//! Packing costs one pass over each operand, written and read once more in f16; in exchange
//! the product reads plain rows four halves at a time, where reading the convolution's im2col
//! matrix tile by tile (an earlier version) ran at 14 TFLOP/s on an H200, no faster than f32.

use super::gemm::{Block, Mode, Params, FLAG_BIAS, FLAG_SPLIT};
use super::u32_of;
use super::wgsl;
use crate::gpu::{Gpu, Kernel, Specialized, View};

/// Rows and columns of C per workgroup for a product of `m` rows: 128 rows where there are
/// more than 64 (twice the products per staged value), else 64. K per step: 32.
pub(crate) fn tile(m: usize) -> (usize, usize) {
    (if m > 64 { 128 } else { 64 }, 128)
}
const BK: usize = 32;

/// How the product's columns and results map onto the user's tensors.
struct Layout {
    /// Columns of B and C: all images' pixels for the convolutions' forward and input
    /// gradient (`pixels` each), else the product's N.
    columns: usize,
    pixels: Option<usize>,
    /// Output index = c_base + (image * rows + m) * cols + pixel.
    rows: usize,
    cols: usize,
    bias_by_n: bool,
    /// B packed as [N][K] (the weight gradient, whose K runs along pixels).
    transposed: bool,
    /// Workgroups along z: the K slices of a split product.
    slices: usize,
    /// For a convolution split over K (`conv_slices`): the elements of each slice's block of
    /// partial sums; 0 when not split.
    slice: usize,
}

/// Workgroups a product should have at least: fewer leave much of a large GPU idle (an H100
/// has 132 multiprocessors; the 24x24 layers of a batch of 16 make 72 tiles, VGG's conv5 at
/// 6x6 makes 20).
const ENOUGH_TILES: usize = 256;

/// K slices for a convolution's forward or input gradient with few tiles: each slice sums
/// part of K into its own block, and one more pass adds the blocks. Not for products that
/// add into their output or whose store does more than add the bias (`conv::Epilogue`), nor
/// for a window that does not start at its binding's start. At least 16 K steps per slice:
/// with 4 (the 24x24 layers, K = 576, in 4 slices) the partial sums' extra pass cost more
/// on an H100 than the idle multiprocessors had (SRResNet step 0.5 ms slower).
fn conv_slices(mode: Mode, p: &Params, tiles: usize) -> usize {
    let conv = matches!(mode, Mode::ConvForward | Mode::ConvBackwardInput);
    if !conv || p.flags & !FLAG_BIAS != 0 || p.c_base != 0 || tiles >= ENOUGH_TILES {
        return 1;
    }
    let steps = p.k.div_ceil(BK);
    ENOUGH_TILES.div_ceil(tiles).min(steps / 16).max(1)
}

fn layout(mode: Mode, p: &Params, z: usize) -> Layout {
    let split = p.flags & FLAG_SPLIT != 0;
    let conv = |rows: usize, cols: usize| {
        let (bm, bn) = tile(p.m);
        let tiles = p.m.div_ceil(bm) * (z * p.n).div_ceil(bn);
        let slices = conv_slices(mode, p, tiles);
        Layout {
            columns: z * p.n,
            pixels: Some(p.n),
            rows,
            cols,
            bias_by_n: false,
            transposed: false,
            slices,
            slice: if slices > 1 { z * rows * cols } else { 0 },
        }
    };
    match mode {
        Mode::ConvForward => conv(p.cout, p.out_h * p.out_w),
        Mode::ConvBackwardInput => conv(p.cin, p.height * p.width),
        Mode::ConvBackwardWeight | Mode::ConvBackwardWeightThin => Layout {
            columns: p.n,
            pixels: None,
            rows: 0,
            cols: p.n,
            bias_by_n: false,
            transposed: true,
            slices: if split { z } else { 1 },
            slice: 0,
        },
        Mode::Matmul => Layout {
            columns: p.n,
            pixels: None,
            rows: 0,
            cols: p.n,
            bias_by_n: true,
            // B stored transposed (the forward's W^T): packed along its contiguous K.
            transposed: p.sb_k == 1 && p.sb_n != 1,
            slices: if split { z } else { 1 },
            slice: 0,
        },
    }
}

/// A kernel's WGSL source (see `ops::wgsl!`).
type Source = fn() -> String;

/// The user's name, its packing kernel's source and the product's.
fn user(mode: Mode) -> (&'static str, Source, Source) {
    match mode {
        Mode::ConvForward => (
            "conv_fwd",
            wgsl!("gemm_params", "gemm_ab32", "conv_fwd", "pack"),
            wgsl!("gemm_params", "gemm_store", "gemm_epilogue", "gemm16"),
        ),
        Mode::ConvBackwardInput => (
            "conv_bwd_input",
            wgsl!("gemm_params", "gemm_ab32", "conv_bwd_input", "pack"),
            wgsl!("gemm_params", "gemm_store", "gemm_epilogue", "gemm16"),
        ),
        Mode::ConvBackwardWeight | Mode::ConvBackwardWeightThin => (
            "conv_bwd_weight",
            wgsl!("gemm_params", "gemm_ab32", "conv_bwd_weight", "pack"),
            wgsl!("gemm_params", "gemm_store", "gemm_epilogue", "gemm16"),
        ),
        Mode::Matmul => (
            "matmul",
            wgsl!("gemm_params", "gemm_ab32", "matmul", "pack"),
            wgsl!("gemm_params", "gemm_store", "gemm_epilogue", "gemm16"),
        ),
    }
}

/// The WGSL headers of the packing and product kernels.
fn headers(mode: Mode, p: &Params, z: usize) -> (String, String) {
    let l = layout(mode, p, z);
    let (bm, bn) = tile(p.m);
    let mp = p.m.next_multiple_of(bm);
    let kp = p.k.next_multiple_of(BK);
    let np = l.columns.next_multiple_of(bn);
    let k_per_slice = if l.slice > 0 {
        kp.div_ceil(l.slices).next_multiple_of(BK)
    } else if l.slices > 1 {
        p.k_per_z.next_multiple_of(BK)
    } else {
        kp
    };
    let block = Block::new(p, 0, 0).wgsl();
    let shared = format!(
        "const MP = {mp}u;\nconst KP = {kp}u;\nconst NP = {np}u;\nconst NT = {}u;\n\
         const P = {}u;\nconst IMG_SPLIT = {};\nconst p = {block};\n",
        l.columns,
        l.pixels.unwrap_or(1),
        l.pixels.is_some(),
    );
    let pack = format!(
        "enable f16;\n{shared}const B_TRANSPOSED = {};\n",
        l.transposed
    );
    let product = format!(
        "enable f16;\nenable wgpu_cooperative_matrix;\n{shared}const BM = {bm}u;\nconst ROWS = {}u;\n\
         const COLS = {}u;\nconst BIAS_BY_N = {};\nconst B_TRANSPOSED = {};\nconst KPZ = {k_per_slice}u;\n\
         const SLICE = {}u;\n",
        l.rows, l.cols, l.bias_by_n, l.transposed, l.slice,
    );
    (pack, product)
}

/// Packs and multiplies; returns false, having done nothing, when a packed operand would not
/// fit one storage binding (then the f32 kernel runs instead).
pub(crate) fn launch(gpu: &Gpu, mode: Mode, views: &[View; 6], p: &Params, z: usize) -> bool {
    let l = layout(mode, p, z);
    let (bm, bn) = tile(p.m);
    let mp = p.m.next_multiple_of(bm);
    let kp = p.k.next_multiple_of(BK);
    let np = l.columns.next_multiple_of(bn);
    let (a_bytes, b_bytes) = (mp as u64 * kp as u64 * 2, kp as u64 * np as u64 * 2);
    if a_bytes.max(b_bytes) > gpu.max_binding() {
        return false;
    }
    let (name, pack_source, product_source) = user(mode);
    let buffer = |bytes| {
        gpu.buffer(bytes)
            .unwrap_or_else(|e| std::panic::panic_any(e))
    };
    let (a16, b16) = (buffer(a_bytes), buffer(b_bytes));
    // Everything the headers depend on, as the pipelines' key.
    let mut key = bytemuck::cast_slice::<Block, u32>(&[Block::new(p, 0, 0)]).to_vec();
    key.extend([mode as u32, u32_of(z)]);
    let headers = || headers(mode, p, z);
    let [a, b, bias, c, slope, residual] = *views;
    let pack = Kernel {
        name,
        entry: "pack",
        source: pack_source,
        trusted: true,
    };
    let s = Specialized {
        kernel: &pack,
        key: &key,
        header: &|| headers().0,
    };
    let packed = [a, b, View::whole(&a16), View::whole(&b16)];
    gpu.dispatch_specialized(&s, &packed, gpu.groups_1d((a_bytes + b_bytes) / 8, 256));
    let product = Kernel {
        name,
        entry: "main",
        source: product_source,
        trusted: true,
    };
    let s = Specialized {
        kernel: &product,
        key: &key,
        header: &|| headers().1,
    };
    let tiles = (mp / bm) * (np / bn);
    let [x, y, _] = gpu.groups_1d(tiles as u64, 1);
    let groups = [x, y, u32_of(l.slices)];
    let a16 = View::whole(&a16);
    let b16 = View::whole(&b16);
    if l.slice == 0 {
        let views = [a16, b16, bias, c, slope, residual];
        gpu.dispatch_specialized(&s, &views, groups);
        return true;
    }
    let partial = buffer(l.slices as u64 * l.slice as u64 * 4);
    let partial = View::whole(&partial);
    gpu.dispatch_specialized(&s, &[a16, b16, bias, partial, slope, residual], groups);
    super::reduce::sum_slices_view(gpu, partial, l.slices, c, l.slice);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gemm::{FLAG_PRELU, FLAG_RESIDUAL, FLAG_SHUFFLE, FLAG_TANH};
    use wgpu::naga;

    fn translate(source: &str) -> usize {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
        let info = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
        let options = naga::back::spv::Options {
            lang_version: (1, 4),
            ..Default::default()
        };
        naga::back::spv::write_vec(&module, &info, &options, None)
            .expect("SPIR-V output")
            .len()
    }

    /// The mixed-precision kernels are compiled only on GPUs that have cooperative matrices,
    /// which CI's software GPU lacks; this runs naga (WGSL -> validated module -> SPIR-V, the
    /// path wgpu takes on Vulkan) on each of them for every user, so a shader error or a naga
    /// crash (naga 30.0.2 has one for cooperative loads strided by uniform values) shows up
    /// on any machine.
    #[test]
    fn mixed_kernels_translate_to_spirv() {
        let conv = Params {
            m: 64,
            n: 24 * 23,
            k: 64 * 9,
            cin: 64,
            height: 24,
            width: 23,
            cout: 64,
            out_h: 24,
            out_w: 23,
            kh: 3,
            kw: 3,
            stride: 1,
            pad: 1,
            ..Default::default()
        };
        let split = Params {
            k_per_z: 1000,
            flags: FLAG_SPLIT,
            ..conv
        };
        let cases = [
            (Mode::ConvForward, conv, 3),
            (Mode::ConvBackwardInput, conv, 3),
            (Mode::ConvBackwardWeight, split, 5),
            (Mode::Matmul, conv, 1),
        ];
        let wide = Params { m: 200, ..conv };
        let epilogue = FLAG_BIAS | FLAG_PRELU | FLAG_RESIDUAL | FLAG_SHUFFLE | FLAG_TANH;
        // A linear layer's product: the convolution sizes are 0.
        let linear = Params {
            m: 16,
            n: 1024,
            k: 4608,
            sa_m: 4608,
            sa_k: 1,
            sb_k: 1,
            sb_n: 4608,
            flags: FLAG_BIAS,
            ..Default::default()
        };
        // VGG's conv5 shape: few tiles and a long K, split over slices.
        let deep = Params {
            k: 512 * 9,
            cin: 512,
            ..conv
        };
        assert!(layout(Mode::ConvForward, &deep, 2).slice > 0);
        let more = [
            (Mode::ConvForward, wide, 2),
            (Mode::ConvForward, deep, 2),
            (Mode::ConvBackwardInput, deep, 2),
            (Mode::Matmul, linear, 1),
            (
                Mode::ConvForward,
                Params {
                    flags: epilogue,
                    ..conv
                },
                2,
            ),
        ];
        for (mode, p, z) in cases.into_iter().chain(more) {
            let (pack, product) = headers(mode, &p, z);
            let (_, pack_source, product_source) = user(mode);
            assert!(translate(&format!("{pack}{}", pack_source())) > 100);
            assert!(translate(&format!("{product}{}", product_source())) > 100);
        }
    }
}

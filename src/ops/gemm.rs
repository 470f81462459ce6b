//! Launching the matrix-product core through one of its users (conv_fwd, conv_bwd_input,
//! conv_bwd_weight, matmul). The user maps matrix coordinates to tensor addresses; this file
//! fills the shared parameter block, counts the tiles and picks the core:
//!
//! - `shaders/gemm.wgsl`: f32, parameters read from a uniform block at run time (any adapter);
//! - when the GPU's precision is `Mixed`, `gemm_mixed.rs`: operands packed into f16 matrices,
//!   then multiplied on tensor cores with f32 sums, each kernel compiled for its layer.

use super::{gemm_mixed, wgsl};
use crate::gpu::{Gpu, Kernel, Precision, View};

#[derive(Clone, Copy)]
pub(crate) enum Mode {
    ConvForward,
    ConvBackwardInput,
    ConvBackwardWeight,
    /// The weight gradient through the thin 4x256 tile, for at most 4 output channels.
    ConvBackwardWeightThin,
    Matmul,
}

impl Mode {
    /// The f32 kernel; `epilogue`: one that can fuse the layers after a convolution (only
    /// `ConvForward` has such a variant).
    fn kernel(self, epilogue: bool) -> Kernel {
        if epilogue {
            assert!(
                matches!(self, Mode::ConvForward),
                "only a convolution's forward fuses"
            );
            return Kernel {
                name: "conv_fwd_epilogue",
                entry: "main",
                source: wgsl!(
                    "gemm_params",
                    "gemm_ab32",
                    "gemm_store",
                    "gemm_epilogue",
                    "gemm_uniform",
                    "conv_fwd",
                    "gemm_tile_64x64",
                    "gemm"
                ),
                trusted: true,
            };
        }
        let (name, source): (&'static str, fn() -> String) = match self {
            Mode::ConvForward => (
                "conv_fwd",
                wgsl!(
                    "gemm_params",
                    "gemm_ab32",
                    "gemm_store",
                    "gemm_epilogue_none",
                    "gemm_uniform",
                    "conv_fwd",
                    "gemm_tile_64x64",
                    "gemm"
                ),
            ),
            Mode::ConvBackwardInput => (
                "conv_bwd_input",
                wgsl!(
                    "gemm_params",
                    "gemm_ab32",
                    "gemm_store",
                    "gemm_epilogue_none",
                    "gemm_uniform",
                    "conv_bwd_input",
                    "gemm_tile_64x64",
                    "gemm"
                ),
            ),
            Mode::ConvBackwardWeight => (
                "conv_bwd_weight",
                wgsl!(
                    "gemm_params",
                    "gemm_ab32",
                    "gemm_store",
                    "gemm_epilogue_none",
                    "gemm_uniform",
                    "conv_bwd_weight",
                    "gemm_tile_64x64",
                    "gemm"
                ),
            ),
            Mode::ConvBackwardWeightThin => (
                "conv_bwd_weight_thin",
                wgsl!(
                    "gemm_params",
                    "gemm_ab32",
                    "gemm_store",
                    "gemm_epilogue_none",
                    "gemm_uniform",
                    "conv_bwd_weight",
                    "gemm_tile_4x256",
                    "gemm"
                ),
            ),
            Mode::Matmul => (
                "matmul",
                wgsl!(
                    "gemm_params",
                    "gemm_ab32",
                    "gemm_store",
                    "gemm_epilogue_none",
                    "gemm_uniform",
                    "matmul",
                    "gemm_tile_64x64",
                    "gemm"
                ),
            ),
        };
        Kernel {
            name,
            entry: "main",
            source,
            trusted: true,
        }
    }

    /// Rows and columns of C per workgroup for a product of `m` rows on `gpu`.
    pub(crate) fn tile(self, gpu: &Gpu, m: usize) -> (usize, usize) {
        match gpu.precision() {
            Precision::Mixed => gemm_mixed::tile(m),
            Precision::F32 => self.f32_tile(),
        }
    }

    /// The tile of the mode's gemm_tile_*.wgsl.
    fn f32_tile(self) -> (usize, usize) {
        match self {
            Mode::ConvBackwardWeightThin => (4, 256),
            _ => (64, 64),
        }
    }
}

pub(crate) const FLAG_BIAS: u32 = 1;
pub(crate) const FLAG_SPLIT: u32 = 2;
pub(crate) const FLAG_ACCUMULATE: u32 = 4;
/// The epilogue of a convolution's forward (`shaders/gemm_store.wgsl`): add the residual
/// (view 5), PReLU with the slopes of view 4, pixel shuffle x2, tanh.
pub(crate) const FLAG_RESIDUAL: u32 = 8;
pub(crate) const FLAG_PRELU: u32 = 16;
pub(crate) const FLAG_SHUFFLE: u32 = 32;
pub(crate) const FLAG_TANH: u32 = 64;
const EPILOGUE: u32 = FLAG_RESIDUAL | FLAG_PRELU | FLAG_SHUFFLE | FLAG_TANH;

/// The six bindings of a product: a, b, bias, c, and the epilogue's slopes and residual, for
/// which a product without them binds `a` again (the kernels read them only when flagged).
pub(crate) fn operands<'a>(a: View<'a>, b: View<'a>, bias: View<'a>, c: View<'a>) -> [View<'a>; 6] {
    [a, b, bias, c, a, a]
}

/// The parameter block of `shaders/gemm_params.wgsl`, field for field.
#[derive(Clone, Copy, Default)]
pub(crate) struct Params {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub k_per_z: usize,
    pub a_base: usize,
    pub b_base: usize,
    pub c_base: usize,
    pub flags: u32,
    pub cin: usize,
    pub height: usize,
    pub width: usize,
    pub cout: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub sa_m: usize,
    pub sa_k: usize,
    pub sb_k: usize,
    pub sb_n: usize,
}

/// The WGSL `Params` struct of `shaders/gemm_params.wgsl`, field for field.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Block {
    m: u32,
    n: u32,
    k: u32,
    tiles_n: u32,
    tiles: u32,
    k_per_z: u32,
    a_base: u32,
    b_base: u32,
    c_base: u32,
    flags: u32,
    cin: u32,
    height: u32,
    width: u32,
    cout: u32,
    out_h: u32,
    out_w: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    sa_m: u32,
    sa_k: u32,
    sb_k: u32,
    sb_n: u32,
}

impl crate::gpu::Uniform for Block {}

impl Block {
    pub(crate) fn new(p: &Params, tiles_n: usize, tiles: usize) -> Block {
        let u = |v: usize| u32::try_from(v).expect("gemm: size past 2^32");
        Block {
            m: u(p.m),
            n: u(p.n),
            k: u(p.k),
            tiles_n: u(tiles_n),
            tiles: u(tiles),
            k_per_z: u(if p.k_per_z == 0 { p.k } else { p.k_per_z }),
            a_base: u(p.a_base),
            b_base: u(p.b_base),
            c_base: u(p.c_base),
            flags: p.flags,
            cin: u(p.cin),
            height: u(p.height),
            width: u(p.width),
            cout: u(p.cout),
            out_h: u(p.out_h),
            out_w: u(p.out_w),
            kh: u(p.kh),
            kw: u(p.kw),
            stride: u(p.stride),
            pad: u(p.pad),
            sa_m: u(p.sa_m),
            sa_k: u(p.sa_k),
            sb_k: u(p.sb_k),
            sb_n: u(p.sb_n),
        }
    }

    /// The block as a WGSL constant expression, `Params(1u, 2u, ...)`.
    pub(crate) fn wgsl(&self) -> String {
        let fields: Vec<String> = bytemuck::cast_slice::<Block, u32>(std::slice::from_ref(self))
            .iter()
            .map(|v| format!("{v}u"))
            .collect();
        format!("Params({})", fields.join(", "))
    }
}

/// Dispatches one product over `z` images or K slices. `views`: see `operands`.
pub(crate) fn launch(gpu: &Gpu, mode: Mode, views: [View; 6], p: Params, z: usize) {
    if gpu.precision() == Precision::Mixed && gemm_mixed::launch(gpu, mode, &views, &p, z) {
        return;
    }
    // The f32 kernel (also where a mixed product does not fit, see gemm_mixed).
    let (tile_m, tile_n) = mode.f32_tile();
    let tiles_n = p.n.div_ceil(tile_n);
    let tiles = p.m.div_ceil(tile_m) * tiles_n;
    let block = Block::new(&p, tiles_n, tiles);
    let [x, y, _] = gpu.groups_1d(tiles as u64, 1);
    let z = u32::try_from(z).expect("gemm: too many images or slices");
    let kernel = mode.kernel(p.flags & EPILOGUE != 0);
    gpu.dispatch(&kernel, &views, &block, [x, y, z]);
}

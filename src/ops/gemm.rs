//! Launching `shaders/gemm.wgsl` through one of its users (conv_fwd, conv_bwd_input,
//! conv_bwd_weight, matmul). The user maps matrix coordinates to tensor addresses; this file
//! only fills the shared parameter block and counts the tiles.

use super::wgsl;
use crate::gpu::{Gpu, Kernel, View};

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
    fn kernel(self) -> Kernel {
        let (name, source): (&'static str, fn() -> String) = match self {
            Mode::ConvForward => (
                "conv_fwd",
                wgsl!("gemm_params", "conv_fwd", "gemm_tile_64x64", "gemm"),
            ),
            Mode::ConvBackwardInput => (
                "conv_bwd_input",
                wgsl!("gemm_params", "conv_bwd_input", "gemm_tile_64x64", "gemm"),
            ),
            Mode::ConvBackwardWeight => (
                "conv_bwd_weight",
                wgsl!("gemm_params", "conv_bwd_weight", "gemm_tile_64x64", "gemm"),
            ),
            Mode::ConvBackwardWeightThin => (
                "conv_bwd_weight_thin",
                wgsl!("gemm_params", "conv_bwd_weight", "gemm_tile_4x256", "gemm"),
            ),
            Mode::Matmul => (
                "matmul",
                wgsl!("gemm_params", "matmul", "gemm_tile_64x64", "gemm"),
            ),
        };
        Kernel {
            name,
            entry: "main",
            source,
            trusted: true,
        }
    }

    /// Rows and columns of C per workgroup, as in the mode's gemm_tile_*.wgsl.
    pub(crate) fn tile(self) -> (usize, usize) {
        match self {
            Mode::ConvBackwardWeightThin => (4, 256),
            _ => (64, 64),
        }
    }
}

pub(crate) const FLAG_BIAS: u32 = 1;
pub(crate) const FLAG_SPLIT: u32 = 2;
pub(crate) const FLAG_ACCUMULATE: u32 = 4;

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

/// Dispatches one product over `z` images or K slices. `views`: a, b, bias, c.
pub(crate) fn launch(gpu: &Gpu, mode: Mode, views: [View; 4], p: Params, z: usize) {
    let (tile_m, tile_n) = mode.tile();
    let tiles_n = p.n.div_ceil(tile_n);
    let tiles = p.m.div_ceil(tile_m) * tiles_n;
    let u = |v: usize| u32::try_from(v).expect("gemm: size past 2^32");
    let k_per_z = if p.k_per_z == 0 { p.k } else { p.k_per_z };
    let block = [
        u(p.m),
        u(p.n),
        u(p.k),
        u(tiles_n),
        u(tiles),
        u(k_per_z),
        u(p.a_base),
        u(p.b_base),
        u(p.c_base),
        p.flags,
        u(p.cin),
        u(p.height),
        u(p.width),
        u(p.cout),
        u(p.out_h),
        u(p.out_w),
        u(p.kh),
        u(p.kw),
        u(p.stride),
        u(p.pad),
        u(p.sa_m),
        u(p.sa_k),
        u(p.sb_k),
        u(p.sb_n),
    ];
    let [x, y, _] = gpu.groups_1d(tiles as u64, 1);
    gpu.dispatch(&mode.kernel(), &views, &block, [x, y, u(z)]);
}

//! The tiled matrix product, `shaders/gemm_tiled.wgsl`: a workgroup computes one tile of C,
//! stepping through K with A's and B's tiles staged in workgroup memory, each invocation a 4x4
//! block of C. Its tiles and products are f32 on any adapter, or f16 where the adapter has
//! `shader-f16` (`Scalar`); its parameters are read from a uniform, so one pipeline serves
//! every layer of a user.

use super::{GemmParams, Product, User, EPILOGUE};
use crate::gpu::{Gpu, Program, View};
use crate::ops::programs::{
    CONV_BWD_INPUT_F32, CONV_BWD_INPUT_F32_THIN, CONV_BWD_INPUT_HALF, CONV_BWD_INPUT_HALF_THIN,
    CONV_BWD_WEIGHT_F32, CONV_BWD_WEIGHT_F32_THIN, CONV_BWD_WEIGHT_HALF, CONV_BWD_WEIGHT_HALF_THIN,
    CONV_FWD_F32, CONV_FWD_F32_FUSED, CONV_FWD_HALF, CONV_FWD_HALF_FUSED, CONV_WINOGRAD_F32,
    MATMUL_F32, MATMUL_F32_SHORT, MATMUL_HALF, MATMUL_HALF_SHORT,
};
use crate::ops::u32_of;

/// The tile of C a workgroup computes (`shaders/gemm_tile_*.wgsl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tile {
    /// 64x64, 256 invocations: every product.
    Square,
    /// 4x256, 64 invocations: the gradients of a convolution with at most 4 rows (from or to
    /// 3 channels), where the square tile would spend 61 of every 64 products on rows that do
    /// not exist.
    Thin,
    /// 16x256, 256 invocations: a linear layer's products with at most 16 rows (a batch of 16),
    /// three quarters of the square tile's rows empty otherwise.
    Short,
}

impl Tile {
    /// Rows and columns of C per workgroup.
    pub(crate) fn size(self) -> (usize, usize) {
        match self {
            Tile::Square => (64, 64),
            Tile::Thin => (4, 256),
            Tile::Short => (16, 256),
        }
    }
}

/// The arithmetic of the tiles and products (`shaders/gemm_in_*.wgsl`); C's sums over more
/// than one K step are f32 either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    F32,
    /// Half the workgroup memory and, on GPUs with packed f16 arithmetic, twice the products
    /// per instruction; operands rounded to f16 (saturating at 65504), each K step's products
    /// (16, or 8 on the thin and short tiles) summed in f16. (Not the tensor cores of `gemm::f16`, which
    /// take f16 operands too but sum in f32.)
    F16,
}

/// The program of a user, tile, arithmetic and store: only a convolution's forward may fuse
/// the layers after it (`fused`), only its gradients have a thin tile, and only `Matmul` a
/// short one.
fn program(user: User, tile: Tile, scalar: Scalar, fused: bool) -> &'static Program {
    use {Scalar::*, Tile::*, User::*};
    match (user, tile, scalar, fused) {
        (ConvForward, Square, F32, false) => &CONV_FWD_F32,
        (ConvForward, Square, F32, true) => &CONV_FWD_F32_FUSED,
        (ConvBackwardInput, Square, F32, false) => &CONV_BWD_INPUT_F32,
        (ConvBackwardInput, Thin, F32, false) => &CONV_BWD_INPUT_F32_THIN,
        (ConvBackwardWeight, Square, F32, false) => &CONV_BWD_WEIGHT_F32,
        (ConvBackwardWeight, Thin, F32, false) => &CONV_BWD_WEIGHT_F32_THIN,
        (Matmul, Square, F32, false) => &MATMUL_F32,
        (Matmul, Short, F32, false) => &MATMUL_F32_SHORT,
        (ConvForward, Square, F16, false) => &CONV_FWD_HALF,
        (ConvForward, Square, F16, true) => &CONV_FWD_HALF_FUSED,
        (ConvBackwardInput, Square, F16, false) => &CONV_BWD_INPUT_HALF,
        (ConvBackwardInput, Thin, F16, false) => &CONV_BWD_INPUT_HALF_THIN,
        (ConvBackwardWeight, Square, F16, false) => &CONV_BWD_WEIGHT_HALF,
        (ConvBackwardWeight, Thin, F16, false) => &CONV_BWD_WEIGHT_HALF_THIN,
        (Matmul, Square, F16, false) => &MATMUL_HALF,
        (Matmul, Short, F16, false) => &MATMUL_HALF_SHORT,
        _ => panic!(
            "no tiled product for {user:?} with the {tile:?} tile in {scalar:?} (fused: {fused})"
        ),
    }
}

/// One dispatch: tiles of C over x and y, K slices over z. Several images put all their
/// pixels side by side along N.
pub(crate) fn run(gpu: &Gpu, product: &Product, tile: Tile, scalar: Scalar) {
    let (bm, bn) = tile.size();
    let images = product.images;
    let (m, n) = (product.p.m as usize, images * product.p.n as usize);
    let tiles_n = n.div_ceil(bn);
    let tiles = m.div_ceil(bm) * tiles_n;
    let p = GemmParams {
        tiles_n: u32_of(tiles_n),
        tiles: u32_of(tiles),
        n: u32_of(n),
        pixels: if images > 1 { product.p.n } else { 0 },
        ..product.p
    };
    let [x, y, _] = gpu.groups_1d(tiles as u64, 1);
    let z = u32_of(product.slices);
    let kernel = program(product.user, tile, scalar, p.flags & EPILOGUE != 0).main();
    gpu.dispatch(kernel, &product.views, &p, [x, y, z]);
}

/// Winograd's 36 products (`conv::winograd`, `shaders/gemm_winograd.wgsl`) in one dispatch,
/// product z at z, on the square tile in f32: M = output channels, N = tiles, K = input
/// channels; `views` as a product's (`gemm::operands`).
pub(crate) fn run_winograd(gpu: &Gpu, p: &GemmParams, views: &[View; 6]) {
    let (bm, bn) = Tile::Square.size();
    let tiles_n = (p.n as usize).div_ceil(bn);
    let tiles = (p.m as usize).div_ceil(bm) * tiles_n;
    let p = GemmParams {
        tiles_n: u32_of(tiles_n),
        tiles: u32_of(tiles),
        ..*p
    };
    let [x, y, _] = gpu.groups_1d(tiles as u64, 1);
    gpu.dispatch(CONV_WINOGRAD_F32.main(), views, &p, [x, y, 36]);
}

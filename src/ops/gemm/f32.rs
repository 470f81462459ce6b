//! The f32 matrix product, `shaders/gemm_f32.wgsl`, for any adapter: a workgroup of 256
//! invocations computes one tile of C, stepping through K with A's and B's tiles staged in
//! workgroup memory; its parameters are read from a uniform, so one pipeline serves every
//! layer of a user.

use super::{Product, User, EPILOGUE};
use crate::gpu::{Gpu, Program};
use crate::ops::programs::{
    CONV_BWD_INPUT_F32, CONV_BWD_WEIGHT_F32, CONV_BWD_WEIGHT_F32_THIN, CONV_FWD_F32,
    CONV_FWD_F32_FUSED, MATMUL_F32,
};
use crate::ops::u32_of;

/// The tile of C a workgroup computes (`shaders/gemm_tile_*.wgsl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tile {
    /// 64x64, 4x4 per invocation: every product.
    Square,
    /// 4x256, 4x1 per invocation: the weight gradient of a convolution to at most 4
    /// channels, where the square tile would spend 61 of every 64 products on rows that do
    /// not exist.
    Thin,
}

impl Tile {
    /// Rows and columns of C per workgroup.
    pub(crate) fn size(self) -> (usize, usize) {
        match self {
            Tile::Square => (64, 64),
            Tile::Thin => (4, 256),
        }
    }
}

/// The program of a user, tile and store: only a convolution's forward may fuse the layers
/// after it (`fused`), and only its weight gradient has a thin tile.
fn program(user: User, tile: Tile, fused: bool) -> &'static Program {
    match (user, tile, fused) {
        (User::ConvForward, Tile::Square, false) => &CONV_FWD_F32,
        (User::ConvForward, Tile::Square, true) => &CONV_FWD_F32_FUSED,
        (User::ConvBackwardInput, Tile::Square, false) => &CONV_BWD_INPUT_F32,
        (User::ConvBackwardWeight, Tile::Square, false) => &CONV_BWD_WEIGHT_F32,
        (User::ConvBackwardWeight, Tile::Thin, false) => &CONV_BWD_WEIGHT_F32_THIN,
        (User::Matmul, Tile::Square, false) => &MATMUL_F32,
        _ => panic!("no f32 product for {user:?} with the {tile:?} tile (fused: {fused})"),
    }
}

/// One dispatch: tiles of C over x and y, images or K slices over z.
pub(crate) fn run(gpu: &Gpu, product: &Product, tile: Tile) {
    assert!(
        product.slices == 1 || product.images == 1,
        "the f32 product splits K or takes several images along z, not both"
    );
    let (bm, bn) = tile.size();
    let (m, n) = (product.p.m as usize, product.p.n as usize);
    let tiles_n = n.div_ceil(bn);
    let tiles = m.div_ceil(bm) * tiles_n;
    let p = crate::ops::gemm::GemmParams {
        tiles_n: u32_of(tiles_n),
        tiles: u32_of(tiles),
        ..product.p
    };
    let [x, y, _] = gpu.groups_1d(tiles as u64, 1);
    let z = u32_of(product.images.max(product.slices));
    let kernel = program(product.user, tile, p.flags & EPILOGUE != 0).main();
    gpu.dispatch(kernel, &product.views, &p, [x, y, z]);
}

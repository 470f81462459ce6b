//! Every GPU program of the engine, declared once: its name (unique; it names the program in
//! `SRGAN_WGPU_DEBUG` lines and the profile), its entry points, the parameter blocks it reads
//! (declared with `params!` beside the op that fills them), the WGSL extensions it needs and
//! its files in `shaders/`. The op modules dispatch these statics; the test at the bottom
//! compiles each of them for Vulkan, Metal and DX12 on any machine.
//!
//! Names say the path: `conv_fwd_naive`, `conv_fwd_f32`, `conv_fwd_half`, `conv_fwd_f16`, ... (see
//! `conv::plan` for which runs when).

use super::batchnorm::{BatchNormChannels, BatchNormElements, EmaParams};
use super::conv::ConvParams;
use super::gemm::f16::F16Shape;
use super::gemm::GemmParams;
use super::lpips::LpipsParams;
use super::pixel_shuffle::ShuffleParams;
use super::pool::PoolParams;
use super::prelu::{PreluParams, SlopeGradParams};
use super::reduce::ReduceParams;
use super::{Elementwise, TvParams};
use crate::gpu::{Params, Program};
use crate::optim::AdamParams;

/// `NAME: "name" [entries] (blocks) [files] enables [..]`, each line one `Program`; then, after
/// `@tiled`, `F32_NAME "name", HALF_NAME "name": [epilogue, user, tile]`, each line the two
/// programs of a tiled matrix product: `gemm_out` and `gemm_store`, the epilogue, `gemm_user`,
/// the user, the tile, the element type (`gemm_in_f32`, or `gemm_in_f16` with `enables
/// ["f16"]`) and the core, `gemm_tiled`; and `ALL`, the list of them all.
macro_rules! programs {
    ($(
        $(#[$meta:meta])*
        $id:ident: $name:literal [$($entry:literal),+] ($($block:ty),*) [$($file:literal),+]
        $(enables [$($enable:literal),+])?;
    )+
    @tiled $(
        $f32_id:ident $f32_name:literal, $half_id:ident $half_name:literal:
            [$epilogue:literal, $user:literal, $tile:literal];
    )+) => {
        $(
            $(#[$meta])*
            pub(crate) static $id: Program = Program {
                name: $name,
                entries: &[$($entry),+],
                enables: &[$($($enable),+)?],
                blocks: &[$(<$block as Params>::WGSL),*],
                files: &[$(shader!($file)),+],
            };
        )+
        $(
            pub(crate) static $f32_id: Program = Program {
                name: $f32_name,
                entries: &["main"],
                enables: &[],
                blocks: &[<GemmParams as Params>::WGSL],
                files: &[
                    shader!("gemm_out"), shader!("gemm_store"), shader!($epilogue),
                    shader!("gemm_user"), shader!($user), shader!($tile), shader!("gemm_in_f32"),
                    shader!("gemm_tiled"),
                ],
            };
            pub(crate) static $half_id: Program = Program {
                name: $half_name,
                entries: &["main"],
                enables: &["f16"],
                blocks: &[<GemmParams as Params>::WGSL],
                files: &[
                    shader!("gemm_out"), shader!("gemm_store"), shader!($epilogue),
                    shader!("gemm_user"), shader!($user), shader!($tile), shader!("gemm_in_f16"),
                    shader!("gemm_tiled"),
                ],
            };
        )+
        /// Every program above, for the test that compiles them all (`ops::portability`).
        #[cfg(test)]
        pub(crate) static ALL: &[&Program] = &[$(&$id,)+ $(&$f32_id, &$half_id,)+];
    };
}

/// A file of `shaders/`, by name and text.
macro_rules! shader {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/shaders/",
                $file,
                ".wgsl"
            )),
        )
    };
}

programs! {
    // Elementwise ops, the optimizer, reductions.
    UNARY: "unary" ["affine", "relu", "leaky_relu", "tanh_fwd", "sigmoid", "broadcast"]
        (Elementwise) ["unary"];
    BINARY: "binary" ["axpby", "mul", "mul_scalar", "leaky_relu_bwd", "tanh_bwd", "sigmoid_bwd",
        "bce_logits", "bce_logits_bwd"] (Elementwise) ["binary"];
    ADAM: "adam" ["main"] (AdamParams) ["adam"];
    AVERAGE: "average" ["main"] (Elementwise) ["average"];
    REDUCE: "reduce" ["sum_partial", "channel_sum", "sum_slices"] (ReduceParams) ["reduce"];

    // Layers: batch norm, PReLU, pixel shuffle, pooling, total variation, LPIPS.
    BATCHNORM_STATS: "batchnorm_stats" ["main"] (BatchNormChannels) ["batchnorm_stats"];
    BATCHNORM_APPLY: "batchnorm_apply" ["main"] (BatchNormElements) ["batchnorm_apply"];
    BATCHNORM_PRELU: "batchnorm_prelu" ["main"] (BatchNormElements) ["batchnorm_prelu"];
    BATCHNORM_PRELU_BWD_REDUCE: "batchnorm_prelu_bwd_reduce" ["main"] (BatchNormChannels)
        ["batchnorm_prelu_bwd_reduce"];
    BATCHNORM_PRELU_BWD_INPUT: "batchnorm_prelu_bwd_input" ["main"] (BatchNormElements)
        ["batchnorm_prelu_bwd_input"];
    BATCHNORM_BWD_REDUCE: "batchnorm_bwd_reduce" ["main"] (BatchNormChannels)
        ["batchnorm_bwd_reduce"];
    BATCHNORM_BWD_INPUT: "batchnorm_bwd_input" ["main"] (BatchNormElements)
        ["batchnorm_bwd_input"];
    EMA: "ema" ["main"] (EmaParams) ["ema"];
    PRELU: "prelu" ["main"] (PreluParams) ["prelu"];
    PRELU_BWD: "prelu_bwd" ["main"] (PreluParams) ["prelu_bwd"];
    PRELU_SLOPE_GRAD: "prelu_slope_grad" ["main"] (SlopeGradParams) ["prelu_slope_grad"];
    PIXEL_SHUFFLE: "pixel_shuffle" ["shuffle", "unshuffle"] (ShuffleParams) ["pixel_shuffle"];
    MAXPOOL: "maxpool" ["main"] (PoolParams) ["maxpool"];
    MAXPOOL_BWD: "maxpool_bwd" ["main"] (PoolParams) ["maxpool_bwd"];
    TV: "tv" ["terms", "grad"] (TvParams) ["tv"];
    LPIPS: "lpips" ["distance"] (LpipsParams) ["lpips_common", "lpips"];
    LPIPS_BWD: "lpips_bwd" ["main"] (LpipsParams) ["lpips_common", "lpips_bwd"];

    // Convolution, naive path (`conv/naive.rs`): one invocation per output value.
    CONV_FWD_NAIVE: "conv_fwd_naive" ["main"] (ConvParams) ["conv_fwd_naive"];
    CONV_BWD_INPUT_NAIVE: "conv_bwd_input_naive" ["main"] (ConvParams) ["conv_bwd_input_naive"];
    CONV_BWD_WEIGHT_NAIVE: "conv_bwd_weight_naive" ["main"] (ConvParams)
        ["conv_bwd_weight_naive"];
    MATMUL_NAIVE: "matmul_naive" ["main"] (GemmParams) ["matmul_naive"];

    // Convolution, direct kernels for at most 4 output channels (`conv/direct.rs`).
    CONV_FWD_DIRECT_TILED: "conv_fwd_direct_tiled" ["main"] (ConvParams)
        ["conv_direct_fwd", "conv_direct_window", "conv_direct_tiled"];
    /// Specialised: `const p = ConvParams(..)`.
    CONV_FWD_DIRECT_ROWS: "conv_fwd_direct_rows" ["main"] (ConvParams)
        ["conv_direct_fwd", "conv_direct_window", "conv_direct_rows"];
    CONV_BWD_WEIGHT_DIRECT: "conv_bwd_weight_direct" ["main"] (ConvParams)
        ["conv_direct_window", "conv_bwd_weight_direct"];

    // Convolution forward on software adapters (`conv/unrolled.rs`): the weights rearranged,
    // then the kernel, specialised with `const p = ConvParams(..)` and an entry point written
    // for its block (`conv::unrolled::Block`).
    CONV_FWD_UNROLLED_WEIGHTS: "conv_fwd_unrolled_weights" ["main"] (ConvParams)
        ["conv_unrolled_weights"];
    CONV_FWD_UNROLLED: "conv_fwd_unrolled" ["main"] (ConvParams) ["conv_unrolled"];

    // Convolution by Winograd F(4x4, 3x3) (`conv/winograd.rs`): the weights' and the input's
    // transforms, the 36 products on the f32 tile, and the output's transform, which stores
    // through the epilogue in the fused program.
    CONV_WINOGRAD_WEIGHTS: "conv_winograd_weights" ["forward", "flipped"] (GemmParams)
        ["conv_winograd_weights"];
    CONV_WINOGRAD_INPUT: "conv_winograd_input" ["main"] (GemmParams) ["conv_winograd_input"];
    CONV_WINOGRAD_F32: "conv_winograd_f32" ["main"] (GemmParams)
        ["gemm_out", "gemm_store", "gemm_epilogue_none", "gemm_user", "gemm_winograd",
         "gemm_tile_64x64", "gemm_in_f32", "gemm_tiled"];
    CONV_WINOGRAD_OUTPUT: "conv_winograd_output" ["main"] (GemmParams)
        ["conv_winograd_output", "gemm_store", "gemm_epilogue_none"];
    CONV_WINOGRAD_OUTPUT_FUSED: "conv_winograd_output_fused" ["main"] (GemmParams)
        ["conv_winograd_output", "gemm_store", "gemm_epilogue"];

    // Matrix products on tensor cores (`gemm/f16.rs`), all specialised (`const p =
    // GemmParams(..)`, `const shape = F16Shape(..)`): the operands packed into f16, then the
    // product.
    CONV_FWD_F16_PACK: "conv_fwd_f16_pack" ["main"] (GemmParams, F16Shape)
        ["gemm_user", "gemm_conv_fwd", "gemm_pack_f16"] enables ["f16"];
    CONV_BWD_INPUT_F16_PACK: "conv_bwd_input_f16_pack" ["main"] (GemmParams, F16Shape)
        ["gemm_user", "gemm_conv_bwd_input", "gemm_pack_f16"] enables ["f16"];
    CONV_BWD_WEIGHT_F16_PACK: "conv_bwd_weight_f16_pack" ["main"] (GemmParams, F16Shape)
        ["gemm_user", "gemm_conv_bwd_weight", "gemm_pack_f16"] enables ["f16"];
    MATMUL_F16_PACK: "matmul_f16_pack" ["main"] (GemmParams, F16Shape)
        ["gemm_user", "gemm_matmul", "gemm_pack_f16"] enables ["f16"];
    CONV_FWD_F16: "conv_fwd_f16" ["main"] (GemmParams, F16Shape)
        ["gemm_out", "gemm_store", "gemm_epilogue", "gemm_f16"]
        enables ["f16", "wgpu_cooperative_matrix"];
    CONV_BWD_INPUT_F16: "conv_bwd_input_f16" ["main"] (GemmParams, F16Shape)
        ["gemm_out", "gemm_store", "gemm_epilogue", "gemm_f16"]
        enables ["f16", "wgpu_cooperative_matrix"];
    CONV_BWD_WEIGHT_F16: "conv_bwd_weight_f16" ["main"] (GemmParams, F16Shape)
        ["gemm_out", "gemm_store", "gemm_epilogue", "gemm_f16"]
        enables ["f16", "wgpu_cooperative_matrix"];
    MATMUL_F16: "matmul_f16" ["main"] (GemmParams, F16Shape)
        ["gemm_out", "gemm_store", "gemm_epilogue", "gemm_f16"]
        enables ["f16", "wgpu_cooperative_matrix"];

    // Tiled matrix products (`gemm/tiled.rs`): the epilogue, the user's address mapping and a
    // tile (the macro adds the rest); in f32, and in f16 arithmetic ("half") for adapters with
    // shader-f16.
    @tiled
    CONV_FWD_F32 "conv_fwd_f32", CONV_FWD_HALF "conv_fwd_half":
        ["gemm_epilogue_none", "gemm_conv_fwd", "gemm_tile_64x64"];
    CONV_FWD_F32_FUSED "conv_fwd_f32_fused", CONV_FWD_HALF_FUSED "conv_fwd_half_fused":
        ["gemm_epilogue", "gemm_conv_fwd", "gemm_tile_64x64"];
    CONV_BWD_INPUT_F32 "conv_bwd_input_f32", CONV_BWD_INPUT_HALF "conv_bwd_input_half":
        ["gemm_epilogue_none", "gemm_conv_bwd_input", "gemm_tile_64x64"];
    CONV_BWD_INPUT_F32_THIN "conv_bwd_input_f32_thin", CONV_BWD_INPUT_HALF_THIN "conv_bwd_input_half_thin":
        ["gemm_epilogue_none", "gemm_conv_bwd_input", "gemm_tile_4x256"];
    CONV_BWD_WEIGHT_F32 "conv_bwd_weight_f32", CONV_BWD_WEIGHT_HALF "conv_bwd_weight_half":
        ["gemm_epilogue_none", "gemm_conv_bwd_weight", "gemm_tile_64x64"];
    CONV_BWD_WEIGHT_F32_THIN "conv_bwd_weight_f32_thin", CONV_BWD_WEIGHT_HALF_THIN "conv_bwd_weight_half_thin":
        ["gemm_epilogue_none", "gemm_conv_bwd_weight", "gemm_tile_4x256"];
    MATMUL_F32 "matmul_f32", MATMUL_HALF "matmul_half":
        ["gemm_epilogue_none", "gemm_matmul", "gemm_tile_64x64"];
    MATMUL_F32_SHORT "matmul_f32_short", MATMUL_HALF_SHORT "matmul_half_short":
        ["gemm_epilogue_none", "gemm_matmul", "gemm_tile_16x256"];
}

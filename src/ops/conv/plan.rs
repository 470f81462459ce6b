//! Which kernels compute a convolution: every decision in one function, `plan`.
//!
//! With `--kernels naive` everything takes the naive path. Otherwise, from the first rule
//! that applies:
//!
//! | pass | when | path |
//! |---|---|---|
//! | forward | a software adapter | `Unrolled` |
//! | forward | at most 4 output channels, square kernel of at most 11, 15 s + K <= 48 | `Direct`: `Rows` at stride 1 (if its window fits workgroup memory), else `Tiled` |
//! | weight gradient | the same, on a hardware adapter | `Direct(Weight)` |
//! | any | `--kernels mixed` and the packed f16 operands fit one binding | `GemmF16` |
//! | forward, input gradient | f32 (or mixed whose packed operands do not fit) on a hardware adapter, 3x3 at stride 1 padded by at most 2, at least 32 channels in and out, its transformed weights and tiles each fit one binding | `Winograd` |
//! | any | otherwise | `GemmTiled`, in f16 arithmetic with `--kernels half`, else f32: the thin tile for a gradient of at most 4 rows |
//!
//! Then: the layers after a forward (`Epilogue`) are fused into a matrix product's store (or
//! Winograd's output transform), except on software adapters (they run every side of a branch,
//! so the fused store slowed every product there); other paths run them as separate ops. A
//! batch past one binding is split into groups of images. And K is split into slices, summed by
//! one more pass, where a product has too few tiles of C to fill a large GPU: weight gradients
//! (K runs over all pixels of the batch) and, on GPUs, forwards and input gradients with few
//! tiles (the tiled products put all images' pixels along N for that; a strided input
//! gradient's phases share their slices).

use super::Geometry;
use crate::gpu::Kernels;
use crate::ops::gemm::f16;
use crate::ops::gemm::tiled::{Scalar, Tile};
use crate::ops::Target;

/// Which of a convolution's three products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    Forward,
    BackwardInput,
    BackwardWeight,
}

/// A path, each in a file of this folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// `naive.rs`: one invocation per output value, the CPU reference's loop.
    Naive,
    /// `direct.rs`: few output channels.
    Direct(Direct),
    /// `unrolled.rs`: the forward on software adapters, a kernel written out for its sizes.
    Unrolled,
    /// `gemm.rs` on `ops::gemm::tiled`: a matrix product on workgroup tiles, in f32, or in
    /// f16 arithmetic with `--kernels half` (each K step's products summed in f16, the steps
    /// in f32).
    GemmTiled(Tile, Scalar),
    /// `gemm.rs` on `ops::gemm::f16`: operands packed into f16, products on tensor cores.
    GemmF16,
    /// `winograd.rs`: F(4x4, 3x3), the sums as 36 products on the tiled kernel in f32.
    Winograd,
}

/// The direct kernels (`shaders/conv_direct_*.wgsl`, `conv_bwd_weight_direct.wgsl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direct {
    /// Forward, 16x16 output blocks over windows staged in workgroup memory: any stride.
    Tiled,
    /// Forward, 16x64 output blocks, 4 pixels per invocation: stride 1.
    Rows,
    /// Weight gradient, 16x16 blocks, a slice per image summed afterwards.
    Weight,
}

/// A group of consecutive images that fit one storage binding, and the K slices of its
/// product (1: not split).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Group {
    pub first: usize,
    pub count: usize,
    pub slices: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub strategy: Strategy,
    /// Forward: the layers after the convolution run in the product's store.
    pub fused: bool,
    pub groups: Vec<Group>,
}

/// Chooses how to compute `pass` of the convolution `g` on `target`; `epilogue`: layers
/// follow the forward (see `conv::Epilogue`).
pub(crate) fn plan(pass: Pass, g: &Geometry, epilogue: bool, target: &Target) -> Plan {
    let images = image_groups(g, target);
    let strategy = strategy(pass, g, images[0].1, target);
    let fused = epilogue && fuses(strategy) && !target.software;
    let groups = images
        .into_iter()
        .map(|(first, count)| Group {
            first,
            count,
            slices: slices(pass, strategy, g, count, fused, target),
        })
        .collect();
    Plan {
        strategy,
        fused,
        groups,
    }
}

pub(super) fn is_gemm(s: Strategy) -> bool {
    matches!(s, Strategy::GemmTiled(..) | Strategy::GemmF16)
}

/// Whether a path's store runs the layers after a forward (`gemm_store.wgsl`).
fn fuses(s: Strategy) -> bool {
    is_gemm(s) || s == Strategy::Winograd
}

/// Convolutions with at most this many output channels take the direct kernels.
const DIRECT_MAX_COUT: usize = 4;

/// Whether the direct kernels take `g`: few output channels, a square kernel whose 16x16
/// output block sees a window of at most 48 pixels (`shaders/conv_direct_window.wgsl`).
fn direct(g: &Geometry) -> bool {
    g.cout <= DIRECT_MAX_COUT && g.kh == g.kw && g.kh <= 11 && 15 * g.stride + g.kh <= 48
}

/// Whether `shaders/conv_direct_rows.wgsl`'s 16x64 block's window fits the 48x48 of
/// `conv_direct_window.wgsl`, and its workgroup memory (that window and the taps) the adapter.
fn rows_fit(k: usize, target: &Target) -> bool {
    let window = (15 + k) * (63 + k) <= 48 * 48;
    let bytes = 48 * 48 * 4 + k * k * 16;
    window && bytes as u64 <= target.workgroup_bytes as u64
}

/// The path; `images`: the largest group's.
fn strategy(pass: Pass, g: &Geometry, images: usize, target: &Target) -> Strategy {
    if target.kernels == Kernels::Naive {
        return Strategy::Naive;
    }
    match pass {
        Pass::Forward if target.software => return Strategy::Unrolled,
        Pass::Forward if direct(g) => {
            let kind = if g.stride == 1 && rows_fit(g.kh, target) {
                Direct::Rows
            } else {
                Direct::Tiled
            };
            return Strategy::Direct(kind);
        }
        // On software adapters the thin GEMM tile is faster: it has no barriers in its loop.
        Pass::BackwardWeight if direct(g) && !target.software => {
            return Strategy::Direct(Direct::Weight)
        }
        _ => {}
    }
    let (m, n, k) = matrix(pass, g, images);
    let columns = match pass {
        Pass::Forward | Pass::BackwardInput => images * n,
        Pass::BackwardWeight => n,
    };
    if target.kernels == Kernels::Mixed && f16::fits(m, k, columns, target.max_binding) {
        return Strategy::GemmF16;
    }
    if target.kernels != Kernels::Half && winograd(pass, g, images, target) {
        return Strategy::Winograd;
    }
    // Without tensor cores, or with a packed operand past one binding: the tiled product,
    // which reads the tensors in place.
    let thin = pass != Pass::Forward && m <= 4;
    let tile = if thin { Tile::Thin } else { Tile::Square };
    let scalar = if target.kernels == Kernels::Half {
        Scalar::F16
    } else {
        Scalar::F32
    };
    Strategy::GemmTiled(tile, scalar)
}

/// Fewest input and output channels for Winograd: its transforms pass over the tiles once
/// per channel, the products save 108 of 144 multiply-adds per 16 outputs and channel pair,
/// so few channels leave the transforms to dominate. Not tuned: every SRGAN layer it takes has
/// 64 channels or more (where it measured faster, `benches/NOTES.md`), and the first layers,
/// of 3, are far below.
const WINOGRAD_MIN_CHANNELS: usize = 32;

/// Whether `pass` of `g` over `images` images takes Winograd's F(4x4, 3x3): a forward or input
/// gradient of a 3x3 kernel at stride 1 (an input gradient is then a convolution padded by 2 -
/// pad) on a hardware adapter, with enough channels, whose transformed weights, input and
/// sums (36 values per kernel, and per tile of 4x4 outputs and channel) each fit one binding.
/// The image groups are sized for x and y, so a batch split into groups (V is 2.25 times x
/// for a padded layer) takes the tiled product instead.
fn winograd(pass: Pass, g: &Geometry, images: usize, target: &Target) -> bool {
    let shape = g.kh == 3 && g.kw == 3 && g.stride == 1 && g.pad <= 2;
    let channels = g.cin.min(g.cout) >= WINOGRAD_MIN_CHANNELS;
    let (out_h, out_w) = match pass {
        Pass::Forward => (g.out_h, g.out_w),
        Pass::BackwardInput => (g.height, g.width),
        Pass::BackwardWeight => return false,
    };
    let tiles = (images * out_h.div_ceil(4) * out_w.div_ceil(4)) as u64;
    let (cin, cout) = (g.cin as u64, g.cout as u64);
    let largest = (36 * 4) * (cin * cout).max(cin.max(cout) * tiles);
    shape && channels && !target.software && largest <= target.max_binding
}

/// The pass as a matrix product C[M, N] = A[M, K] B[K, N] of one of `images` images: the
/// forward and input gradient have one image's pixels along N (the products then put the
/// images side by side), the weight gradient all images' pixels along K.
pub(crate) fn matrix(pass: Pass, g: &Geometry, images: usize) -> (usize, usize, usize) {
    let taps = g.kh * g.kw;
    match pass {
        Pass::Forward => (g.cout, g.out_h * g.out_w, g.cin * taps),
        Pass::BackwardInput => (g.cin, g.height * g.width, g.cout * taps),
        Pass::BackwardWeight => (g.cout, g.cin * taps, images * g.out_h * g.out_w),
    }
}

/// Groups of consecutive images, (first, count), whose input and output each fit one
/// binding together with the alignment slack of `Tensor::window`.
fn image_groups(g: &Geometry, target: &Target) -> Vec<(usize, usize)> {
    let room = target.max_binding as usize / 4 - target.align;
    let per_image = g.in_size().max(g.out_size());
    assert!(
        per_image <= room,
        "conv2d: one image of {per_image} values is larger than a storage binding; upscale in tiles"
    );
    let per_group = (room / per_image).max(1);
    (0..g.batch)
        .step_by(per_group)
        .map(|i| (i, per_group.min(g.batch - i)))
        .collect()
}

/// Workgroups a product should have at least: fewer leave much of a large GPU idle (an H100
/// has 132 multiprocessors; the 24x24 layers of a batch of 16 make 72 tiles of 64x128).
const ENOUGH_TILES: usize = 256;
/// Workgroups a weight gradient aims for, several per multiprocessor of a large GPU: a
/// 64->64 layer has only 9 tiles of C, so without splitting a 24x24 batch of 16
/// (K = 9216) ran as 27 workgroups at 1.2 TFLOP/s.
const WEIGHT_WORKGROUPS: usize = 1024;
/// Longest and shortest K of a weight gradient's slice.
const K_PER_SLICE: usize = 4096;
const MIN_K_PER_SLICE: usize = 256;
/// Fewest K steps of 32 in a forward's or input gradient's slice on tensor cores: with 4 (the
/// 24x24 layers, K = 576) the extra summing pass cost more than the idle multiprocessors.
const MIN_F16_STEPS_PER_SLICE: usize = 16;

/// The same for the tiled products, whose workgroups are lighter (several fit a
/// multiprocessor), and the shortest K slice worth its share of the summing pass there: with
/// 256 the residual blocks' 24x24 layers of a batch of 16 (144 tiles, K = 576) run in 2
/// slices, and an SRResNet step in f32 took 11.6 ms on an H100 against 12.2 unsplit (and 11.7
/// with 128, 4 slices).
const ENOUGH_TILED_WORKGROUPS: usize = 512;
const MIN_TILED_K_PER_SLICE: usize = 256;

/// The K slices of a group's product.
fn slices(
    pass: Pass,
    strategy: Strategy,
    g: &Geometry,
    images: usize,
    fused: bool,
    target: &Target,
) -> usize {
    let (m, mut n, mut k) = matrix(pass, g, images);
    if pass == Pass::BackwardInput {
        // Its products are its phases (`gemm.rs`), each of at most ⌈H/s⌉ x ⌈W/s⌉ pixels of
        // an image and ⌈KH/s⌉ x ⌈KW/s⌉ taps.
        let s = g.stride;
        n = g.height.div_ceil(s) * g.width.div_ceil(s);
        k = g.cout * g.kh.div_ceil(s) * g.kw.div_ceil(s);
    }
    let (bm, bn) = match strategy {
        Strategy::GemmTiled(tile, _) => tile.size(),
        Strategy::GemmF16 => f16::tile(m),
        Strategy::Naive | Strategy::Direct(_) | Strategy::Unrolled | Strategy::Winograd => {
            return 1
        }
    };
    // Every slice writes a whole copy of the output, which must fit one binding too.
    let out = match pass {
        Pass::Forward => images * m * n,
        Pass::BackwardInput => images * g.in_size(),
        Pass::BackwardWeight => m * n,
    };
    let most = (target.max_binding as usize / 4 / out).max(1);
    let slices = match pass {
        Pass::BackwardWeight => {
            let tiles = m.div_ceil(bm) * n.div_ceil(bn);
            k.div_ceil(K_PER_SLICE)
                .max(WEIGHT_WORKGROUPS.div_ceil(tiles))
                .min(k / MIN_K_PER_SLICE)
                .min(256)
        }
        // A store that does more than add the bias cannot write partial sums; a CPU has
        // few cores to fill; the phases of a strided input gradient (`gemm.rs`) share their
        // partial sums, which then need every pixel of dx in some phase.
        Pass::Forward | Pass::BackwardInput if fused || target.software => 1,
        Pass::BackwardInput if super::gemm::input_gaps(g) => 1,
        Pass::Forward | Pass::BackwardInput => {
            let (enough, longest) = match strategy {
                Strategy::GemmF16 => (ENOUGH_TILES, k.div_ceil(32) / MIN_F16_STEPS_PER_SLICE),
                _ => (ENOUGH_TILED_WORKGROUPS, k / MIN_TILED_K_PER_SLICE),
            };
            let tiles = m.div_ceil(bm) * (images * n).div_ceil(bn);
            if tiles >= enough {
                1
            } else {
                enough.div_ceil(tiles).min(longest)
            }
        }
    };
    slices.clamp(1, most)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kernels: Kernels, software: bool) -> Target {
        Target {
            kernels,
            software,
            max_binding: 1 << 31,
            align: 64,
            workgroup_bytes: 48 << 10,
        }
    }

    fn geometry(x: [usize; 4], w: [usize; 4], stride: usize, pad: usize) -> Geometry {
        Geometry::new(&x, &w, stride, pad)
    }

    /// The paths SRGAN's layers take, as the README and the tour describe them.
    #[test]
    fn srgan_layers_take_their_paths() {
        let mixed = target(Kernels::Mixed, false);
        let f32 = target(Kernels::F32, false);
        let software = target(Kernels::F32, true);
        let last = geometry([16, 64, 96, 96], [3, 64, 9, 9], 1, 4);
        let block = geometry([16, 64, 24, 24], [64, 64, 3, 3], 1, 1);
        let at = |p: Pass, g: &Geometry, t: &Target| plan(p, g, true, t);
        assert_eq!(
            at(Pass::Forward, &last, &mixed).strategy,
            Strategy::Direct(Direct::Rows)
        );
        for g in [&last, &block] {
            assert_eq!(at(Pass::Forward, g, &software).strategy, Strategy::Unrolled);
        }
        assert_eq!(
            at(Pass::BackwardWeight, &last, &f32).strategy,
            Strategy::Direct(Direct::Weight)
        );
        assert_eq!(
            at(Pass::BackwardWeight, &last, &software).strategy,
            Strategy::GemmTiled(Tile::Thin, Scalar::F32)
        );
        assert_eq!(
            at(Pass::BackwardInput, &last, &mixed).strategy,
            Strategy::GemmF16
        );
        let forward = at(Pass::Forward, &block, &mixed);
        assert_eq!((forward.strategy, forward.fused), (Strategy::GemmF16, true));
        assert!(!at(Pass::Forward, &block, &software).fused);
        // In f32 on a GPU its forward and input gradient take Winograd, the forward fused.
        let winograd = at(Pass::Forward, &block, &f32);
        assert_eq!(
            (winograd.strategy, winograd.fused),
            (Strategy::Winograd, true)
        );
        assert_eq!(
            at(Pass::BackwardInput, &block, &f32).strategy,
            Strategy::Winograd
        );
        assert_eq!(
            at(Pass::BackwardWeight, &block, &f32).strategy,
            Strategy::GemmTiled(Tile::Square, Scalar::F32)
        );
        assert_eq!(
            at(Pass::BackwardInput, &block, &software).strategy,
            Strategy::GemmTiled(Tile::Square, Scalar::F32)
        );
        // A weight gradient of a 24x24 batch of 16 spreads K = 9216 over slices.
        assert!(at(Pass::BackwardWeight, &block, &mixed).groups[0].slices > 1);
        let naive = target(Kernels::Naive, false);
        for g in [last, block] {
            for p in [Pass::Forward, Pass::BackwardInput, Pass::BackwardWeight] {
                assert_eq!(at(p, &g, &naive).strategy, Strategy::Naive);
            }
        }
    }

    /// VGG's conv5 at 6x6 makes few tiles: its forward splits K on a GPU, on tensor cores or
    /// tiles in f16 (in f32 it takes Winograd's 36 products, which fill the GPU), but never
    /// fused and never on a CPU.
    #[test]
    fn few_tiles_split_k_on_gpus() {
        let conv5 = geometry([2, 512, 6, 6], [512, 512, 3, 3], 1, 1);
        let slices = |pass, fused, t: &Target| plan(pass, &conv5, fused, t).groups[0].slices;
        let f32 = target(Kernels::F32, false);
        assert_eq!(
            plan(Pass::Forward, &conv5, false, &f32).strategy,
            Strategy::Winograd
        );
        for kernels in [Kernels::Mixed, Kernels::Half] {
            let gpu = target(kernels, false);
            assert!(slices(Pass::Forward, false, &gpu) > 1, "{kernels:?}");
            assert!(slices(Pass::BackwardInput, false, &gpu) > 1, "{kernels:?}");
            assert_eq!(slices(Pass::Forward, true, &gpu), 1, "{kernels:?}");
        }
        let cpu = target(Kernels::F32, true);
        assert_eq!(slices(Pass::BackwardInput, false, &cpu), 1);
        // The same layer at stride 2: its input gradient's phases share their slices; a
        // kernel smaller than its stride leaves pixels of dx in no product (their phase has
        // no taps), and no slices.
        let gpu = target(Kernels::F32, false);
        let at = |w| {
            plan(
                Pass::BackwardInput,
                &geometry([2, 512, 12, 12], w, 2, 1),
                false,
                &gpu,
            )
        };
        assert!(at([512, 512, 3, 3]).groups[0].slices > 1);
        assert_eq!(at([512, 512, 1, 1]).groups[0].slices, 1);
    }

    /// A packed f16 operand past the binding limit is an explicit f32 plan, and a batch past
    /// it runs in groups.
    #[test]
    fn small_bindings_fall_back_and_group() {
        let g = geometry([8, 64, 96, 96], [64, 64, 3, 3], 1, 1);
        let small = Target {
            max_binding: 16 << 20,
            ..target(Kernels::Mixed, false)
        };
        let p = plan(Pass::Forward, &g, false, &small);
        assert_eq!(p.strategy, Strategy::GemmTiled(Tile::Square, Scalar::F32));
        assert!(p.groups.len() > 1);
        assert_eq!(p.groups.iter().map(|g| g.count).sum::<usize>(), 8);
    }
}

//! Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for
//! Convolutional Neural Networks", CVPR 2016) for 3x3 convolutions at stride 1, in f32. The
//! output is cut into 4x4 tiles; each comes from the 6x6 window d of every input channel as
//!
//! ```text
//! Y = Aᵀ [ Σ over input channels of (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//! ```
//!
//! (g: that channel's 3x3 kernel, ⊙: element by element; the matrices are `B_T`, `G`, `A_T`
//! below). For each of the 36 points ξ of the 6x6 tile, the sum over input channels is a
//! matrix product U\[ξ\] V\[ξ\]: (output channels x input channels) times (input channels x
//! tiles). That is 36 multiply-adds per 16 outputs and input channel, where the convolution
//! as one product (`gemm.rs`) takes 16 x 9 = 144: a quarter.
//!
//! Four passes: the weights' transform U (`shaders/conv_winograd_weights.wgsl`), the input's
//! V (`conv_winograd_input.wgsl`), the 36 products in one dispatch of the tiled f32 kernel
//! (`gemm_winograd.wgsl`), and the output's transform (`conv_winograd_output.wgsl`), which adds
//! the bias and stores through the epilogue as the products do. The input gradient of a
//! stride-1 convolution is itself such a convolution: of dy, padded by 2 - pad, with each
//! kernel turned by 180° and input and output channels swapped (the weights' `flipped` entry).
//!
//! What it costs: U, V and the products' sums pass through memory (V and the sums 2.25 times
//! the input and output, for whole tiles), so it pays only where there are enough channels
//! for the products to dominate (`plan`); and the transforms' coefficients (up to 8 in Aᵀ,
//! 5 in Bᵀ) make its rounding errors a few times those of the direct sum (the bound the
//! tests hold it to is in `tests/common/paths.rs`).

use super::{Epilogue, Geometry, Group};
use crate::gpu::View;
use crate::ops::gemm::{self, tiled, GemmParams};
use crate::ops::programs::{
    CONV_WINOGRAD_INPUT, CONV_WINOGRAD_OUTPUT, CONV_WINOGRAD_OUTPUT_FUSED, CONV_WINOGRAD_WEIGHTS,
};
use crate::ops::u32_of;
use crate::tensor::Tensor;

/// The points of a transformed tile, 6 x 6.
const POINTS: usize = 36;

/// Bᵀ, G and Aᵀ of F(4x4, 3x3) (Lavin and Gray, section 4.1). The unit test below checks these
/// copies; the shaders write the same coefficients out, and the GPU tests hold them to the
/// convolution's reference.
#[cfg(test)]
const B_T: [[f64; 6]; 6] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];
#[cfg(test)]
const G: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];
#[cfg(test)]
const A_T: [[f64; 6]; 4] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

/// The forward of `g` for `group`, with its bias and epilogue (`fused`: the layers that run in
/// the output's store, as `gemm::forward` takes them).
pub(super) fn forward(
    g: &Geometry,
    group: &Group,
    (x, w, bias): (&Tensor, &Tensor, Option<&Tensor>),
    fused: &Epilogue,
    y: &Tensor,
) {
    let input = x.window(group.first * g.in_size(), group.count * g.in_size());
    let output = y.window(group.first * g.out_size(), group.count * g.out_size());
    let residual = fused.residual.map(|r| {
        // The same window as y's: the store reads it at y's indices.
        r.window(group.first * g.out_size(), group.count * g.out_size())
            .0
    });
    let outputs = Outputs {
        bias: bias.map(Tensor::view),
        slope: fused.prelu.map(Tensor::view),
        residual,
        flags: fused.flags(bias.is_some()),
    };
    run(g, group.count, input, (w, false), output, &outputs);
}

/// The input gradient of `g` (stride 1, 3x3) for `group`: the forward of dy with the turned
/// kernels, into dx.
pub(super) fn backward_input(g: &Geometry, group: &Group, dy: &Tensor, w: &Tensor, dx: &Tensor) {
    let input = dy.window(group.first * g.out_size(), group.count * g.out_size());
    let output = dx.window(group.first * g.in_size(), group.count * g.in_size());
    let turned = Geometry::new(
        &[g.batch, g.cout, g.out_h, g.out_w],
        &[g.cin, g.cout, 3, 3],
        1,
        2 - g.pad,
    );
    debug_assert_eq!((turned.out_h, turned.out_w), (g.height, g.width));
    let outputs = Outputs {
        bias: None,
        slope: None,
        residual: None,
        flags: 0,
    };
    run(&turned, group.count, input, (w, true), output, &outputs);
}

/// What the output's transform binds beside the sums and y, and its flags.
struct Outputs<'a> {
    bias: Option<View<'a>>,
    slope: Option<View<'a>>,
    residual: Option<View<'a>>,
    flags: u32,
}

/// The four passes for `images` images of the convolution `g` (stride 1, 3x3), x and y the
/// views and first elements of their windows; the weights as stored, `flipped` for an input
/// gradient (see the top).
fn run(
    g: &Geometry,
    images: usize,
    (x, x_base): (View, usize),
    (w, flipped): (&Tensor, bool),
    (y, y_base): (View, usize),
    outputs: &Outputs,
) {
    let gpu = w.gpu();
    let tiles = images * g.out_h.div_ceil(4) * g.out_w.div_ceil(4);
    // M = output channels, N = tiles, K = input channels.
    let p = GemmParams {
        b_base: u32_of(x_base),
        c_base: u32_of(y_base),
        ..g.gemm_params((g.cout, tiles, g.cin))
    };
    let u = Tensor::uninit(gpu, &[POINTS, g.cout, g.cin]);
    let entry = if flipped { "flipped" } else { "forward" };
    let kernel = CONV_WINOGRAD_WEIGHTS.kernel(entry);
    let groups = gpu.groups_1d((g.cout * g.cin) as u64, 256);
    gpu.dispatch(kernel, &[w.view(), u.view()], &p, groups);

    let v = Tensor::uninit(gpu, &[POINTS, g.cin, tiles]);
    let groups = gpu.groups_1d((g.cin * tiles) as u64, 256);
    gpu.dispatch(CONV_WINOGRAD_INPUT.main(), &[x, v.view()], &p, groups);

    let sums = Tensor::uninit(gpu, &[POINTS, g.cout, tiles]);
    let views = gemm::operands(u.view(), v.view(), u.view(), sums.view());
    tiled::run_winograd(gpu, &p, &views);

    let fused = outputs.flags & gemm::EPILOGUE != 0;
    let program = if fused {
        &CONV_WINOGRAD_OUTPUT_FUSED
    } else {
        &CONV_WINOGRAD_OUTPUT
    };
    // Bindings a pass does not read (no bias, no epilogue) take the sums again.
    let s = sums.view();
    let views = [
        s,
        outputs.bias.unwrap_or(s),
        y,
        outputs.slope.unwrap_or(s),
        outputs.residual.unwrap_or(s),
    ];
    let p = GemmParams {
        flags: outputs.flags,
        ..p
    };
    let groups = gpu.groups_1d((4 * g.cout * tiles) as u64, 256);
    gpu.dispatch(program.main(), &views, &p, groups);
}

#[cfg(test)]
mod tests {
    use super::{A_T, B_T, G};
    use crate::rng::Rng;

    /// Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A is the 4x4 valid correlation of the 6x6 window d with the
    /// 3x3 kernel g, in f64, as the convolution's CPU reference computes it.
    #[test]
    fn the_transforms_compute_the_convolution() {
        let mut rng = Rng::new(7);
        for _ in 0..20 {
            let d: Vec<f64> = rng.vec(36, -1.0, 1.0);
            let g: Vec<f64> = rng.vec(9, -1.0, 1.0);
            // Bᵀ d B and G g Gᵀ.
            let mut v = [[0.0; 6]; 6];
            let mut u = [[0.0; 6]; 6];
            for i in 0..6 {
                for j in 0..6 {
                    for a in 0..6 {
                        for b in 0..6 {
                            v[i][j] += B_T[i][a] * d[6 * a + b] * B_T[j][b];
                        }
                    }
                    for a in 0..3 {
                        for b in 0..3 {
                            u[i][j] += G[i][a] * g[3 * a + b] * G[j][b];
                        }
                    }
                }
            }
            for y in 0..4 {
                for x in 0..4 {
                    let mut winograd = 0.0;
                    for i in 0..6 {
                        for j in 0..6 {
                            winograd += A_T[y][i] * u[i][j] * v[i][j] * A_T[x][j];
                        }
                    }
                    let direct: f64 = (0..9).map(|t| d[6 * (y + t / 3) + x + t % 3] * g[t]).sum();
                    assert!((winograd - direct).abs() < 1e-12, "{y} {x}");
                }
            }
        }
    }
}

//! The forward on software adapters (lavapipe, SwiftShader: a CPU runs the shader), where
//! what is fast differs from a GPU. Such a driver runs 8 invocations at once in the lanes of
//! CPU vector registers, so:
//!
//! - a load whose address differs between lanes costs a scalar load per lane, while one
//!   whose address depends only on the workgroup (the weights here) costs one load;
//! - an array indexed by a loop counter is kept in memory, a load and a store per use,
//!   unless the driver's compiler unrolls the loop, which it does only for small ones;
//! - a barrier switches between the workgroup's lanes, so staging tiles in workgroup memory
//!   does not pay.
//!
//! Here an invocation computes 32 output pixels of one row for 8 output channels (4 for
//! kernels wider than 3), in vec4 accumulators that stay in registers: for each input channel
//! and kernel row it loads the row's inputs once (34 for a 3x3 kernel), each used by up to 3
//! pixels, and each vec4 of weights once, used by 32 pixels. The loops over pixels and
//! channels must be unrolled, so `Block::main` writes the kernel's entry point out, statement
//! by statement, for the block's sizes; the rest is `shaders/conv_unrolled.wgsl`. The weights
//! are rearranged first so that one tap's output channels are consecutive
//! (`conv_unrolled_weights.wgsl`).
//!
//! On 2 cores with lavapipe, a 3x3 64 -> 64 convolution at 128x128 ran at 0.65 GFLOP/s as an
//! f32 matrix product, under 1.3 with a block like this one left as loops, 5-9 written out
//! (`benches/NOTES.md`).

use std::fmt::Write;

use super::{forward_windows, Geometry, Group};
use crate::gpu::Constant;
use crate::ops::programs::{CONV_FWD_UNROLLED, CONV_FWD_UNROLLED_WEIGHTS};
use crate::ops::u32_of;
use crate::tensor::Tensor;

/// Most inputs of one row an invocation loads (and keeps in registers).
const MAX_WINDOW: usize = 64;
/// Most vec4 accumulators of an invocation, and vec4 products it writes out per kernel row
/// (see `Block::of`).
const MAX_ACCUMULATORS: usize = 64;
const MAX_SUMS_PER_ROW: usize = 320;
/// Invocations per workgroup.
const WORKGROUP: usize = 64;

/// The work of one invocation, which fixes the written kernel: output pixels of one row,
/// vec4s of output channels, kernel width, stride. The other sizes are read from a uniform,
/// so that the layers of one block share a pipeline (each costs seconds to compile).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Block {
    pixels: u32,
    quads: u32,
    kw: u32,
    stride: u32,
}

impl Block {
    /// 32 pixels of a row (fewer for narrow images, or where the row's window would pass
    /// `MAX_WINDOW`) by 8 output channels, 4 where the kernel is wider than 3 (fewer if the
    /// layer has fewer). The driver's compile time grows faster than the kernel: on 2 cores
    /// with lavapipe 32 accumulators compiled in about 1 s, 64 in 6, 128 in 25-45 s (and
    /// ran 20% faster than 64).
    pub(crate) fn of(g: &Geometry) -> Block {
        let widest = (MAX_WINDOW.saturating_sub(g.kw) / g.stride + 1).max(1);
        let pixels = g.out_w.next_power_of_two().clamp(8, 32).min(widest);
        let quads = g
            .cout
            .div_ceil(4)
            .min(MAX_ACCUMULATORS / pixels)
            .min(MAX_SUMS_PER_ROW / (g.kw * pixels))
            .max(1);
        Block {
            pixels: u32_of(pixels),
            quads: u32_of(quads),
            kw: u32_of(g.kw),
            stride: u32_of(g.stride),
        }
    }

    /// Inputs of a row that the block's pixels read.
    fn window(&self) -> u32 {
        (self.pixels - 1) * self.stride + self.kw
    }

    /// The entry point `main` for this block, written out: accumulator `a{i}_{q}` holds
    /// pixel i's channels 4 q .. 4 q + 3, input `x{j}` is column j of the row's window, and
    /// `w{kx}_{q}` the weights of tap kx for channels 4 q .. 4 q + 3.
    fn main(&self) -> String {
        let Block {
            pixels,
            quads,
            kw,
            stride,
        } = *self;
        let mut s = String::new();
        let mut line = |text: String| {
            s.push_str(&text);
            s.push('\n');
        };
        line(format!(
            "// Written by conv/unrolled.rs: {pixels} pixels, {quads} vec4s of channels, \
             kernel width {kw}, stride {stride}.\n\
             const PIXELS = {pixels}u;\nconst QUADS = {quads}u;\n\
             @compute @workgroup_size({WORKGROUP})\n\
             fn main(@builtin(global_invocation_id) gid: vec3<u32>, \
             @builtin(workgroup_id) wg: vec3<u32>) {{\n  \
             let at = place(gid.x, wg);\n  \
             if (!at.valid) {{ return; }}\n  \
             let rq = row_quads();"
        ));
        for i in 0..pixels {
            line(statements(
                2,
                (0..quads).map(|q| format!("var a{i}_{q} = vec4<f32>(0.0);")),
            ));
        }
        line(
            "  for (var ci = 0u; ci < p.cin; ci++) {\n    \
             for (var ky = 0u; ky < p.kh; ky++) {\n      \
             let r = input_row(at, ci, ky);\n      \
             let wr = weight_row(at, ci, ky);"
                .into(),
        );
        for j in (0..self.window()).step_by(8) {
            let end = (j + 8).min(self.window());
            line(statements(
                6,
                (j..end).map(|j| format!("let x{j} = input(r, {j});")),
            ));
        }
        for kx in 0..kw {
            for q in 0..quads {
                let load = format!("let w{kx}_{q} = w[wr + {kx}u * rq + {q}u];");
                let sums =
                    (0..pixels).map(|i| format!("a{i}_{q} += x{} * w{kx}_{q};", i * stride + kx));
                line(statements(6, std::iter::once(load).chain(sums)));
            }
        }
        line("    }\n  }".into());
        for i in 0..pixels {
            line(statements(
                2,
                (0..quads).map(|q| format!("store(at, {i}u, {q}u, a{i}_{q});")),
            ));
        }
        line("}".into());
        s
    }
}

/// Statements on one line of the written kernel, `indent` spaces in.
fn statements(indent: usize, parts: impl Iterator<Item = String>) -> String {
    let mut s = " ".repeat(indent - 1);
    for part in parts {
        write!(s, " {part}").expect("writing to a String");
    }
    s
}

impl Constant for Block {
    fn words(&self) -> &[u32] {
        bytemuck::cast_slice(std::slice::from_ref(self))
    }
    fn declare(&self, name: &str) -> String {
        assert_eq!(name, "main", "an unrolled block declares the entry point");
        self.main()
    }
}

pub(super) fn forward(
    g: &Geometry,
    group: &Group,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
) {
    let gpu = x.gpu();
    let block = Block::of(g);
    let taps = g.cin * g.kh * g.kw;
    let row_quads = g.cout.div_ceil(4 * block.quads as usize) * block.quads as usize;
    let wt = Tensor::uninit(gpu, &[taps * 4 * row_quads]);
    let p = g.params(1, wt.numel(), 0, (0, 0));
    let groups = gpu.groups_1d(wt.numel() as u64, 256);
    gpu.dispatch(
        CONV_FWD_UNROLLED_WEIGHTS.main(),
        &[w.view(), wt.view()],
        &p,
        groups,
    );

    let (xv, yv, p) = forward_windows(g, group, x, y, bias.is_some(), 0);
    let invocations = g.out_h * g.out_w.div_ceil(block.pixels as usize);
    let groups = [
        u32_of(invocations.div_ceil(WORKGROUP)),
        u32_of(row_quads) / block.quads,
        u32_of(group.count),
    ];
    let views = [xv, wt.view(), bias.unwrap_or(&wt).view(), yv];
    let kernel = CONV_FWD_UNROLLED.main();
    gpu.dispatch_specialized_with(kernel, &[("main", &block)], &views, &p, groups);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two pixels at stride 2 of a 2-wide kernel read inputs 0-1 and 2-3 of the row.
    #[test]
    fn the_written_kernel_reads_each_input_once_per_row() {
        let g = Geometry::new(&[1, 2, 5, 5], &[3, 2, 2, 2], 2, 0);
        let block = Block {
            pixels: 2,
            ..Block::of(&g)
        };
        let text = block.main();
        let body: Vec<&str> = text.lines().skip(8).collect();
        assert_eq!(
            body,
            [
                "  var a0_0 = vec4<f32>(0.0);",
                "  var a1_0 = vec4<f32>(0.0);",
                "  for (var ci = 0u; ci < p.cin; ci++) {",
                "    for (var ky = 0u; ky < p.kh; ky++) {",
                "      let r = input_row(at, ci, ky);",
                "      let wr = weight_row(at, ci, ky);",
                "      let x0 = input(r, 0); let x1 = input(r, 1); let x2 = input(r, 2); \
                 let x3 = input(r, 3);",
                "      let w0_0 = w[wr + 0u * rq + 0u]; a0_0 += x0 * w0_0; a1_0 += x2 * w0_0;",
                "      let w1_0 = w[wr + 1u * rq + 0u]; a0_0 += x1 * w1_0; a1_0 += x3 * w1_0;",
                "    }",
                "  }",
                "  store(at, 0u, 0u, a0_0);",
                "  store(at, 1u, 0u, a1_0);",
                "}",
            ]
        );
    }

    /// SRGAN's layers: 3x3 ones take 32 pixels by 8 channels, 9x9 ones 32 by 4, a 24-pixel
    /// row 32 pixels (the last 8 are not stored), AlexNet's 11x11 at stride 4 a window of 63.
    #[test]
    fn blocks_bound_the_accumulators() {
        let block = |x: [usize; 4], w: [usize; 4], stride| {
            let b = Block::of(&Geometry::new(&x, &w, stride, w[2] / 2));
            (b.pixels, b.quads, b.window())
        };
        assert_eq!(block([1, 64, 128, 128], [64, 64, 3, 3], 1), (32, 2, 34));
        assert_eq!(block([1, 64, 128, 128], [256, 64, 3, 3], 1), (32, 2, 34));
        assert_eq!(block([1, 3, 128, 128], [64, 3, 9, 9], 1), (32, 1, 40));
        assert_eq!(block([1, 64, 512, 512], [3, 64, 9, 9], 1), (32, 1, 40));
        assert_eq!(block([16, 64, 24, 24], [64, 64, 3, 3], 1), (32, 2, 34));
        assert_eq!(block([1, 64, 6, 6], [64, 64, 3, 3], 1), (8, 8, 10));
        assert_eq!(block([1, 3, 224, 224], [64, 3, 11, 11], 4), (14, 2, 63));
    }
}

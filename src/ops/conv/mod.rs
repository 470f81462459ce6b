//! 2-D convolution: NCHW input, PyTorch's weight layout \[Cout, Cin, KH, KW\], zero padding,
//! any stride, optional bias; the forward, the input and weight gradients, and the bias
//! gradient (a per-channel sum of dy, `reduce::channel_sum`).
//!
//! Each of the three can run on several paths, read in this order:
//!
//! - `cpu.rs`: the reference in f64, one loop for all three, that every path is held to;
//! - `naive.rs`: that loop in WGSL, one invocation per output value (`--kernels naive`);
//! - `plan.rs`: `plan`, the one function that chooses a path for a convolution;
//! - `direct.rs`: kernels for at most 4 output channels (SRGAN's last layer), which walk
//!   input windows staged in workgroup memory;
//! - `unrolled.rs`: the forward on software adapters (a CPU runs the shader), a kernel
//!   written out for its sizes;
//! - `gemm.rs`: the convolution as an implicit matrix product (`ops::gemm`), on tiles in f32
//!   or f16 arithmetic, or on tensor cores in f16;
//! - `winograd.rs`: 3x3 convolutions at stride 1 in f32 with a quarter of the multiplies,
//!   by Winograd's F(4x4, 3x3).
//!
//! A batch larger than one storage binding is processed a group of images at a time.

pub mod cpu;
mod direct;
pub(crate) mod gemm;
mod naive;
mod plan;
pub(crate) mod unrolled;
mod winograd;

pub(crate) use plan::{plan, Direct, Group, Pass, Strategy};

use super::gemm::GemmParams;
use super::{reduce, u32_of, Target};
use crate::gpu::View;
use crate::tensor::Tensor;

crate::params! {
    /// The parameters of the naive and direct convolution kernels: the values a dispatch
    /// writes (`outputs`), its images, the geometry, the flags, and where x's and y's (or
    /// dy's) windows start in their bindings.
    pub(crate) struct ConvParams {
        outputs: u32, images: u32, cin: u32, height: u32, width: u32, cout: u32,
        out_h: u32, out_w: u32, kh: u32, kw: u32, stride: u32, pad: u32,
        flags: u32, x_base: u32, y_base: u32,
    }
    consts {
        /// Add the bias.
        FLAG_BIAS = 1,
        /// Add to the output instead of writing over it.
        FLAG_ACCUMULATE = 4,
    }
}

/// A convolution's shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub batch: usize,
    pub cin: usize,
    pub height: usize,
    pub width: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Geometry {
    pub(crate) fn new(x_shape: &[usize], w_shape: &[usize], stride: usize, pad: usize) -> Self {
        let [batch, cin, height, width] = x_shape[..] else {
            panic!("conv2d: input must be NCHW, got {x_shape:?}")
        };
        let [cout, wcin, kh, kw] = w_shape[..] else {
            panic!("conv2d: weight must be [Cout, Cin, KH, KW], got {w_shape:?}")
        };
        assert_eq!(
            cin, wcin,
            "conv2d: input has {cin} channels, weight expects {wcin}"
        );
        assert!(stride >= 1, "conv2d: stride must be at least 1");
        assert!(
            height + 2 * pad >= kh && width + 2 * pad >= kw,
            "conv2d: {height}x{width} input is smaller than the {kh}x{kw} kernel"
        );
        let (out_h, out_w) = cpu::out_size(height, width, (kh, kw), stride, pad);
        Geometry {
            batch,
            cin,
            height,
            width,
            cout,
            kh,
            kw,
            stride,
            pad,
            out_h,
            out_w,
        }
    }

    /// Values of one image of x and of y.
    pub(crate) fn in_size(&self) -> usize {
        self.cin * self.height * self.width
    }

    pub(crate) fn out_size(&self) -> usize {
        self.cout * self.out_h * self.out_w
    }

    fn y_shape(&self) -> [usize; 4] {
        [self.batch, self.cout, self.out_h, self.out_w]
    }

    /// The parameters of a matrix product of this convolution, C\[M, N\] = A\[M, K\] B\[K, N\]
    /// of sizes `(m, n, k)`: sizes and geometry, bases and flags 0.
    pub(crate) fn gemm_params(&self, (m, n, k): (usize, usize, usize)) -> GemmParams {
        GemmParams {
            m: u32_of(m),
            n: u32_of(n),
            k: u32_of(k),
            cin: u32_of(self.cin),
            height: u32_of(self.height),
            width: u32_of(self.width),
            cout: u32_of(self.cout),
            out_h: u32_of(self.out_h),
            out_w: u32_of(self.out_w),
            kh: u32_of(self.kh),
            kw: u32_of(self.kw),
            stride: u32_of(self.stride),
            pad: u32_of(self.pad),
            ..Default::default()
        }
    }

    /// The parameters of the naive and direct kernels for `images` images whose x and y
    /// windows start at elements `x_base` and `y_base`.
    pub(crate) fn params(
        &self,
        images: usize,
        outputs: usize,
        flags: u32,
        bases: (usize, usize),
    ) -> ConvParams {
        ConvParams {
            outputs: u32_of(outputs),
            images: u32_of(images),
            cin: u32_of(self.cin),
            height: u32_of(self.height),
            width: u32_of(self.width),
            cout: u32_of(self.cout),
            out_h: u32_of(self.out_h),
            out_w: u32_of(self.out_w),
            kh: u32_of(self.kh),
            kw: u32_of(self.kw),
            stride: u32_of(self.stride),
            pad: u32_of(self.pad),
            flags,
            x_base: u32_of(bases.0),
            y_base: u32_of(bases.1),
        }
    }
}

/// A forward's windows of x and y for `group`, and its parameters: `outputs` values written,
/// the bias added where there is one. The naive, direct and unrolled kernels share them.
pub(crate) fn forward_windows<'a>(
    g: &Geometry,
    group: &Group,
    x: &'a Tensor,
    y: &'a Tensor,
    bias: bool,
    outputs: usize,
) -> (View<'a>, View<'a>, ConvParams) {
    let (xv, x_base) = x.window(group.first * g.in_size(), group.count * g.in_size());
    let (yv, y_base) = y.window(group.first * g.out_size(), group.count * g.out_size());
    let flags = if bias { ConvParams::FLAG_BIAS } else { 0 };
    let p = g.params(group.count, outputs, flags, (x_base, y_base));
    (xv, yv, p)
}

/// What follows a convolution in an inference network, applied to its output in this order
/// before it is stored: a residual added (a tensor of the output's shape), PReLU with one
/// slope per channel, pixel shuffle x2 (with PReLU: the slopes of the shuffled channels),
/// tanh. The matrix products do it in their store, so these layers cost no pass of their
/// own; the other paths run the ops after (`plan` says which).
#[derive(Clone, Copy, Default)]
pub struct Epilogue<'a> {
    pub residual: Option<&'a Tensor>,
    pub prelu: Option<&'a Tensor>,
    pub shuffle: bool,
    pub tanh: bool,
}

impl Epilogue<'_> {
    /// The flags of a store (`shaders/gemm_store.wgsl`) that adds the bias (`bias`) and runs
    /// these layers.
    fn flags(&self, bias: bool) -> u32 {
        use crate::ops::gemm::GemmParams as P;
        let bit = |on: bool, flag: u32| if on { flag } else { 0 };
        bit(bias, P::FLAG_BIAS)
            | bit(self.residual.is_some(), P::FLAG_RESIDUAL)
            | bit(self.prelu.is_some(), P::FLAG_PRELU)
            | bit(self.shuffle, P::FLAG_SHUFFLE)
            | bit(self.tanh, P::FLAG_TANH)
    }

    fn is_empty(&self) -> bool {
        self.residual.is_none() && self.prelu.is_none() && !self.shuffle && !self.tanh
    }

    /// The same layers as separate ops on a convolution's output `y`.
    fn apply(&self, y: Tensor) -> Tensor {
        let mut y = y;
        if let Some(r) = self.residual {
            y = super::elementwise::add(&y, r);
        }
        if self.shuffle {
            y = super::pixel_shuffle::pixel_shuffle(&y, 2);
        }
        if let Some(s) = self.prelu {
            y = super::prelu::prelu(&y, s);
        }
        if self.tanh {
            y = super::elementwise::tanh(&y);
        }
        y
    }

    fn check(&self, g: &Geometry) {
        if let Some(r) = self.residual {
            assert_eq!(r.shape(), g.y_shape(), "conv2d: residual of another shape");
        }
        if self.shuffle {
            assert!(
                g.cout.is_multiple_of(4),
                "conv2d: pixel shuffle needs 4n channels"
            );
        }
        if let Some(s) = self.prelu {
            let channels = if self.shuffle { g.cout / 4 } else { g.cout };
            assert_eq!(
                s.shape(),
                [channels],
                "conv2d: PReLU needs {channels} slopes"
            );
        }
    }
}

pub fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, stride: usize, pad: usize) -> Tensor {
    conv2d_fused(x, w, bias, stride, pad, &Epilogue::default())
}

/// A convolution and the layers after it (see `Epilogue`), for inference.
pub fn conv2d_fused(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    stride: usize,
    pad: usize,
    epilogue: &Epilogue,
) -> Tensor {
    let g = Geometry::new(x.shape(), w.shape(), stride, pad);
    if let Some(b) = bias {
        assert_eq!(
            b.shape(),
            [g.cout],
            "conv2d: bias must have {} values",
            g.cout
        );
    }
    epilogue.check(&g);
    let gpu = x.gpu();
    let plan = plan(Pass::Forward, &g, !epilogue.is_empty(), &Target::of(gpu));
    let y = Tensor::uninit(gpu, &g.y_shape());
    let fused = if plan.fused {
        *epilogue
    } else {
        Epilogue::default()
    };
    for group in &plan.groups {
        match plan.strategy {
            Strategy::Naive => naive::forward(&g, group, x, w, bias, &y),
            Strategy::Direct(kind) => direct::forward(kind, &g, group, x, w, bias, &y),
            Strategy::Unrolled => unrolled::forward(&g, group, x, w, bias, &y),
            Strategy::GemmTiled(..) | Strategy::GemmF16 => {
                gemm::forward(plan.strategy, &g, group, x, w, bias, &fused, &y)
            }
            Strategy::Winograd => winograd::forward(&g, group, (x, w, bias), &fused, &y),
        }
    }
    if !plan.fused {
        return epilogue.apply(y);
    }
    if epilogue.shuffle {
        return y.reshape(&[g.batch, g.cout / 4, 2 * g.out_h, 2 * g.out_w]);
    }
    y
}

/// dL/dx from dL/dy.
pub fn conv2d_backward_input(
    dy: &Tensor,
    w: &Tensor,
    x_shape: &[usize],
    stride: usize,
    pad: usize,
) -> Tensor {
    let g = Geometry::new(x_shape, w.shape(), stride, pad);
    assert_eq!(
        dy.shape(),
        g.y_shape(),
        "conv2d backward: dy has the wrong shape"
    );
    let gpu = dy.gpu();
    let plan = plan(Pass::BackwardInput, &g, false, &Target::of(gpu));
    let dx = Tensor::uninit(gpu, x_shape);
    if plan::is_gemm(plan.strategy) && gemm::input_gaps(&g) {
        dx.clear();
    }
    for group in &plan.groups {
        match plan.strategy {
            Strategy::Naive => naive::backward_input(&g, group, dy, w, &dx),
            Strategy::GemmTiled(..) | Strategy::GemmF16 => {
                gemm::backward_input(plan.strategy, &g, group, dy, w, &dx)
            }
            Strategy::Winograd => winograd::backward_input(&g, group, dy, w, &dx),
            Strategy::Direct(_) | Strategy::Unrolled => {
                unreachable!("{:?} is a forward", plan.strategy)
            }
        }
    }
    dx
}

/// dL/dw from dL/dy and the forward input.
pub fn conv2d_backward_weight(
    dy: &Tensor,
    x: &Tensor,
    w_shape: &[usize],
    stride: usize,
    pad: usize,
) -> Tensor {
    let g = Geometry::new(x.shape(), w_shape, stride, pad);
    assert_eq!(
        dy.shape(),
        g.y_shape(),
        "conv2d backward: dy has the wrong shape"
    );
    let gpu = x.gpu();
    let plan = plan(Pass::BackwardWeight, &g, false, &Target::of(gpu));
    let dw = Tensor::uninit(gpu, w_shape);
    // Each group of images after the first adds its share to dw.
    for (i, group) in plan.groups.iter().enumerate() {
        let accumulate = i > 0;
        match plan.strategy {
            Strategy::Naive => naive::backward_weight(&g, group, dy, x, &dw, accumulate),
            Strategy::Direct(_) => direct::backward_weight(&g, group, dy, x, &dw, accumulate),
            Strategy::Unrolled | Strategy::Winograd => {
                unreachable!("{:?} has no weight gradient", plan.strategy)
            }
            Strategy::GemmTiled(..) | Strategy::GemmF16 => {
                gemm::backward_weight(plan.strategy, &g, group, dy, x, &dw, accumulate)
            }
        }
    }
    dw
}

/// dL/dbias: the sum of dy over batch and pixels.
pub fn conv2d_backward_bias(dy: &Tensor) -> Tensor {
    let (n, c, h, w) = dy.nchw();
    reduce::channel_sum(dy, n, c, h * w)
}

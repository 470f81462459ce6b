//! 2-D convolution, NCHW input, PyTorch's weight layout [Cout, Cin, KH, KW], zero padding,
//! any stride, optional bias: forward and the two backwards, each an implicit matrix product
//! on `shaders/gemm.wgsl` (see `shaders/conv_*.wgsl` for each mapping). The bias gradient is
//! a per-channel sum of dy (`reduce::channel_sum`).
//!
//! Batches larger than one storage binding are processed a group of images at a time.

use super::gemm::{
    self, Mode, Params, FLAG_ACCUMULATE, FLAG_BIAS, FLAG_PRELU, FLAG_RESIDUAL, FLAG_SHUFFLE,
    FLAG_SPLIT, FLAG_TANH,
};
use super::u32_of;
use super::{reduce, wgsl};
use crate::gpu::{Gpu, Kernel, Specialized};
use crate::tensor::Tensor;

crate::uniform! {
    /// `Params` of the direct kernels (`shaders/conv_direct_params.wgsl`).
    struct DirectParams {
        pixels: u32, cin: u32, height: u32, width: u32,
        cout: u32, out_h: u32, out_w: u32, k: u32,
        stride: u32, pad: u32, has_bias: u32, x_base: u32,
        y_base: u32, _pad: [u32; 3],
    }
}

impl DirectParams {
    /// The WGSL header of a specialised direct kernel: these parameters as the constant p,
    /// and the kernel side K.
    fn header(&self, k: usize) -> String {
        let words: &[u32] = bytemuck::cast_slice(std::slice::from_ref(self));
        let fields: Vec<String> = words.iter().map(|v| format!("{v}u")).collect();
        format!(
            "const p = Params({});\nconst K = {k}u;\n",
            fields.join(", ")
        )
    }
}

/// Geometry shared by the three kernels.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    batch: usize,
    cin: usize,
    height: usize,
    width: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    pad: usize,
    out_h: usize,
    out_w: usize,
}

impl Geometry {
    fn new(x_shape: &[usize], w_shape: &[usize], stride: usize, pad: usize) -> Geometry {
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
        let out_h = (height + 2 * pad - kh) / stride + 1;
        let out_w = (width + 2 * pad - kw) / stride + 1;
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

    fn params(&self) -> Params {
        Params {
            cin: self.cin,
            height: self.height,
            width: self.width,
            cout: self.cout,
            out_h: self.out_h,
            out_w: self.out_w,
            kh: self.kh,
            kw: self.kw,
            stride: self.stride,
            pad: self.pad,
            ..Default::default()
        }
    }

    /// Whether the direct kernels take this convolution (see `DIRECT_MAX_COUT`).
    fn direct(&self) -> bool {
        self.cout <= DIRECT_MAX_COUT
            && self.kh == self.kw
            && self.kh <= 11
            && 15 * self.stride + self.kh <= 48
    }

    /// The parameter block of the direct kernels (`shaders/conv_direct*.wgsl`,
    /// `conv_bwd_weight_direct.wgsl`).
    fn direct_params(&self, has_bias: bool, x_base: usize, y_base: usize) -> DirectParams {
        let u = |v: usize| u32::try_from(v).expect("conv2d: size past 2^32");
        DirectParams {
            pixels: 0,
            cin: u(self.cin),
            height: u(self.height),
            width: u(self.width),
            cout: u(self.cout),
            out_h: u(self.out_h),
            out_w: u(self.out_w),
            k: u(self.kh),
            stride: u(self.stride),
            pad: u(self.pad),
            has_bias: has_bias as u32,
            x_base: u(x_base),
            y_base: u(y_base),
            _pad: [0; 3],
        }
    }

    fn in_size(&self) -> usize {
        self.cin * self.height * self.width
    }

    fn out_size(&self) -> usize {
        self.cout * self.out_h * self.out_w
    }

    /// Groups of consecutive images, (first, count), whose input and output each fit one
    /// binding together with the alignment slack of `Tensor::window`.
    fn image_groups(&self, gpu: &Gpu) -> Vec<(usize, usize)> {
        let align = gpu.align_elements();
        let room = gpu.max_binding() as usize / 4 - align;
        let per_image = self.in_size().max(self.out_size());
        assert!(per_image <= room, "conv2d: one image of {per_image} values is larger than a storage binding; upscale in tiles");
        let per_group = (room / per_image).max(1);
        (0..self.batch)
            .step_by(per_group)
            .map(|i| (i, per_group.min(self.batch - i)))
            .collect()
    }
}

pub fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, stride: usize, pad: usize) -> Tensor {
    conv2d_fused(x, w, bias, stride, pad, &Epilogue::default())
}

/// What follows a convolution in an inference network, applied to its output in this order
/// before it is stored: a residual added (a tensor of the output's shape), PReLU with one
/// slope per channel, pixel shuffle x2 (with PReLU: the slopes of the shuffled channels),
/// tanh. The matrix-product kernels do it in their store, so these layers cost no pass of
/// their own; the direct kernels, and software adapters, run the ops after.
#[derive(Clone, Copy, Default)]
pub struct Epilogue<'a> {
    pub residual: Option<&'a Tensor>,
    pub prelu: Option<&'a Tensor>,
    pub shuffle: bool,
    pub tanh: bool,
}

impl Epilogue<'_> {
    fn flags(&self) -> u32 {
        let bit = |on: bool, flag: u32| if on { flag } else { 0 };
        bit(self.residual.is_some(), FLAG_RESIDUAL)
            | bit(self.prelu.is_some(), FLAG_PRELU)
            | bit(self.shuffle, FLAG_SHUFFLE)
            | bit(self.tanh, FLAG_TANH)
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
    let y_shape = [g.batch, g.cout, g.out_h, g.out_w];
    if let Some(r) = epilogue.residual {
        assert_eq!(r.shape(), y_shape, "conv2d: residual of another shape");
    }
    if epilogue.shuffle {
        assert!(
            g.cout.is_multiple_of(4),
            "conv2d: pixel shuffle needs 4n channels"
        );
    }
    if let Some(s) = epilogue.prelu {
        let channels = if epilogue.shuffle { g.cout / 4 } else { g.cout };
        assert_eq!(
            s.shape(),
            [channels],
            "conv2d: PReLU needs {channels} slopes"
        );
    }
    let gpu = x.gpu();
    let y = Tensor::uninit(gpu, &y_shape);
    if g.direct() {
        conv2d_direct(&g, x, w, bias, &y);
        return epilogue.apply(y);
    }
    if gpu.is_software() && epilogue.flags() != 0 {
        // lavapipe runs every branch of the fused store: there the separate ops are faster
        // (a 48x48 upscale on 2 cores: 35.3 s fused, 28.7 s separate).
        return epilogue.apply(conv2d(x, w, bias, stride, pad));
    }
    for (first, count) in g.image_groups(gpu) {
        let (xv, x_base) = x.window(first * g.in_size(), count * g.in_size());
        let (yv, y_base) = y.window(first * g.out_size(), count * g.out_size());
        let p = Params {
            m: g.cout,
            n: g.out_h * g.out_w,
            k: g.cin * g.kh * g.kw,
            b_base: x_base,
            c_base: y_base,
            flags: if bias.is_some() { FLAG_BIAS } else { 0 } | epilogue.flags(),
            ..g.params()
        };
        let bias_view = bias.unwrap_or(w).view();
        let mut views = gemm::operands(w.view(), xv, bias_view, yv);
        if let Some(s) = epilogue.prelu {
            views[4] = s.view();
        }
        if let Some(r) = epilogue.residual {
            // The same window as y's: the kernel reads it at y's indices.
            views[5] = r.window(first * g.out_size(), count * g.out_size()).0;
        }
        gemm::launch(gpu, Mode::ConvForward, views, p, count);
    }
    if epilogue.shuffle {
        return y.reshape(&[g.batch, g.cout / 4, 2 * g.out_h, 2 * g.out_w]);
    }
    y
}

/// Convolutions with at most this many output channels run `shaders/conv_direct_rows.wgsl`
/// at stride 1, `conv_direct_tiled.wgsl` at others (`conv_direct.wgsl` on software adapters) and `shaders/conv_bwd_weight_direct.wgsl` (square
/// kernels of at most 11 taps whose 16x16 output block sees a window of at most 48 pixels).
const DIRECT_MAX_COUT: usize = 4;

fn conv2d_direct(g: &Geometry, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, y: &Tensor) {
    let gpu = x.gpu();
    if !gpu.is_software() && g.stride == 1 && rows_kernel_fits(gpu, g.kh) {
        conv2d_direct_rows(g, x, w, bias, y);
        return;
    }
    let software = gpu.is_software();
    let kernel = if software {
        Kernel {
            name: "conv_direct",
            entry: "main",
            source: wgsl!("conv_direct_params", "conv_direct_fwd", "conv_direct"),
            trusted: true,
        }
    } else {
        Kernel {
            name: "conv_direct_tiled",
            entry: "main",
            source: wgsl!(
                "conv_direct_params",
                "conv_direct_fwd",
                "conv_direct_window",
                "conv_direct_tiled"
            ),
            trusted: true,
        }
    };
    for (first, count) in g.image_groups(gpu) {
        let (xv, x_base) = x.window(first * g.in_size(), count * g.in_size());
        let (yv, y_base) = y.window(first * g.out_size(), count * g.out_size());
        let mut p = g.direct_params(bias.is_some(), x_base, y_base);
        let views = [xv, w.view(), bias.unwrap_or(w).view(), yv];
        let groups = if software {
            let pixels = count * g.out_h * g.out_w;
            p.pixels = u32_of(pixels);
            gpu.groups_1d(pixels as u64, 256)
        } else {
            let blocks = |side: usize| u32_of(side.div_ceil(16));
            [blocks(g.out_w), blocks(g.out_h), u32_of(count)]
        };
        gpu.dispatch(&kernel, &views, &p, groups);
    }
}

/// Output block of `shaders/conv_direct_rows.wgsl`: rows, columns.
const ROWS_BLOCK: (usize, usize) = (16, 64);

/// Whether the rows kernel's input window fits `conv_direct_window.wgsl`'s 48x48 and its
/// workgroup memory (that window and the taps) this adapter.
fn rows_kernel_fits(gpu: &Gpu, k: usize) -> bool {
    let (bh, bw) = ROWS_BLOCK;
    let window = (bh - 1 + k) * (bw - 1 + k) <= 48 * 48;
    let bytes = 48 * 48 * 4 + k * k * 16;
    window && bytes as u64 <= gpu.limits().max_compute_workgroup_storage_size as u64
}

/// Stride 1 on hardware adapters: `shaders/conv_direct_rows.wgsl`, specialised to the layer.
fn conv2d_direct_rows(g: &Geometry, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, y: &Tensor) {
    let gpu = x.gpu();
    let kernel = Kernel {
        name: "conv_direct_rows",
        entry: "main",
        source: wgsl!(
            "conv_direct_params",
            "conv_direct_fwd",
            "conv_direct_window",
            "conv_direct_rows"
        ),
        trusted: true,
    };
    let (bh, bw) = ROWS_BLOCK;
    for (first, count) in g.image_groups(gpu) {
        let (xv, x_base) = x.window(first * g.in_size(), count * g.in_size());
        let (yv, y_base) = y.window(first * g.out_size(), count * g.out_size());
        let p = g.direct_params(bias.is_some(), x_base, y_base);
        let s = Specialized {
            kernel: &kernel,
            key: bytemuck::cast_slice(std::slice::from_ref(&p)),
            header: &|| p.header(g.kh),
        };
        let views = [xv, w.view(), bias.unwrap_or(w).view(), yv];
        let groups = [
            u32_of(g.out_w.div_ceil(bw)),
            u32_of(g.out_h.div_ceil(bh)),
            u32_of(count),
        ];
        gpu.dispatch_specialized(&s, &views, groups);
    }
}

/// The weight gradient through `shaders/conv_bwd_weight_direct.wgsl`: one slice per image,
/// added up by `reduce::sum_slices`.
fn conv2d_backward_weight_direct(g: &Geometry, dy: &Tensor, x: &Tensor, dw: &Tensor) {
    let gpu = x.gpu();
    let kernel = Kernel {
        name: "conv_bwd_weight_direct",
        entry: "main",
        source: wgsl!(
            "conv_direct_params",
            "conv_direct_window",
            "conv_bwd_weight_direct"
        ),
        trusted: true,
    };
    for (i, (first, count)) in g.image_groups(gpu).into_iter().enumerate() {
        let (xv, x_base) = x.window(first * g.in_size(), count * g.in_size());
        let (dyv, dy_base) = dy.window(first * g.out_size(), count * g.out_size());
        let partial = Tensor::uninit(gpu, &[count, dw.numel()]);
        let p = g.direct_params(false, x_base, dy_base);
        let groups = [u32_of(g.cin), u32_of(count), 1];
        let views = [xv, dyv, partial.view()];
        gpu.dispatch(&kernel, &views, &p, groups);
        reduce::sum_slices(&partial, count, dw, i > 0);
    }
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
        [g.batch, g.cout, g.out_h, g.out_w],
        "conv2d backward: dy has the wrong shape"
    );
    let gpu = dy.gpu();
    let dx = Tensor::uninit(gpu, x_shape);
    for (first, count) in g.image_groups(gpu) {
        let (dyv, dy_base) = dy.window(first * g.out_size(), count * g.out_size());
        let (dxv, dx_base) = dx.window(first * g.in_size(), count * g.in_size());
        let p = Params {
            m: g.cin,
            n: g.height * g.width,
            k: g.cout * g.kh * g.kw,
            b_base: dy_base,
            c_base: dx_base,
            ..g.params()
        };
        gemm::launch(
            gpu,
            Mode::ConvBackwardInput,
            gemm::operands(w.view(), dyv, w.view(), dxv),
            p,
            count,
        );
    }
    dx
}

/// Longest K slice of the weight gradient: a large batch spreads over many workgroups.
const K_PER_SLICE: usize = 4096;
/// Shortest K slice: shorter ones cost more in partial sums than they gain in spread.
const MIN_K_PER_SLICE: usize = 256;
/// Workgroups the weight gradient aims for, several per compute unit of a large GPU (an H100
/// has 132): a 64->64 layer has only 9 tiles of C, so without this a 24x24 batch of 16
/// (K = 9216) ran as 27 workgroups at 1.2 TFLOP/s.
const TARGET_WORKGROUPS: usize = 1024;

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
        [g.batch, g.cout, g.out_h, g.out_w],
        "conv2d backward: dy has the wrong shape"
    );
    let gpu = x.gpu();
    let dw = Tensor::uninit(gpu, w_shape);
    // On software adapters the thin GEMM tile below is faster (no barriers in the loop).
    if g.direct() && !gpu.is_software() {
        conv2d_backward_weight_direct(&g, dy, x, &dw);
        return dw;
    }
    let (m, n) = (g.cout, g.cin * g.kh * g.kw);
    let mode = if m <= 4 {
        Mode::ConvBackwardWeightThin
    } else {
        Mode::ConvBackwardWeight
    };
    let (tile_m, tile_n) = mode.tile(gpu, m);
    let tiles = m.div_ceil(tile_m) * n.div_ceil(tile_n);
    let groups = g.image_groups(gpu);
    for (i, &(first, count)) in groups.iter().enumerate() {
        let k = count * g.out_h * g.out_w;
        let max_slices = (gpu.max_binding() as usize / 4 / (m * n)).max(1);
        let slices = k
            .div_ceil(K_PER_SLICE)
            .max(TARGET_WORKGROUPS.div_ceil(tiles))
            .min(k / MIN_K_PER_SLICE)
            .clamp(1, max_slices.min(256));
        let k_per_z = k.div_ceil(slices).next_multiple_of(32);
        let slices = k.div_ceil(k_per_z);
        let (dyv, dy_base) = dy.window(first * g.out_size(), count * g.out_size());
        let (xv, x_base) = x.window(first * g.in_size(), count * g.in_size());
        let p = Params {
            m,
            n,
            k,
            a_base: dy_base,
            b_base: x_base,
            ..g.params()
        };
        // The bias binding is unused here (FLAG_BIAS off) but must be bound: dy again, since
        // a buffer may be bound twice for reading though never for reading and writing.
        if slices == 1 {
            let flags = if i > 0 { FLAG_ACCUMULATE } else { 0 };
            gemm::launch(
                gpu,
                mode,
                gemm::operands(dyv, xv, dyv, dw.view()),
                Params { flags, ..p },
                1,
            );
        } else {
            let partial = Tensor::uninit(gpu, &[slices, m * n]);
            let p = Params {
                k_per_z,
                flags: FLAG_SPLIT,
                ..p
            };
            let views = gemm::operands(dyv, xv, dyv, partial.view());
            gemm::launch(gpu, mode, views, p, slices);
            reduce::sum_slices(&partial, slices, &dw, i > 0);
        }
    }
    dw
}

/// dL/dbias: the sum of dy over batch and pixels.
pub fn conv2d_backward_bias(dy: &Tensor) -> Tensor {
    let (n, c, h, w) = dy.nchw();
    reduce::channel_sum(dy, n, c, h * w)
}

pub mod cpu {
    /// Output height and width.
    pub fn out_size(
        h: usize,
        w: usize,
        k: (usize, usize),
        stride: usize,
        pad: usize,
    ) -> (usize, usize) {
        (
            (h + 2 * pad - k.0) / stride + 1,
            (w + 2 * pad - k.1) / stride + 1,
        )
    }

    /// Calls f(x index, w index, y index) for every multiply-add of the convolution: forward
    /// and both backwards are the same loop with a different update.
    #[allow(clippy::too_many_arguments)]
    fn each_term(
        xs: [usize; 4],
        ws: [usize; 4],
        stride: usize,
        pad: usize,
        mut f: impl FnMut(usize, usize, usize),
    ) {
        let [n, cin, h, w] = xs;
        let [cout, _, kh, kw] = ws;
        let (oh, ow) = out_size(h, w, (kh, kw), stride, pad);
        for b in 0..n {
            for co in 0..cout {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let yi = ((b * cout + co) * oh + oy) * ow + ox;
                        for ci in 0..cin {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * stride + ky) as isize - pad as isize;
                                    let ix = (ox * stride + kx) as isize - pad as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    let xi = ((b * cin + ci) * h + iy as usize) * w + ix as usize;
                                    let wi = ((co * cin + ci) * kh + ky) * kw + kx;
                                    f(xi, wi, yi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    pub fn conv2d(
        x: &[f64],
        xs: [usize; 4],
        w: &[f64],
        ws: [usize; 4],
        bias: Option<&[f64]>,
        stride: usize,
        pad: usize,
    ) -> Vec<f64> {
        let (oh, ow) = out_size(xs[2], xs[3], (ws[2], ws[3]), stride, pad);
        let mut y = vec![0.0; xs[0] * ws[0] * oh * ow];
        if let Some(b) = bias {
            for (i, v) in y.iter_mut().enumerate() {
                *v = b[(i / (oh * ow)) % ws[0]];
            }
        }
        each_term(xs, ws, stride, pad, |xi, wi, yi| y[yi] += x[xi] * w[wi]);
        y
    }

    /// (dx, dw, dbias)
    pub fn conv2d_backward(
        x: &[f64],
        xs: [usize; 4],
        w: &[f64],
        ws: [usize; 4],
        dy: &[f64],
        stride: usize,
        pad: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut dx = vec![0.0; x.len()];
        let mut dw = vec![0.0; w.len()];
        each_term(xs, ws, stride, pad, |xi, wi, yi| {
            dx[xi] += w[wi] * dy[yi];
            dw[wi] += x[xi] * dy[yi];
        });
        let (oh, ow) = out_size(xs[2], xs[3], (ws[2], ws[3]), stride, pad);
        let db = super::super::reduce::cpu::channel_sum(dy, xs[0], ws[0], oh * ow);
        (dx, dw, db)
    }
}

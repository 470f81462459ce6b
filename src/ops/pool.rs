//! Max pooling: a square window every `stride` pixels, no padding (VGG19's 2x2 every 2,
//! AlexNet's 3x3 every 2), and its backward: each output's gradient goes to the element that
//! was the maximum of its window (the first on ties), summed where windows overlap. A batch
//! larger than one storage binding is pooled a run of whole images at a time.

use super::programs::{MAXPOOL, MAXPOOL_BWD};
use super::{image_runs, images_view, u32_of};
use crate::tensor::Tensor;

crate::params! {
    /// The parameters of `shaders/maxpool.wgsl` and `maxpool_bwd.wgsl`.
    pub(crate) struct PoolParams {
        n: u32, height: u32, width: u32, window: u32, stride: u32, out_h: u32, out_w: u32,
    }
}

impl PoolParams {
    fn new(n: usize, x: &Tensor, window: usize, stride: usize) -> PoolParams {
        let (_, _, h, w) = x.nchw();
        let (oh, ow) = out_size(h, w, window, stride);
        PoolParams {
            n: u32_of(n),
            height: u32_of(h),
            width: u32_of(w),
            window: u32_of(window),
            stride: u32_of(stride),
            out_h: u32_of(oh),
            out_w: u32_of(ow),
        }
    }
}

/// The output's height and width (PyTorch's floor mode: edges that fit no window are dropped).
pub fn out_size(h: usize, w: usize, window: usize, stride: usize) -> (usize, usize) {
    assert!(
        window >= 1 && stride >= 1 && h >= window && w >= window,
        "max pool: a {window}x{window} window every {stride} does not fit {h}x{w}"
    );
    ((h - window) / stride + 1, (w - window) / stride + 1)
}

pub fn max_pool(x: &Tensor, window: usize, stride: usize) -> Tensor {
    let (n, c, h, w) = x.nchw();
    let (oh, ow) = out_size(h, w, window, stride);
    let y = Tensor::uninit(x.gpu(), &[n, c, oh, ow]);
    let gpu = x.gpu();
    for run in image_runs(n, &[x, &y]) {
        let len = run.1 * c * oh * ow;
        gpu.dispatch(
            MAXPOOL.main(),
            &[images_view(x, n, run), images_view(&y, n, run)],
            &PoolParams::new(len, x, window, stride),
            gpu.groups_1d(len as u64, 256),
        );
    }
    y
}

pub fn max_pool_backward(x: &Tensor, dy: &Tensor, window: usize, stride: usize) -> Tensor {
    let (n, c, h, w) = x.nchw();
    let (oh, ow) = out_size(h, w, window, stride);
    assert_eq!(
        dy.shape(),
        [n, c, oh, ow],
        "max pool backward: dy has the wrong shape"
    );
    let dx = Tensor::uninit(x.gpu(), x.shape());
    let gpu = x.gpu();
    for run in image_runs(n, &[x, dy]) {
        let len = run.1 * c * h * w;
        let views = [
            images_view(x, n, run),
            images_view(dy, n, run),
            images_view(&dx, n, run),
        ];
        gpu.dispatch(
            MAXPOOL_BWD.main(),
            &views,
            &PoolParams::new(len, x, window, stride),
            gpu.groups_1d(len as u64, 256),
        );
    }
    dx
}

pub mod cpu {
    /// (y, index in x of each output's maximum)
    pub fn max_pool(
        x: &[f64],
        planes: usize,
        (h, w): (usize, usize),
        window: usize,
        stride: usize,
    ) -> (Vec<f64>, Vec<usize>) {
        let (oh, ow) = super::out_size(h, w, window, stride);
        let mut y = Vec::new();
        let mut arg = Vec::new();
        for p in 0..planes {
            for oy in 0..oh {
                for ox in 0..ow {
                    let top = (p * h + oy * stride) * w + ox * stride;
                    let mut best = top;
                    for dy in 0..window {
                        for dx in 0..window {
                            let i = top + dy * w + dx;
                            if x[i] > x[best] {
                                best = i;
                            }
                        }
                    }
                    y.push(x[best]);
                    arg.push(best);
                }
            }
        }
        (y, arg)
    }

    pub fn max_pool_backward(
        x: &[f64],
        planes: usize,
        size: (usize, usize),
        window: usize,
        stride: usize,
        dy: &[f64],
    ) -> Vec<f64> {
        let (_, arg) = max_pool(x, planes, size, window, stride);
        let mut dx = vec![0.0; x.len()];
        for (o, &i) in arg.iter().enumerate() {
            dx[i] += dy[o];
        }
        dx
    }
}

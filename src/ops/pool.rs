//! Max pooling 2x2 with stride 2 (VGG19's), and its backward: the gradient goes to the
//! element that was the maximum of its window (the first on ties), zero elsewhere.

use super::{wgsl, Planes};
use crate::gpu::Kernel;
use crate::tensor::Tensor;

pub fn max_pool2(x: &Tensor) -> Tensor {
    let (n, c, h, w) = x.nchw();
    let y = Tensor::uninit(x.gpu(), &[n, c, h / 2, w / 2]);
    let k = Kernel {
        name: "maxpool",
        entry: "main",
        source: wgsl!("maxpool"),
        trusted: true,
    };
    let gpu = x.gpu();
    gpu.dispatch(
        &k,
        &[x.view(), y.view()],
        &Planes::new(y.numel(), h, w),
        gpu.groups_1d(y.numel() as u64, 256),
    );
    y
}

pub fn max_pool2_backward(x: &Tensor, dy: &Tensor) -> Tensor {
    let (n, c, h, w) = x.nchw();
    assert_eq!(
        dy.shape(),
        [n, c, h / 2, w / 2],
        "max_pool2 backward: dy has the wrong shape"
    );
    let dx = Tensor::uninit(x.gpu(), x.shape());
    let k = Kernel {
        name: "maxpool_bwd",
        entry: "main",
        source: wgsl!("maxpool_bwd"),
        trusted: true,
    };
    let gpu = x.gpu();
    let p = Planes::new(x.numel(), h, w);
    gpu.dispatch(
        &k,
        &[x.view(), dy.view(), dx.view()],
        &p,
        gpu.groups_1d(x.numel() as u64, 256),
    );
    dx
}

pub mod cpu {
    /// (y, index in x of each output's maximum)
    pub fn max_pool2(x: &[f64], planes: usize, h: usize, w: usize) -> (Vec<f64>, Vec<usize>) {
        let (oh, ow) = (h / 2, w / 2);
        let mut y = Vec::new();
        let mut arg = Vec::new();
        for p in 0..planes {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut best = (p * h + 2 * oy) * w + 2 * ox;
                    for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                        let i = (p * h + 2 * oy + dy) * w + 2 * ox + dx;
                        if x[i] > x[best] {
                            best = i;
                        }
                    }
                    y.push(x[best]);
                    arg.push(best);
                }
            }
        }
        (y, arg)
    }

    pub fn max_pool2_backward(
        x: &[f64],
        planes: usize,
        h: usize,
        w: usize,
        dy: &[f64],
    ) -> Vec<f64> {
        let (_, arg) = max_pool2(x, planes, h, w);
        let mut dx = vec![0.0; x.len()];
        for (o, &i) in arg.iter().enumerate() {
            dx[i] += dy[o];
        }
        dx
    }
}

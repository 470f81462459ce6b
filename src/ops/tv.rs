//! Total variation: the sum over every pair of horizontally or vertically neighbouring pixels
//! of their squared difference, an optional smoothness term of SRGAN's generator loss.

use super::programs::TV;
use super::{reduce, TvParams};
use crate::tensor::Tensor;

fn run(x: &Tensor, entry: &'static str) -> Tensor {
    let (_, _, h, w) = x.nchw();
    let out = Tensor::uninit(x.gpu(), x.shape());
    let k = TV.kernel(entry);
    let gpu = x.gpu();
    let p = TvParams::new(x.numel(), h, w);
    gpu.dispatch(
        k,
        &[x.view(), out.view()],
        &p,
        gpu.groups_1d(x.numel() as u64, 256),
    );
    out
}

/// The total variation of x [N, C, H, W], a one-element tensor.
pub fn total_variation(x: &Tensor) -> Tensor {
    reduce::sum(&run(x, "terms"), 1.0)
}

/// d total_variation / dx.
pub fn total_variation_backward(x: &Tensor) -> Tensor {
    run(x, "grad")
}

pub mod cpu {
    pub fn total_variation(x: &[f64], planes: usize, h: usize, w: usize) -> f64 {
        let mut t = 0.0;
        for p in 0..planes {
            for y in 0..h {
                for xx in 0..w {
                    let i = (p * h + y) * w + xx;
                    if xx + 1 < w {
                        t += (x[i + 1] - x[i]).powi(2);
                    }
                    if y + 1 < h {
                        t += (x[i + w] - x[i]).powi(2);
                    }
                }
            }
        }
        t
    }

    pub fn total_variation_backward(x: &[f64], planes: usize, h: usize, w: usize) -> Vec<f64> {
        let mut g = vec![0.0; x.len()];
        for p in 0..planes {
            for y in 0..h {
                for xx in 0..w {
                    let i = (p * h + y) * w + xx;
                    if xx + 1 < w {
                        let d = x[i + 1] - x[i];
                        g[i + 1] += 2.0 * d;
                        g[i] -= 2.0 * d;
                    }
                    if y + 1 < h {
                        let d = x[i + w] - x[i];
                        g[i + w] += 2.0 * d;
                        g[i] -= 2.0 * d;
                    }
                }
            }
        }
        g
    }
}

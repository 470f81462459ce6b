//! LPIPS' per-layer distance (Zhang et al. 2018): at each pixel, both images' feature vectors
//! scaled to unit length, their squared difference weighted by the layer's linear head and
//! summed over channels. The formulas and the backward's are in `shaders/lpips.wgsl`.

use super::programs::{LPIPS, LPIPS_BWD};
use super::u32_of;
use crate::tensor::Tensor;

crate::params! {
    /// The parameters of `shaders/lpips_common.wgsl`: pixels of all images, channels,
    /// pixels of one channel.
    pub(crate) struct LpipsParams { pixels: u32, channels: u32, plane: u32 }
}

fn params(f0: &Tensor, f1: &Tensor, w: &Tensor) -> LpipsParams {
    let (n, c, h, wd) = f0.nchw();
    assert_eq!(
        f0.shape(),
        f1.shape(),
        "lpips: the features differ in shape"
    );
    assert_eq!(
        w.shape(),
        [c],
        "lpips: the head needs one weight per channel"
    );
    LpipsParams {
        pixels: u32_of(n * h * wd),
        channels: u32_of(c),
        plane: u32_of(h * wd),
    }
}

/// `f0`, `f1` `[N, C, H, W]`, `w` `[C]` -> the distance at each pixel, `[N, 1, H, W]`.
pub fn distance(f0: &Tensor, f1: &Tensor, w: &Tensor) -> Tensor {
    let p = params(f0, f1, w);
    let (n, _, h, wd) = f0.nchw();
    let d = Tensor::uninit(f0.gpu(), &[n, 1, h, wd]);
    let k = LPIPS.kernel("distance");
    let gpu = f0.gpu();
    gpu.dispatch(
        k,
        &[f0.view(), f1.view(), w.view(), d.view()],
        &p,
        gpu.groups_1d(p.pixels as u64, 256),
    );
    d
}

/// The gradients of `distance` with respect to f0 and f1, given dd [N, 1, H, W].
pub fn distance_backward(f0: &Tensor, f1: &Tensor, w: &Tensor, dd: &Tensor) -> (Tensor, Tensor) {
    let p = params(f0, f1, w);
    let (n, _, h, wd) = f0.nchw();
    assert_eq!(
        dd.shape(),
        [n, 1, h, wd],
        "lpips backward: dd has the wrong shape"
    );
    let gpu = f0.gpu();
    let (df0, df1) = (
        Tensor::uninit(gpu, f0.shape()),
        Tensor::uninit(gpu, f0.shape()),
    );
    let k = LPIPS_BWD.main();
    gpu.dispatch(
        k,
        &[
            f0.view(),
            f1.view(),
            w.view(),
            dd.view(),
            df0.view(),
            df1.view(),
        ],
        &p,
        gpu.groups_1d(p.pixels as u64, 256),
    );
    (df0, df1)
}

pub mod cpu {
    const EPS: f64 = 1e-10;

    /// f0, f1 [N, C, plane] flat; -> d [N, plane].
    pub fn distance(f0: &[f64], f1: &[f64], w: &[f64], plane: usize) -> Vec<f64> {
        let c = w.len();
        let n = f0.len() / (c * plane);
        let mut d = vec![0.0; n * plane];
        for img in 0..n {
            for px in 0..plane {
                let at = |ch: usize| (img * c + ch) * plane + px;
                let len = |f: &[f64]| (0..c).map(|ch| f[at(ch)].powi(2)).sum::<f64>().sqrt();
                let (a0, a1) = (1.0 / (len(f0) + EPS), 1.0 / (len(f1) + EPS));
                d[img * plane + px] = (0..c)
                    .map(|ch| w[ch] * (f0[at(ch)] * a0 - f1[at(ch)] * a1).powi(2))
                    .sum();
            }
        }
        d
    }

    /// (df0, df1) given dd [N, plane].
    pub fn distance_backward(
        f0: &[f64],
        f1: &[f64],
        w: &[f64],
        plane: usize,
        dd: &[f64],
    ) -> (Vec<f64>, Vec<f64>) {
        let c = w.len();
        let n = f0.len() / (c * plane);
        let (mut df0, mut df1) = (vec![0.0; f0.len()], vec![0.0; f1.len()]);
        for img in 0..n {
            for px in 0..plane {
                let at = |ch: usize| (img * c + ch) * plane + px;
                let len = |f: &[f64]| (0..c).map(|ch| f[at(ch)].powi(2)).sum::<f64>().sqrt();
                let (l0, l1) = (len(f0), len(f1));
                let (a0, a1) = (1.0 / (l0 + EPS), 1.0 / (l1 + EPS));
                let g: Vec<f64> = (0..c)
                    .map(|ch| {
                        2.0 * w[ch] * (f0[at(ch)] * a0 - f1[at(ch)] * a1) * dd[img * plane + px]
                    })
                    .collect();
                // d a / d f_k = -a^2 f_k / |f| (none at a zero vector).
                let k = |f: &[f64], a: f64, l: f64| {
                    let proj: f64 = (0..c).map(|ch| g[ch] * f[at(ch)]).sum();
                    if l > 0.0 {
                        a * a / l * proj
                    } else {
                        0.0
                    }
                };
                let (k0, k1) = (k(f0, a0, l0), k(f1, a1, l1));
                for ch in 0..c {
                    df0[at(ch)] = a0 * g[ch] - k0 * f0[at(ch)];
                    df1[at(ch)] = -a1 * g[ch] + k1 * f1[at(ch)];
                }
            }
        }
        (df0, df1)
    }
}

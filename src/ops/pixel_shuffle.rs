//! Pixel shuffle by r (depth to space), PyTorch's channel order:
//! [N, C*r*r, H, W] -> [N, C, H*r, W*r], y[n, c, h*r + i, w*r + j] = x[n, c*r*r + i*r + j, h, w].
//! It only moves values, so its backward is the inverse move (space to depth) applied to dy.
//! A batch larger than one storage binding is moved a run of whole images at a time.

use super::programs::PIXEL_SHUFFLE;
use super::{image_runs, images_view, u32_of};
use crate::tensor::Tensor;

crate::params! {
    /// The parameters of `shaders/pixel_shuffle.wgsl`: n elements, the shuffled channels, the
    /// unshuffled height and width, the factor.
    pub(crate) struct ShuffleParams { n: u32, channels: u32, height: u32, width: u32, r: u32 }
}

impl ShuffleParams {
    fn new(n: usize, channels: usize, height: usize, width: usize, r: usize) -> ShuffleParams {
        ShuffleParams {
            n: u32_of(n),
            channels: u32_of(channels),
            height: u32_of(height),
            width: u32_of(width),
            r: u32_of(r),
        }
    }
}

pub fn pixel_shuffle(x: &Tensor, r: usize) -> Tensor {
    let (n, crr, h, w) = x.nchw();
    assert!(
        crr % (r * r) == 0,
        "pixel_shuffle: {crr} channels is not a multiple of {}",
        r * r
    );
    let c = crr / (r * r);
    let y = Tensor::uninit(x.gpu(), &[n, c, h * r, w * r]);
    move_images(x, &y, "shuffle", |n| ShuffleParams::new(n, c, h, w, r));
    y
}

/// The backward of `pixel_shuffle`: dy [N, C, H*r, W*r] -> dx [N, C*r*r, H, W].
pub fn pixel_unshuffle(dy: &Tensor, r: usize) -> Tensor {
    let (n, c, hr, wr) = dy.nchw();
    assert!(
        hr % r == 0 && wr % r == 0,
        "pixel_unshuffle: {hr}x{wr} is not a multiple of {r}"
    );
    let (h, w) = (hr / r, wr / r);
    let dx = Tensor::uninit(dy.gpu(), &[n, c * r * r, h, w]);
    move_images(dy, &dx, "unshuffle", |n| ShuffleParams::new(n, c, h, w, r));
    dx
}

/// Runs `kernel` ("shuffle" or "unshuffle") from `src` into `dst`, two tensors of as many
/// elements, one dispatch per run of whole images (`image_runs`), with `params` of the run's
/// element count.
fn move_images(
    src: &Tensor,
    dst: &Tensor,
    kernel: &'static str,
    params: impl Fn(usize) -> ShuffleParams,
) {
    let gpu = src.gpu();
    let images = src.nchw().0;
    let per_image = src.numel() / images.max(1);
    for run in image_runs(images, &[src, dst]) {
        let len = run.1 * per_image;
        let p = params(len);
        let views = [images_view(src, images, run), images_view(dst, images, run)];
        let groups = gpu.groups_1d(len as u64, 256);
        gpu.dispatch(PIXEL_SHUFFLE.kernel(kernel), &views, &p, groups);
    }
}

pub mod cpu {
    /// Index in x of each element of y, for x [n, c*r*r, h, w].
    fn sources(n: usize, c: usize, h: usize, w: usize, r: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(n * c * h * w * r * r);
        for b in 0..n {
            for ch in 0..c {
                for yo in 0..h * r {
                    for xo in 0..w * r {
                        let cin = ch * r * r + (yo % r) * r + xo % r;
                        out.push(((b * c * r * r + cin) * h + yo / r) * w + xo / r);
                    }
                }
            }
        }
        out
    }

    pub fn pixel_shuffle(x: &[f64], n: usize, c: usize, h: usize, w: usize, r: usize) -> Vec<f64> {
        sources(n, c, h, w, r).into_iter().map(|i| x[i]).collect()
    }

    pub fn pixel_shuffle_backward(
        dy: &[f64],
        n: usize,
        c: usize,
        h: usize,
        w: usize,
        r: usize,
    ) -> Vec<f64> {
        let mut dx = vec![0.0; dy.len()];
        for (o, i) in sources(n, c, h, w, r).into_iter().enumerate() {
            dx[i] += dy[o];
        }
        dx
    }
}

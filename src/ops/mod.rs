//! Kernels and their launches. One file (or folder) per op family: the Rust that checks
//! shapes and dispatches the WGSL programs of `shaders/` (each declared once, in `programs`),
//! and `mod cpu`, the plain-Rust f64 reference that the tests hold every kernel to. Ops here
//! work on `Tensor`s and know nothing of gradients; the autodiff tape (`crate::autograd`)
//! pairs them up. Convolutions and matrix products can run on several paths (`conv::plan`
//! chooses); every other op has one kernel.

pub mod batchnorm;
pub mod conv;
pub mod elementwise;
pub(crate) mod gemm;
pub mod linear;
pub mod lpips;
pub mod pixel_shuffle;
pub mod pool;
#[cfg(test)]
mod portability;
pub mod prelu;
pub(crate) mod programs;
pub mod reduce;
pub mod tv;

use crate::gpu::{Gpu, Kernels, View};
use crate::tensor::Tensor;

/// What the choice of a convolution's or product's kernels depends on: the kernels asked for
/// and the adapter's kind and limits. `Target::of` reads them from a GPU; tests make their own.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub kernels: Kernels,
    /// A software adapter (a CPU: lavapipe, SwiftShader), where barriers cost much and every
    /// side of a branch is run.
    pub software: bool,
    /// Bytes one storage binding may span.
    pub max_binding: u64,
    /// The storage offset alignment, in f32 elements.
    pub align: usize,
    /// Bytes of workgroup memory a kernel may use.
    pub workgroup_bytes: u32,
}

impl Target {
    pub fn of(gpu: &Gpu) -> Target {
        Target {
            kernels: gpu.kernels(),
            software: gpu.is_software(),
            max_binding: gpu.max_binding(),
            align: gpu.align_elements(),
            workgroup_bytes: gpu.limits().max_compute_workgroup_storage_size,
        }
    }
}

/// A size or index for a kernel's 32-bit parameters. Kernels index with u32; a tensor too
/// large for that must stop with a message, not wrap around and address the wrong memory.
pub(crate) fn u32_of(v: usize) -> u32 {
    u32::try_from(v).unwrap_or_else(|_| {
        panic!("{v} does not fit the 32-bit indices of the kernels: the tensor is too large for this op")
    })
}

/// Splits `n` elements into runs that each fit one storage binding and start at an aligned
/// element, for ops whose elements are independent: `(start, len)` pairs.
pub(crate) fn chunks(gpu: &Gpu, n: usize) -> Vec<(usize, usize)> {
    let align = gpu.align_elements();
    let max = (gpu.max_binding() as usize / 4) / align * align;
    (0..n.max(1))
        .step_by(max)
        .map(|s| (s, max.min(n - s)))
        .collect()
}

/// Splits a batch of `images` images, held by each of `tensors` (non-empty, image after
/// image), into runs of whole images, `(first, count)`, for ops that work within one image: in
/// every tensor a run fits one storage binding and starts at an aligned element, so that it can
/// be bound on its own (`images_view`) with no offset in the kernel. One run of all images
/// where they fit one binding, or where no aligned run does (binding them then stops with
/// `Tensor::view`'s message).
pub(crate) fn image_runs(images: usize, tensors: &[&Tensor]) -> Vec<(usize, usize)> {
    let gpu = tensors[0].gpu();
    let room = gpu.max_binding() as usize / 4;
    let align = gpu.align_elements();
    let sizes: Vec<usize> = tensors.iter().map(|t| t.numel() / images.max(1)).collect();
    let largest = sizes.iter().copied().max().unwrap_or(0).max(1);
    // A run of a multiple of `step` images ends, and so the next one starts, aligned in every
    // tensor.
    let step = sizes
        .iter()
        .map(|&s| align / gcd(s.max(1), align))
        .fold(1, |a, b| a / gcd(a, b) * b);
    let per_run = room / largest / step * step;
    if images * largest <= room || per_run == 0 {
        return vec![(0, images)];
    }
    (0..images)
        .step_by(per_run)
        .map(|i| (i, per_run.min(images - i)))
        .collect()
}

/// Images `first .. first + count` of `t`, a batch of `images`, as a binding: a run of
/// `image_runs` (which saw to its size and alignment) through `Tensor::range`, or, where the
/// run is the whole batch, the whole tensor through `Tensor::view`, which stops with a message
/// past the binding limit.
pub(crate) fn images_view(t: &Tensor, images: usize, (first, count): (usize, usize)) -> View<'_> {
    let per_image = t.numel() / images.max(1);
    if count == images {
        t.view()
    } else {
        t.range(first * per_image, count * per_image)
    }
}

/// A reduction over a batch larger than one binding: `reduce(run, out)` writes the sums over
/// one of `image_runs(images, tensors)`' runs into a fresh `out` of `shape`, and the runs'
/// sums are added up.
pub(crate) fn sum_over_image_runs(
    images: usize,
    tensors: &[&Tensor],
    shape: &[usize],
    reduce: impl Fn((usize, usize), &Tensor),
) -> Tensor {
    let mut total: Option<Tensor> = None;
    for run in image_runs(images, tensors) {
        let out = Tensor::uninit(tensors[0].gpu(), shape);
        reduce(run, &out);
        total = Some(match total {
            Some(sum) => elementwise::axpby(1.0, &sum, 1.0, &out),
            None => out,
        });
    }
    total.expect("image_runs gives at least one run")
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

crate::params! {
    /// The parameters of `shaders/unary.wgsl` and `binary.wgsl`: element count, flat index of
    /// the window's first element, and two scalars.
    pub(crate) struct Elementwise { n: u32, base: u32, alpha: f32, beta: f32 }
}

impl Elementwise {
    pub(crate) fn new(n: usize, base: usize, alpha: f32, beta: f32) -> Elementwise {
        Elementwise {
            n: u32_of(n),
            base: u32_of(base),
            alpha,
            beta,
        }
    }
}

crate::params! {
    /// The parameters of `shaders/tv.wgsl`: elements, and the planes' height and width.
    pub(crate) struct TvParams { n: u32, height: u32, width: u32 }
}

impl TvParams {
    pub(crate) fn new(n: usize, height: usize, width: usize) -> TvParams {
        TvParams {
            n: u32_of(n),
            height: u32_of(height),
            width: u32_of(width),
        }
    }
}

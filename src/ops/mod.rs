//! Kernels and their launches. One file per op family: the Rust that checks shapes and
//! dispatches the WGSL of the same name in `shaders/`, and, at the bottom, `mod cpu` with the
//! plain-Rust f64 reference that the tests hold the kernel to. Ops here work on `Tensor`s and
//! know nothing of gradients; the autodiff tape (`crate::autograd`) pairs them up.

pub mod batchnorm;
pub mod conv;
pub mod elementwise;
mod gemm;
mod gemm_mixed;
pub mod linear;
pub mod lpips;
pub mod pixel_shuffle;
pub mod pool;
pub mod prelu;
pub mod reduce;
pub mod tv;

use crate::gpu::Gpu;

/// The WGSL source of a kernel: `shaders/common.wgsl` followed by the named files.
macro_rules! wgsl {
    ($($file:literal),+) => {
        || {
            let mut s = String::from(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/common.wgsl")));
            $( s.push_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/", $file, ".wgsl"))); )+
            s
        }
    };
}
pub(crate) use wgsl;

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

crate::uniform! {
    /// `Params` of `shaders/unary.wgsl` and `binary.wgsl`: element count, flat index of the
    /// window's first element, and two scalars.
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

crate::uniform! {
    /// `Params` of `shaders/tv.wgsl`: elements, and the planes' height and width.
    pub(crate) struct Planes { n: u32, height: u32, width: u32, _pad: u32 }
}

impl Planes {
    pub(crate) fn new(n: usize, height: usize, width: usize) -> Planes {
        Planes {
            n: u32_of(n),
            height: u32_of(height),
            width: u32_of(width),
            _pad: 0,
        }
    }
}

//! The paths convolutions and matrix products can take (`ops::conv::plan`), so that a test
//! can hold each of them to the CPU reference, and the tolerance each is held to.
//!
//! Naive and f32 paths compute in f32, the reference in f64: a sum of K products of values
//! below 1 in magnitude carries a rounding error near K * 6e-8; the largest K here is a few
//! thousand, so they are held to 1e-4 relative plus an absolute bound the test states (1e-4,
//! or 1e-3 for weight gradients, whose sums run over a whole batch).
//!
//! Winograd (f32 on a GPU, 3x3 convolutions at stride 1: `conv::plan`): the sums run over
//! transformed values, combinations of up to 36 inputs with coefficients up to 5, and the
//! outputs are combinations of 36 sums with coefficients up to 8, so its rounding errors are
//! larger than the direct sum's, which they would pass by a little (1.4e-4 against 1.3e-4
//! allowed, at K = 576). Measured against the magnitude of the sum (sum |a_j b_j|, below),
//! they stay near 2^-20 of it; where a test's shape may take Winograd (`assert_conv_close`),
//! the f32 path is held to 2^-16 of the magnitude where that is larger than its other bound:
//! 16 times the measured error, a measured bound rather than a derived one. A wrong index, a
//! wrong coefficient or a dropped term above about 1% of the average |a_j b_j| is off by more.
//!
//! Mixed (tensor cores): each operand is rounded to f16 (relative error at most u = 2^-11),
//! so each product carries at most 2u + u^2 < 2^-10 of itself; the f32 sum of K terms adds at
//! most K 2^-23 (allowing the tensor cores to truncate rather than round). An output that is
//! a sum of K products a_j b_j may therefore be off by (2^-10 + K 2^-23) sum |a_j b_j|,
//! which the test gets exactly from the same CPU reference run on |a| and |b|
//! (`magnitude`). A wrong index or a dropped tile is off by far more.
//!
//! Half (f16 arithmetic on the tiles): WGSL lets an f16 result be either neighbour of the
//! exact value, so each rounding may cost 2^-10 of it. The operands are rounded (2^-9 of each
//! product), each product is rounded unless fused (2^-10), and a K step's products (at most
//! 16) are summed in f16, each of 15 additions costing 2^-10 of a partial sum no larger than
//! the sum of their magnitudes: at most (2^-9 + 16 2^-10) sum |a_j b_j| in all, plus the f32
//! sum over the steps (K 2^-23 again). Below 2^-14 f16 keeps 2^-24 absolute (subnormals), so
//! each product of operands below 2 may also lose 2^-24 outright: K 2^-24 absolute. An
//! adapter that flushed f16 subnormals to zero would lose more; lavapipe and NVIDIA's Vulkan
//! driver keep them.

use srgan_wgpu::gpu::Kernels;
use srgan_wgpu::Gpu;

#[derive(Clone, Copy, Debug)]
pub struct Path {
    pub kernels: Kernels,
    /// Plan as on a software adapter (lavapipe), whose kernels differ from a hardware one's.
    pub software: bool,
}

/// Every path this GPU can run: naive; f32 as planned for a software and for a hardware
/// adapter; half where the adapter has `shader-f16` and mixed where it has f16 tensor cores
/// (elsewhere it says it skipped them).
pub fn paths(gpu: &Gpu) -> Vec<Path> {
    let mut all = vec![
        Path {
            kernels: Kernels::Naive,
            software: false,
        },
        Path {
            kernels: Kernels::F32,
            software: true,
        },
        Path {
            kernels: Kernels::F32,
            software: false,
        },
    ];
    if gpu.half_supported() {
        all.push(Path {
            kernels: Kernels::Half,
            software: false,
        });
    } else {
        eprintln!("half path skipped: {} has no shader-f16", gpu.info().name);
    }
    if gpu.mixed_supported() {
        all.push(Path {
            kernels: Kernels::Mixed,
            software: false,
        });
    } else {
        eprintln!(
            "mixed path skipped: {} has no f16 cooperative matrices",
            gpu.info().name
        );
    }
    all
}

impl Path {
    /// Makes `gpu` run this path.
    pub fn set(&self, gpu: &Gpu) {
        gpu.set_kernels(self.kernels)
            .expect("paths() lists what the GPU can run");
        gpu.set_software(self.software);
    }

    pub fn name(&self) -> String {
        let adapter = if self.software {
            "software"
        } else {
            "hardware"
        };
        match self.kernels {
            Kernels::Naive => "naive".to_string(),
            k => format!("{k:?} kernels, {adapter} plan"),
        }
    }

    /// Checks `got` against the reference `want`, element by element, naming the first
    /// failure: f32 paths within 1e-4 relative plus `atol` (or Winograd's bound), the half
    /// and mixed paths within the f16 bounds of `k`-term sums of the given magnitudes (see
    /// the top of this file).
    pub fn assert_close(
        &self,
        what: &str,
        got: &[f32],
        want: &[f64],
        magnitude: &[f64],
        k: usize,
        atol: f64,
    ) {
        self.assert_conv_close(what, got, want, magnitude, k, atol, false);
    }

    /// `assert_close` for a convolution's forward or input gradient, `winograd` where its
    /// shape may take Winograd on the f32 path (3x3 at stride 1, padded by at most 2, at least
    /// 32 channels in and out: `conv::plan`), which is then held to Winograd's bound too.
    #[allow(clippy::too_many_arguments)]
    pub fn assert_conv_close(
        &self,
        what: &str,
        got: &[f32],
        want: &[f64],
        magnitude: &[f64],
        k: usize,
        atol: f64,
        winograd: bool,
    ) {
        let what = format!("{what} ({})", self.name());
        let sum = k as f64 * 2f64.powi(-23);
        let (rel, abs) = match self.kernels {
            Kernels::F32 if winograd => (2f64.powi(-16), 0.0),
            Kernels::Naive | Kernels::F32 => {
                return super::assert_close(&what, got, want, 1e-4, atol)
            }
            Kernels::Mixed => (2f64.powi(-10) + sum, 1e-6),
            Kernels::Half => (
                2f64.powi(-9) + 16.0 * 2f64.powi(-10) + sum,
                1e-6 + k as f64 * 2f64.powi(-24),
            ),
        };
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, ((&g, &c), &m)) in got.iter().zip(want).zip(magnitude).enumerate() {
            let err = (g as f64 - c).abs();
            let mut allowed = rel * m + abs;
            if self.kernels == Kernels::F32 {
                allowed = allowed.max(atol + 1e-4 * c.abs());
            }
            assert!(
                err <= allowed,
                "{what}[{i}]: GPU {g} vs CPU {c} (error {err:.3e}, allowed {allowed:.3e})"
            );
        }
    }
}

/// |v|, element by element: operands whose products give the magnitude of a sum.
pub fn abs(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| x.abs()).collect()
}

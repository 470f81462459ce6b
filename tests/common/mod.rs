//! Helpers shared by the test files: a GPU, temporary folders, random data, tolerant
//! comparison, and the finite-difference check every CPU backward goes through.
#![allow(dead_code)]

pub mod cli;
pub mod paths;
pub mod training;

use srgan_wgpu::gpu::{AdapterChoice, Kernels};
use srgan_wgpu::rng::Rng;
use srgan_wgpu::{Gpu, Tensor};

/// The test GPU: SRGAN_WGPU_ADAPTER if set, else the best adapter (lavapipe on CI), with
/// the f32 kernels, which the tolerances of most tests assume.
pub fn gpu() -> Gpu {
    quiet_mesa();
    let gpu = Gpu::new(&AdapterChoice::from_flag_or_env(None))
        .expect("tests need a GPU adapter (apt-get install mesa-vulkan-drivers)");
    gpu.set_kernels(Kernels::F32).expect("f32 runs anywhere");
    gpu
}

/// A fresh folder in the temporary directory, removed when the test is done with it, whether it
/// passed or failed (runs of the suite would otherwise pile them up).
pub struct Temp(std::path::PathBuf);

impl std::ops::Deref for Temp {
    type Target = std::path::PathBuf;
    fn deref(&self) -> &std::path::PathBuf {
        &self.0
    }
}

impl AsRef<std::path::Path> for Temp {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// `srgan-test-NAME-PID` in the temporary directory, empty.
pub fn temp(name: &str) -> Temp {
    let d = std::env::temp_dir().join(format!("srgan-test-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    Temp(d)
}

/// Mesa's Vulkan drivers print an error (twice per process) where XDG_RUNTIME_DIR is unset,
/// as in CI; the binary sets it before its threads start, and the tests set it here, once,
/// before the first GPU of the process is opened (every test opens its GPU through `gpu`).
fn quiet_mesa() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
        }
    });
}

pub fn upload(gpu: &Gpu, shape: &[usize], data: &[f64]) -> Tensor {
    let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
    Tensor::from_slice(gpu, shape, &v)
}

/// Random values in [-1, 1), rounded to f32 so the CPU reference sees what the GPU sees.
pub fn random(rng: &mut Rng, n: usize) -> Vec<f64> {
    rng.vec(n, -1.0, 1.0)
        .into_iter()
        .map(|v| v as f32 as f64)
        .collect()
}

/// Checks |gpu - cpu| <= atol + rtol * |cpu| element by element, naming the first failure.
pub fn assert_close(what: &str, gpu: &[f32], cpu: &[f64], rtol: f64, atol: f64) {
    assert_eq!(
        gpu.len(),
        cpu.len(),
        "{what}: length {} vs {}",
        gpu.len(),
        cpu.len()
    );
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let err = (g as f64 - c).abs();
        assert!(
            err <= atol + rtol * c.abs(),
            "{what}[{i}]: GPU {g} vs CPU {c} (error {err:.3e}, allowed {:.3e})",
            atol + rtol * c.abs()
        );
    }
}

/// Central finite differences in f64 of L(x) = sum(f(x) * r), with r fixed random weights,
/// compared to the analytic gradient `grad` (the CPU backward of f run with dy = r).
/// The step 1e-6 keeps truncation error (~h^2) and rounding error (~1e-16/h) both near 1e-10.
pub fn gradcheck(what: &str, x: &[f64], r: &[f64], f: impl Fn(&[f64]) -> Vec<f64>, grad: &[f64]) {
    let h = 1e-6;
    let loss = |x: &[f64]| f(x).iter().zip(r).map(|(a, b)| a * b).sum::<f64>();
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        xp[i] = x[i] + h;
        let up = loss(&xp);
        xp[i] = x[i] - h;
        let down = loss(&xp);
        xp[i] = x[i];
        let numeric = (up - down) / (2.0 * h);
        let err = (numeric - grad[i]).abs();
        assert!(
            err <= 1e-6 + 1e-5 * numeric.abs(),
            "{what}: d/dx[{i}] analytic {} vs numeric {numeric}",
            grad[i]
        );
    }
}

/// A finite-difference check is only worth something if it can fail: the same comparison
/// with f32 arithmetic and a step of 1e-6 must be far off for any non-trivial function.
pub fn gradcheck_f32_would_fail(x: &[f64], f: impl Fn(&[f32]) -> f32, grad: &[f64]) -> bool {
    let h = 1e-6f32;
    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    (0..x.len()).any(|i| {
        let mut a = xf.clone();
        a[i] += h;
        let mut b = xf.clone();
        b[i] -= h;
        let numeric = ((f(&a) - f(&b)) / (2.0 * h)) as f64;
        (numeric - grad[i]).abs() > 1e-6 + 1e-5 * numeric.abs()
    })
}

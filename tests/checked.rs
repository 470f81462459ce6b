//! The checked mode (`SRGAN_WGPU_CHECKED=1`) reports an index out of range, naming the kernel
//! and the array, instead of clamping it; in range, kernels give the same results as without.

mod common;
use common::*;
use srgan_wgpu::gpu::Program;
use srgan_wgpu::ops::elementwise as ew;
use srgan_wgpu::rng::Rng;
use srgan_wgpu::Tensor;

/// Copies x into y shifted by one: the last invocation writes one past the end of y.
const OFF_BY_ONE: &str = "
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < arrayLength(&x)) { y[i + 1u] = x[i]; }
}
";

static OFF_BY_ONE_PROGRAM: Program = Program {
    name: "off_by_one",
    entries: &["main"],
    enables: &[],
    blocks: &[],
    files: &[("off_by_one", OFF_BY_ONE)],
};

#[test]
fn an_index_past_the_end_is_reported() {
    let gpu = gpu();
    gpu.set_checked(true);
    let x = Tensor::from_slice(&gpu, &[100], &[1.0; 100]);
    let y = Tensor::zeros(&gpu, &[100]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let views = [x.view(), y.view()];
        gpu.dispatch_specialized(OFF_BY_ONE_PROGRAM.main(), &[], &views, [2, 1, 1]);
    }));
    let message = result
        .expect_err("the out-of-range write must be reported")
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(
        message.contains("off_by_one::main") && message.contains("'y' at index 100"),
        "{message}"
    );
    // The report is cleared: correct work afterwards passes.
    let a = Tensor::from_slice(&gpu, &[3], &[1.0, 2.0, 3.0]);
    assert_eq!(ew::add(&a, &a).to_vec(), [2.0, 4.0, 6.0]);
}

#[test]
fn checked_kernels_compute_the_same() {
    let gpu = gpu();
    let mut rng = Rng::new(5);
    let n = 1000 + 37;
    let a = upload(&gpu, &[n], &random(&mut rng, n));
    let b = upload(&gpu, &[n], &random(&mut rng, n));
    let plain = ew::mul(&a, &b).to_vec();
    gpu.set_checked(true);
    assert_eq!(ew::mul(&a, &b).to_vec(), plain);
}

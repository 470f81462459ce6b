//! Everything that knows wgpu lives in this module, so the next wgpu upgrade touches only here.
//!
//! - `context`: choosing an adapter and opening a device with the adapter's own limits;
//! - `pool`: GPU buffers recycled by size, so a repeated training step allocates nothing new;
//! - `program`: programs (WGSL modules) and their parameter blocks, each declared once;
//! - `launch`: compiled pipelines (cached), dispatches recorded into one pending command
//!   encoder, submitted every so many dispatches or when a result is read back;
//! - `transfer`: uploads, read-backs, submitting and waiting; `timing`: GPU timestamps.

mod checked;
mod context;
mod launch;
mod pool;
mod profile;
mod program;
mod timing;
mod transfer;

#[cfg(not(target_arch = "wasm32"))]
pub use context::list_adapters;
pub use context::AdapterChoice;
pub use launch::View;
pub use pool::GpuBuffer;
pub use program::{constants, Constant, Field, Kernel, Params, Program};
pub use transfer::ReadBack;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

type PipelineCache =
    HashMap<(&'static str, &'static str), HashMap<Vec<u32>, Arc<launch::Compiled>>>;

/// A handle to one GPU device. Cloning is cheap; all clones share pipelines, pool and queue.
///
/// It may be shared between threads: each dispatch is recorded under one lock into the one
/// command stream, so the GPU runs the work of all threads in the order it was recorded, and
/// a pooled buffer that one thread frees is reused by another only after the earlier work.
#[derive(Clone)]
pub struct Gpu {
    inner: Arc<Inner>,
}

/// The device and everything made on it. Dropped under the process-wide device lock (see
/// `context::lifecycle`), so that a device is never torn down while another thread opens one.
struct Inner(std::mem::ManuallyDrop<State>);

impl std::ops::Deref for Inner {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _opening_or_closing = context::lifecycle();
        // SAFETY: dropped once, here, and never used again: this is the owner's drop.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.0) }
    }
}

struct State {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    features: wgpu::Features,
    /// Largest storage binding a kernel may use, in bytes. Normally the adapter's limit; tests
    /// lower it to prove that tensors larger than one binding still work.
    max_binding: AtomicU64,
    /// Largest workgroup count per dispatch dimension; tests lower it likewise.
    max_groups: AtomicU32,
    /// Compiled pipelines by kernel and entry, then by specialisation key (empty for none).
    pipelines: Mutex<PipelineCache>,
    pool: Mutex<pool::Pool>,
    pending: Mutex<launch::Pending>,
    debug: u8,
    /// Whether kernels are compiled with index checks that report (see `checked`).
    checked: AtomicBool,
    /// Where checked kernels report an access out of range: count, array, index.
    oob_report: wgpu::Buffer,
    /// Whether the device can run the f16 tensor-core path (see `Kernels`).
    mixed_supported: bool,
    kernels: Mutex<Kernels>,
    /// Dispatches recorded since the device was opened (`bench` counts them per step).
    dispatches: AtomicU64,
    /// Whether the adapter is a CPU (lavapipe): some kernels have a variant for that.
    software: AtomicBool,
}

/// Locks `m`, also after a panic on another thread while it held the lock: every critical
/// section here leaves its data consistent between statements that can panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Which kernels compute convolutions and matrix products (`--kernels`), from the simplest
/// to the fastest; every other op has one kernel.
///
/// - `Naive`: one invocation per output value, the loops of the CPU reference in WGSL; slow,
///   for reading and for checking the others.
/// - `F32`: tiled kernels in f32 (implicit matrix products, direct kernels for few channels,
///   the layers after a convolution fused into its store); any adapter.
/// - `Half`: as `F32`, but the matrix products' tiles and multiply-adds are f16 (WGSL's
///   `shader-f16`), each K step's products (16) summed in f16 and the steps in f32: half the
///   workgroup memory, and twice the arithmetic rate on GPUs with packed f16. The default on
///   hardware adapters with `shader-f16` and no tensor cores.
/// - `Mixed`: as `F32`, but products take f16 operands and sum in f32 on the tensor cores
///   (cooperative matrices: `EXPERIMENTAL_COOPERATIVE_MATRIX` with f16 16x16x16 and f32
///   accumulation, subgroups of 32). Every tensor in memory stays f32.
///
/// `ops::conv::plan` says which kernel each of them runs for a given convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    Naive,
    F32,
    Half,
    Mixed,
}

impl std::str::FromStr for Kernels {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Kernels> {
        match s {
            "naive" => Ok(Kernels::Naive),
            "f32" => Ok(Kernels::F32),
            "half" => Ok(Kernels::Half),
            "mixed" => Ok(Kernels::Mixed),
            _ => crate::fail!("kernels must be naive, f32, half or mixed, not '{s}'"),
        }
    }
}

impl Gpu {
    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.inner.info
    }

    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    pub fn features(&self) -> wgpu::Features {
        self.inner.features
    }

    /// The kernels convolutions and matrix products run on now: `Mixed` by default where
    /// the adapter can, else `F32`; `SRGAN_WGPU_KERNELS` or `set_kernels` choose.
    pub fn kernels(&self) -> Kernels {
        *lock(&self.inner.kernels)
    }

    /// Chooses the kernels of convolutions and matrix products; `Mixed` fails on adapters
    /// without f16 cooperative matrices, `Half` on adapters without `shader-f16`.
    pub fn set_kernels(&self, k: Kernels) -> crate::Result<()> {
        if k == Kernels::Mixed && !self.inner.mixed_supported {
            return crate::fail!(
                "this adapter has no f16 cooperative matrices (tensor cores): use --kernels f32"
            );
        }
        if k == Kernels::Half && !self.half_supported() {
            return crate::fail!(
                "this adapter has no f16 arithmetic (shader-f16): use --kernels f32"
            );
        }
        *lock(&self.inner.kernels) = k;
        Ok(())
    }

    /// Whether the adapter is a software one (a CPU), for which some ops pick kernels without
    /// workgroup barriers in their inner loops (costly there).
    pub fn is_software(&self) -> bool {
        self.inner.software.load(Relaxed)
    }

    /// Makes ops choose the kernels of a software (`true`) or hardware adapter, so that tests
    /// on one machine check both variants.
    pub fn set_software(&self, software: bool) {
        self.inner.software.store(software, Relaxed);
    }

    /// Whether kernels run with reporting index checks (`SRGAN_WGPU_CHECKED=1`).
    pub fn is_checked(&self) -> bool {
        self.inner.checked.load(Relaxed)
    }

    /// Turns the reporting index checks on or off (see `checked`); kernels are compiled
    /// again as they are next used.
    pub fn set_checked(&self, on: bool) {
        self.finish();
        self.inner.checked.store(on, Relaxed);
        lock(&self.inner.pipelines).clear();
        lock(&self.inner.pending).bind_groups.clear();
    }

    pub fn mixed_supported(&self) -> bool {
        self.inner.mixed_supported
    }

    /// Whether the device can run the f16 arithmetic of `Kernels::Half`.
    pub fn half_supported(&self) -> bool {
        self.features().contains(wgpu::Features::SHADER_F16)
    }

    pub fn has_timestamps(&self) -> bool {
        self.inner
            .features
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Bytes one storage binding may span (see `State::max_binding`).
    pub fn max_binding(&self) -> u64 {
        self.inner.max_binding.load(Relaxed)
    }

    pub fn max_groups(&self) -> u32 {
        self.inner.max_groups.load(Relaxed)
    }

    /// The storage offset alignment, in f32 elements: windows of a tensor start at multiples.
    pub fn align_elements(&self) -> usize {
        self.inner.limits.min_storage_buffer_offset_alignment as usize / 4
    }

    /// Pretends the adapter allows smaller bindings and dispatches than it does, so tests can
    /// reach the code paths that split large work without allocating gigabytes.
    pub fn set_test_limits(&self, max_binding_bytes: u64, max_groups: u32) {
        let align = self.inner.limits.min_storage_buffer_offset_alignment as u64;
        assert!(
            max_binding_bytes >= 4 * align,
            "binding limit too small to be useful"
        );
        self.inner.max_binding.store(max_binding_bytes, Relaxed);
        self.inner.max_groups.store(max_groups, Relaxed);
    }

    /// How many dispatches have been recorded so far.
    pub fn dispatch_count(&self) -> u64 {
        self.inner.dispatches.load(Relaxed)
    }

    fn count_dispatch(&self) {
        self.inner.dispatches.fetch_add(1, Relaxed);
    }

    /// Bytes of storage currently held by the pool (in use or free) and how many buffers it has
    /// ever created.
    pub fn pool_stats(&self) -> (u64, u64) {
        let pool = lock(&self.inner.pool);
        (pool.bytes, pool.created)
    }
}

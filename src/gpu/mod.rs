//! Everything that knows wgpu lives in this module, so the next wgpu upgrade touches only here.
//!
//! - `context`: choosing an adapter and opening a device with the adapter's own limits;
//! - `pool`: GPU buffers recycled by size, so a repeated training step allocates nothing new;
//! - `launch`: compiled pipelines (cached), dispatches recorded into one pending command
//!   encoder, submitted only when a result is read back or the batch grows large.

mod context;
mod launch;
mod pool;

pub use context::{list_adapters, AdapterChoice};
pub use launch::{Kernel, View};
pub use pool::GpuBuffer;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// A handle to one GPU device. Cloning is cheap; all clones share pipelines, pool and queue.
#[derive(Clone)]
pub struct Gpu {
    inner: Rc<Inner>,
}

struct Inner {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    features: wgpu::Features,
    /// Largest storage binding a kernel may use, in bytes. Normally the adapter's limit; tests
    /// lower it to prove that tensors larger than one binding still work.
    max_binding: Cell<u64>,
    /// Largest workgroup count per dispatch dimension; tests lower it likewise.
    max_groups: Cell<u32>,
    pipelines: RefCell<HashMap<(&'static str, &'static str), Rc<wgpu::ComputePipeline>>>,
    pool: RefCell<pool::Pool>,
    pending: RefCell<launch::Pending>,
    debug: u8,
    checked: bool,
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

    pub fn has_timestamps(&self) -> bool {
        self.inner
            .features
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Bytes one storage binding may span (see `Inner::max_binding`).
    pub fn max_binding(&self) -> u64 {
        self.inner.max_binding.get()
    }

    pub fn max_groups(&self) -> u32 {
        self.inner.max_groups.get()
    }

    /// Pretends the adapter allows smaller bindings and dispatches than it does, so tests can
    /// reach the code paths that split large work without allocating gigabytes.
    pub fn set_test_limits(&self, max_binding_bytes: u64, max_groups: u32) {
        let align = self.inner.limits.min_storage_buffer_offset_alignment as u64;
        assert!(
            max_binding_bytes >= 4 * align,
            "binding limit too small to be useful"
        );
        self.inner.max_binding.set(max_binding_bytes);
        self.inner.max_groups.set(max_groups);
    }

    /// Bytes of storage currently held by the pool (in use or free) and how many buffers it has
    /// ever created.
    pub fn pool_stats(&self) -> (u64, u64) {
        let pool = self.inner.pool.borrow();
        (pool.bytes, pool.created)
    }
}

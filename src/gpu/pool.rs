//! GPU buffers recycled by size.
//!
//! A training step makes the same tensors in the same order every time. When a tensor is
//! dropped its buffer goes back to a free list keyed by its byte size, and the next request
//! for that size takes it, so after the first step nothing new is allocated. Reusing a buffer
//! while earlier recorded dispatches still read it is safe: dispatches in one queue run in the
//! order they were recorded, and wgpu places the barriers between them.

use super::{lock, Gpu, Inner};
use crate::error::Result;
use crate::fail;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
pub(super) struct Pool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    /// Bytes in all buffers the pool has created and not released.
    pub bytes: u64,
    /// How many buffers were ever created: a steady training loop keeps this constant.
    pub created: u64,
}

/// A storage buffer borrowed from the pool; it returns there when dropped.
pub struct GpuBuffer {
    buffer: Option<wgpu::Buffer>,
    gpu: Arc<Inner>,
}

impl GpuBuffer {
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("buffer is present until drop")
    }

    pub fn bytes(&self) -> u64 {
        self.raw().size()
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            lock(&self.gpu.pool)
                .free
                .entry(b.size())
                .or_default()
                .push(b);
        }
    }
}

impl Gpu {
    /// A buffer of at least `bytes` (rounded up to 16), from the pool when one is free.
    /// Contents are undefined. Fails with a one-line error when the device is out of memory or
    /// the size is past the adapter's largest buffer.
    pub fn buffer(&self, bytes: u64) -> Result<GpuBuffer> {
        let size = bytes.max(16).next_multiple_of(16);
        let reused = lock(&self.inner.pool)
            .free
            .get_mut(&size)
            .and_then(|v| v.pop());
        let buffer = match reused {
            Some(b) => b,
            None => self.create_buffer(size)?,
        };
        Ok(GpuBuffer {
            buffer: Some(buffer),
            gpu: self.inner.clone(),
        })
    }

    fn create_buffer(&self, size: u64) -> Result<wgpu::Buffer> {
        let max = self.inner.limits.max_buffer_size;
        if size > max {
            return fail!(
                "a tensor of {} MiB is larger than this GPU's largest buffer ({} MiB)",
                size >> 20,
                max >> 20
            );
        }
        // Allocation failures arrive as device errors; an error scope turns them into a value.
        // (In a browser the scope's answer would have to be awaited: there the device reports
        // the failure itself.)
        let try_create = || {
            let device = &self.inner.device;
            #[cfg(not(target_arch = "wasm32"))]
            let scope = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            #[cfg(not(target_arch = "wasm32"))]
            return pollster::block_on(scope.pop()).is_none().then_some(buffer);
            #[cfg(target_arch = "wasm32")]
            Some(buffer)
        };
        // On failure, free what the pool holds and try once more before giving up.
        let buffer = match try_create() {
            Some(b) => b,
            None => {
                self.release_free_buffers();
                match try_create() {
                    Some(b) => b,
                    None => {
                        let held = lock(&self.inner.pool).bytes >> 20;
                        return fail!("out of GPU memory allocating {} MiB ({held} MiB already in use); try a smaller batch or tile", size >> 20);
                    }
                }
            }
        };
        Ok(self.count_new(buffer))
    }

    fn count_new(&self, buffer: wgpu::Buffer) -> wgpu::Buffer {
        let mut pool = lock(&self.inner.pool);
        pool.bytes += buffer.size();
        pool.created += 1;
        buffer
    }

    /// Gives every idle pooled buffer back to the driver (between phases with different shapes).
    pub fn release_free_buffers(&self) {
        // Cached bind groups hold their buffers alive.
        lock(&self.inner.pending).bind_groups.clear();
        let mut pool = lock(&self.inner.pool);
        let freed: u64 = pool.free.values().flatten().map(|b| b.size()).sum();
        pool.free.clear();
        pool.bytes -= freed;
    }
}

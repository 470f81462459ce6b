//! Submitting what is recorded, uploads, copies and read-backs.
//!
//! A read-back maps a staging buffer, which completes in a callback. Natively the device is
//! polled until the copy's submission is done, and the callback has run when `poll` returns;
//! in a browser the callback runs only when the page's event loop does, so there the engine
//! reads with `read_async` and awaits. Both go through `Mapping`, a future: native code
//! drives it by blocking (`block`), where it is always ready at once.

use super::{lock, Gpu, GpuBuffer};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Read-back buffers kept for reuse, at most, and their bytes at most.
const MAX_STAGING: usize = 16;
const MAX_STAGING_BYTES: u64 = 256 << 20;

/// Values on their way back to the host (`Gpu::read_later`).
pub struct ReadBack {
    gpu: Gpu,
    staging: Option<wgpu::Buffer>,
    bytes: u64,
    submission: Option<wgpu::SubmissionIndex>,
}

impl ReadBack {
    /// Waits for the copy (not for work recorded after it) and returns the values.
    pub fn wait(mut self) -> Vec<f32> {
        let staging = self.staging.take().expect("present until waited for");
        let out = self
            .gpu
            .map_after(&staging, self.bytes, self.submission.take(), |b| {
                bytemuck::cast_slice::<u8, f32>(b).to_vec()
            });
        self.gpu.keep_staging(staging);
        out
    }
}

impl Gpu {
    /// Zeroes `bytes` of `buffer` from byte `offset` (both multiples of 4).
    pub fn clear(&self, buffer: &GpuBuffer, offset: u64, bytes: u64) {
        let mut pending = lock(&self.inner.pending);
        let encoder = pending.encoder(&self.inner.device);
        encoder.clear_buffer(buffer.raw(), offset, Some(bytes));
    }

    /// Copies `bytes` from `src` at byte `src_offset` to `dst` at `dst_offset`, in order with
    /// the dispatches around it.
    pub fn copy(
        &self,
        src: &GpuBuffer,
        src_offset: u64,
        dst: &GpuBuffer,
        dst_offset: u64,
        bytes: u64,
    ) {
        let mut pending = lock(&self.inner.pending);
        let encoder = pending.encoder(&self.inner.device);
        encoder.copy_buffer_to_buffer(src.raw(), src_offset, dst.raw(), dst_offset, bytes);
    }

    /// Submits everything recorded so far.
    pub fn flush(&self) {
        self.submit();
    }

    /// Submits everything recorded so far; the submission, if there was anything to submit.
    pub(super) fn submit(&self) -> Option<wgpu::SubmissionIndex> {
        let mut pending = lock(&self.inner.pending);
        pending.pass = None;
        let mut encoder = pending.encoder.take()?;
        if let Some(t) = &pending.timing {
            t.resolve(&mut encoder);
        }
        if let Some(p) = &pending.profile {
            p.resolve(&mut encoder);
        }
        if !pending.params.is_empty() {
            self.inner
                .queue
                .write_buffer(&pending.ring, 0, &pending.params);
            pending.params.clear();
        }
        pending.recorded = 0;
        let index = self.inner.queue.submit([encoder.finish()]);
        if let Some(p) = &mut pending.profile {
            let period_ns = self.inner.queue.get_timestamp_period() as f64;
            p.collect(&self.inner.device, period_ns);
        }
        Some(index)
    }

    /// With `SRGAN_WGPU_PROFILE=1`: (kernel, passes, GPU milliseconds) since the last call,
    /// slowest first; empty otherwise.
    pub fn profile_take(&self) -> Vec<(String, u64, f64)> {
        self.finish();
        let mut pending = lock(&self.inner.pending);
        pending
            .profile
            .as_mut()
            .map(|p| p.take())
            .unwrap_or_default()
    }

    /// Submits and waits until the GPU is idle.
    pub fn finish(&self) {
        self.flush();
        self.inner
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("GPU device lost");
    }

    /// Copies `data` into `buffer` at byte `offset`.
    pub fn write(&self, buffer: &GpuBuffer, offset: u64, data: &[f32]) {
        // Queue writes land before the next submit's commands. Submitting what is recorded
        // first keeps them after any earlier dispatch that still uses this (pooled) buffer.
        self.flush();
        self.inner
            .queue
            .write_buffer(buffer.raw(), offset, bytemuck::cast_slice(data));
    }

    /// Reads `len` floats from `buffer` at byte `offset`, waiting for all recorded work.
    /// Blocks: not for the browser, which reads with `read_async`.
    pub fn read(&self, buffer: &GpuBuffer, offset: u64, len: usize) -> Vec<f32> {
        block(self.read_async(buffer, offset, len))
    }

    /// `read`, awaiting the GPU instead of blocking.
    pub async fn read_async(&self, buffer: &GpuBuffer, offset: u64, len: usize) -> Vec<f32> {
        if len == 0 {
            return Vec::new();
        }
        let bytes = len as u64 * 4;
        let staging = self.staging(bytes);
        {
            let mut pending = lock(&self.inner.pending);
            let encoder = pending.encoder(&self.inner.device);
            encoder.copy_buffer_to_buffer(buffer.raw(), offset, &staging, 0, bytes);
        }
        let submission = self.submit();
        self.mapping(&staging, bytes, submission).await;
        let out = {
            let range = staging.slice(0..bytes).get_mapped_range().expect("mapped");
            bytemuck::cast_slice::<u8, f32>(&range).to_vec()
        };
        staging.unmap();
        self.keep_staging(staging);
        out
    }

    /// Reads the first `bytes` of a buffer of the device itself (not pooled) as u32s.
    pub(super) fn read_u32s(&self, buffer: &wgpu::Buffer, bytes: u64) -> Vec<u32> {
        let staging = self.staging(bytes);
        {
            let mut pending = lock(&self.inner.pending);
            let encoder = pending.encoder(&self.inner.device);
            encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        }
        let out = self.map_read(&staging, bytes, |b| {
            bytemuck::cast_slice::<u8, u32>(b).to_vec()
        });
        self.keep_staging(staging);
        out
    }

    /// Keeps a read-back buffer for the next read of the same size (a training step reads the
    /// same few every time); a folder of images of ever new sizes must not grow them without end.
    fn keep_staging(&self, staging: wgpu::Buffer) {
        let mut pending = lock(&self.inner.pending);
        pending.readback.push(staging);
        while pending.readback.len() > MAX_STAGING
            || pending.readback.iter().map(wgpu::Buffer::size).sum::<u64>() > MAX_STAGING_BYTES
        {
            pending.readback.remove(0);
        }
    }

    /// Starts copying the values of `parts` (buffer, byte offset, element count)
    /// back to the host, one after another, and submits; `ReadBack::wait` returns them. What
    /// is recorded after this call runs on: a training step reads its losses a step later,
    /// so the GPU never idles while the host waits for them.
    pub fn read_later(&self, parts: &[(&GpuBuffer, u64, usize)]) -> ReadBack {
        let bytes = parts
            .iter()
            .map(|(_, _, n)| *n as u64 * 4)
            .sum::<u64>()
            .max(4);
        let staging = self.staging(bytes);
        {
            let mut pending = lock(&self.inner.pending);
            let encoder = pending.encoder(&self.inner.device);
            let mut at = 0;
            for (buffer, offset, n) in parts {
                let len = *n as u64 * 4;
                if len > 0 {
                    encoder.copy_buffer_to_buffer(buffer.raw(), *offset, &staging, at, len);
                }
                at += len;
            }
        }
        let submission = self.submit();
        ReadBack {
            gpu: self.clone(),
            staging: Some(staging),
            bytes,
            submission,
        }
    }

    /// Read-back buffers kept for reuse: how many, and their bytes.
    pub fn readback_cache(&self) -> (usize, u64) {
        let pending = lock(&self.inner.pending);
        let bytes = pending.readback.iter().map(wgpu::Buffer::size).sum();
        (pending.readback.len(), bytes)
    }

    pub(super) fn staging(&self, bytes: u64) -> wgpu::Buffer {
        let mut pending = lock(&self.inner.pending);
        match pending.readback.iter().position(|b| b.size() == bytes) {
            Some(i) => pending.readback.swap_remove(i),
            None => self.inner.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        }
    }

    pub(super) fn map_read<T>(
        &self,
        staging: &wgpu::Buffer,
        bytes: u64,
        f: impl FnOnce(&[u8]) -> T,
    ) -> T {
        let submission = self.submit();
        self.map_after(staging, bytes, submission, f)
    }

    /// Maps `staging` once `submission` (the one that filled it) is done, without waiting for
    /// anything submitted after it.
    fn map_after<T>(
        &self,
        staging: &wgpu::Buffer,
        bytes: u64,
        submission: Option<wgpu::SubmissionIndex>,
        f: impl FnOnce(&[u8]) -> T,
    ) -> T {
        block(self.mapping(staging, bytes, submission));
        let out = f(&staging.slice(0..bytes).get_mapped_range().expect("mapped"));
        staging.unmap();
        out
    }

    /// Starts mapping `staging` for reading; natively also polls the device until
    /// `submission` is done, so that the returned future is ready at once.
    fn mapping(
        &self,
        staging: &wgpu::Buffer,
        bytes: u64,
        submission: Option<wgpu::SubmissionIndex>,
    ) -> Mapping {
        let state = Arc::new(Mutex::new(MapState::default()));
        let done = state.clone();
        staging
            .slice(0..bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let mut s = lock(&done);
                s.result = Some(r);
                if let Some(w) = s.waker.take() {
                    w.wake();
                }
            });
        #[cfg(not(target_arch = "wasm32"))]
        self.inner
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: submission,
                timeout: None,
            })
            .expect("GPU device lost");
        #[cfg(target_arch = "wasm32")]
        let _ = submission;
        Mapping { state }
    }
}

#[derive(Default)]
struct MapState {
    result: Option<Result<(), wgpu::BufferAsyncError>>,
    waker: Option<Waker>,
}

/// A buffer's map in progress (see the module's docs).
struct Mapping {
    state: Arc<Mutex<MapState>>,
}

impl Future for Mapping {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = lock(&self.state);
        match s.result.take() {
            Some(r) => {
                r.expect("GPU read-back failed");
                Poll::Ready(())
            }
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Runs a future that natively is ready at once (a `Mapping` after its poll).
#[cfg(not(target_arch = "wasm32"))]
fn block<T>(f: impl Future<Output = T>) -> T {
    pollster::block_on(f)
}

/// In a browser nothing may block: the engine's reads there are `read_async`.
#[cfg(target_arch = "wasm32")]
fn block<T>(f: impl Future<Output = T>) -> T {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a blocking read-back in a browser: use read_async"),
    }
}

//! Compiling kernels, recording dispatches, submitting, reading back.
//!
//! Every kernel binds its storage buffers at bindings 0..n in the order given and a uniform
//! block of 32-bit parameters at binding n; a specialised kernel has its parameters compiled
//! in as WGSL constants instead, and no uniform block. Dispatches are recorded into one compute
//! pass of one pending command encoder (wgpu places the barriers between them), their bind
//! groups taken from a cache, and their parameters packed into one uniform "ring" buffer,
//! written once per submit. The batch is submitted every 64 dispatches (so the GPU works while
//! the rest is recorded), when a result is read back or data uploaded, or when the ring fills.

use super::profile::{self, Profile};
use super::{lock, Gpu, GpuBuffer};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// One entry point of one WGSL program. `source` is called only when the pipeline is first
/// built; `trusted` kernels have every index proven in range by their tests and are compiled
/// without wgpu's per-access bounds checks (which cost 20x on the H100's GEMM) unless
/// `SRGAN_WGPU_CHECKED=1` is set.
pub struct Kernel {
    pub name: &'static str,
    pub entry: &'static str,
    pub source: fn() -> String,
    pub trusted: bool,
}

/// A kernel compiled for one set of constants: `header()` is WGSL placed before the kernel's
/// source (enable directives first, then `const` declarations the source uses), so the
/// shader compiler sees sizes as numbers: divisions by them become multiplies. `key` names
/// the constants (the same key must always give the same header): each distinct key is one
/// pipeline, compiled on first use, and the header is written only then.
pub struct Specialized<'a> {
    pub kernel: &'a Kernel,
    pub key: &'a [u32],
    pub header: &'a dyn Fn() -> String,
}

/// A kernel's uniform block: a `#[repr(C)]` struct mirroring its WGSL `Params` struct field
/// for field (the WGSL file names the Rust struct and the Rust struct the WGSL file), so the
/// layout is written once on each side instead of as a positional list of numbers.
pub trait Uniform: bytemuck::Pod {}

/// Declares `Uniform` structs: `#[repr(C)]`, `Pod`, fields all 32 bits wide.
#[macro_export]
macro_rules! uniform {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($fvis:vis $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
        $vis struct $name { $($fvis $field: $ty),* }
        impl $crate::gpu::Uniform for $name {}
    };
}

/// A window of a buffer to bind: `offset` must be a multiple of the adapter's storage offset
/// alignment; `bytes` at most `Gpu::max_binding`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub buffer: &'a GpuBuffer,
    pub offset: u64,
    pub bytes: u64,
}

impl<'a> View<'a> {
    pub fn whole(buffer: &'a GpuBuffer) -> Self {
        View {
            buffer,
            offset: 0,
            bytes: buffer.bytes(),
        }
    }
}

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

#[derive(PartialEq, Eq, Hash)]
pub(super) struct BindKey {
    pipeline: usize,
    views: Vec<(wgpu::Buffer, u64, u64)>,
    params: Option<u64>,
}

/// Bind groups kept at most; past this (images of ever new sizes) the cache starts afresh.
const MAX_BIND_GROUPS: usize = 8192;

/// A compiled pipeline and its bind group layout (asked for once: each call makes a handle).
pub(super) struct Compiled {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    /// In checked mode: the binding of the out-of-range report and the checked arrays.
    checks: Option<(u32, Vec<String>)>,
}

const RING_BYTES: u64 = 1 << 22;
/// Read-back buffers kept for reuse, at most, and their bytes at most.
const MAX_STAGING: usize = 16;
const MAX_STAGING_BYTES: u64 = 256 << 20;
const MAX_PARAM_BYTES: usize = 256;

pub(super) struct Pending {
    encoder: Option<wgpu::CommandEncoder>,
    /// The compute pass that untimed dispatches share until the next submit or other command:
    /// one pass per dispatch cost CPU time, and wgpu orders the dispatches inside a pass.
    pass: Option<wgpu::ComputePass<'static>>,
    /// Bind groups by pipeline, bound buffer windows and parameter slot: a training step binds
    /// the same pooled buffers in the same order every time, so after the first step every
    /// dispatch finds its bind group here instead of making one.
    pub(super) bind_groups: HashMap<BindKey, wgpu::BindGroup>,
    ring: wgpu::Buffer,
    params: Vec<u8>,
    slot: u64,
    timing: Option<Timing>,
    profile: Option<Profile>,
    /// Dispatches recorded since the last submit, and how many make a submit.
    recorded: u32,
    flush_every: u32,
    readback: Vec<wgpu::Buffer>,
}

/// Dispatches per submit. Recording costs CPU time (a bind group and a pass each); submitting
/// every so many lets the GPU work on one batch while the next is recorded, instead of
/// starting only when a whole training step has been recorded.
fn default_flush_every() -> u32 {
    std::env::var("SRGAN_WGPU_FLUSH_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

struct Timing {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    started: bool,
}

impl Pending {
    pub(super) fn new(device: &wgpu::Device, limits: &wgpu::Limits) -> Pending {
        let ring = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params ring"),
            size: RING_BYTES,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let slot = (limits.min_uniform_buffer_offset_alignment as u64).max(MAX_PARAM_BYTES as u64);
        Pending {
            encoder: None,
            pass: None,
            bind_groups: HashMap::new(),
            ring,
            params: Vec::new(),
            slot,
            timing: None,
            profile: std::env::var("SRGAN_WGPU_PROFILE")
                .is_ok_and(|v| v != "0")
                .then(|| Profile::new(device)),
            recorded: 0,
            flush_every: default_flush_every(),
            readback: Vec::new(),
        }
    }
}

impl Pending {
    /// The command encoder, with the shared compute pass ended (other commands need that).
    fn encoder(&mut self, device: &wgpu::Device) -> &mut wgpu::CommandEncoder {
        self.pass = None;
        self.encoder
            .get_or_insert_with(|| device.create_command_encoder(&Default::default()))
    }
}

impl Gpu {
    fn pipeline(&self, kernel: &Kernel, spec: Option<&Specialized>) -> Arc<Compiled> {
        let key = (kernel.name, kernel.entry);
        let spec_key = spec.map_or(&[][..], |s| s.key);
        if let Some(p) = self
            .inner
            .pipelines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .and_then(|m| m.get(spec_key))
        {
            return p.clone();
        }
        let device = &self.inner.device;
        let header = spec.map_or(String::new(), |s| (s.header)());
        let mut source = format!("{header}{}", (kernel.source)());
        let checked = self.is_checked();
        let mut checks = None;
        if checked {
            let i = super::checked::instrument(&source);
            source = i.source;
            checks = Some((i.binding, i.arrays));
        }
        let label = format!("{}::{}", kernel.name, kernel.entry);
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some(&label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        };
        let module = if kernel.trusted && !checked {
            // SAFETY: not proven for every possible input. An index out of range here reads or
            // writes outside its binding, silently. What holds: every kernel bounds its
            // invocations by the element counts it is given (checked conversions on the host,
            // `ops::u32_of`), and CI runs the op tests on awkward shapes in the checked mode,
            // where each storage index is compared with its binding's length and any one out
            // of range fails the test (`checked.rs`).
            unsafe {
                device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
            }
        } else {
            device.create_shader_module(desc)
        };
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module: &module,
            entry_point: Some(kernel.entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let compiled = Arc::new(Compiled {
            layout: pipeline.get_bind_group_layout(0),
            pipeline,
            checks,
        });
        lock(&self.inner.pipelines)
            .entry(key)
            .or_default()
            .insert(spec_key.to_vec(), compiled.clone());
        compiled
    }

    /// Records one dispatch of `kernel` over `groups` workgroups.
    pub fn dispatch(
        &self,
        kernel: &Kernel,
        views: &[View],
        params: &impl Uniform,
        groups: [u32; 3],
    ) {
        let bytes: &[u8] = bytemuck::bytes_of(params);
        assert!(
            bytes.len() <= MAX_PARAM_BYTES,
            "{}: too many parameters",
            kernel.name
        );
        self.record(kernel, None, views, Some(bytes), groups);
    }

    /// Records one dispatch of a kernel specialised by its header (no uniform parameters).
    pub fn dispatch_specialized(&self, s: &Specialized, views: &[View], groups: [u32; 3]) {
        self.record(s.kernel, Some(s), views, None, groups);
    }

    fn record(
        &self,
        kernel: &Kernel,
        spec: Option<&Specialized>,
        views: &[View],
        params: Option<&[u8]>,
        groups: [u32; 3],
    ) {
        let max = self.max_groups();
        assert!(
            groups.iter().all(|&g| g <= max),
            "{}: {groups:?} workgroups exceed {max}",
            kernel.name
        );
        if groups.contains(&0) {
            return;
        }
        let compiled = self.pipeline(kernel, spec);
        let mut pending = lock(&self.inner.pending);
        let profile_full = pending
            .profile
            .as_ref()
            .is_some_and(|p| p.labels.len() as u32 >= profile::CAPACITY);
        if pending.params.len() as u64 + pending.slot > RING_BYTES || profile_full {
            drop(pending);
            self.flush();
            pending = lock(&self.inner.pending);
        }
        let param_offset = params.map(|bytes| {
            let offset = pending.params.len() as u64;
            pending.params.extend_from_slice(bytes);
            // Uniform blocks are read in 16-byte rows; pad the block, then to the next slot.
            let end = (offset + pending.slot) as usize;
            pending.params.resize(end, 0);
            offset
        });
        let key = BindKey {
            pipeline: Arc::as_ptr(&compiled) as usize,
            views: views
                .iter()
                .map(|v| (v.buffer.raw().clone(), v.offset, v.bytes))
                .collect(),
            params: param_offset,
        };
        let pending_ref = &mut *pending;
        if pending_ref.bind_groups.len() >= MAX_BIND_GROUPS
            && !pending_ref.bind_groups.contains_key(&key)
        {
            pending_ref.bind_groups.clear();
        }
        let ring = &pending_ref.ring;
        let bind_group: &wgpu::BindGroup =
            pending_ref.bind_groups.entry(key).or_insert_with(|| {
                let mut entries: Vec<wgpu::BindGroupEntry> = views
                    .iter()
                    .enumerate()
                    .map(|(i, v)| wgpu::BindGroupEntry {
                        binding: i as u32,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: v.buffer.raw(),
                            offset: v.offset,
                            size: wgpu::BufferSize::new(v.bytes),
                        }),
                    })
                    .collect();
                if let Some((binding, _)) = &compiled.checks {
                    entries.push(wgpu::BindGroupEntry {
                        binding: *binding,
                        resource: self.inner.oob_report.as_entire_binding(),
                    });
                }
                if let (Some(bytes), Some(offset)) = (params, param_offset) {
                    let param_bytes = (bytes.len() as u64).next_multiple_of(16).max(16);
                    entries.push(wgpu::BindGroupEntry {
                        binding: views.len() as u32,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: ring,
                            offset,
                            size: wgpu::BufferSize::new(param_bytes),
                        }),
                    });
                }
                self.inner
                    .device
                    .create_bind_group(&wgpu::BindGroupDescriptor {
                        label: None,
                        layout: &compiled.layout,
                        entries: &entries,
                    })
            });
        let timestamp_writes = match (&mut pending_ref.timing, &mut pending_ref.profile) {
            (Some(t), _) => {
                // The first timed pass stamps its start; every pass stamps its end, so after
                // the last one query 1 holds the end of the whole timed run.
                let begin = (!t.started).then_some(0);
                t.started = true;
                Some(wgpu::ComputePassTimestampWrites {
                    query_set: &t.queries,
                    beginning_of_pass_write_index: begin,
                    end_of_pass_write_index: Some(1),
                })
            }
            (None, Some(p)) => Some(p.next_pass(format!("{}::{}", kernel.name, kernel.entry))),
            (None, None) => None,
        };
        let device = &self.inner.device;
        if timestamp_writes.is_some() {
            // A timed dispatch has a pass of its own: timestamps mark passes.
            pending_ref.pass = None;
            let encoder = pending_ref
                .encoder
                .get_or_insert_with(|| device.create_command_encoder(&Default::default()));
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes,
            });
            pass.set_pipeline(&compiled.pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        } else {
            let encoder = &mut pending_ref.encoder;
            let pass = pending_ref.pass.get_or_insert_with(|| {
                encoder
                    .get_or_insert_with(|| device.create_command_encoder(&Default::default()))
                    .begin_compute_pass(&Default::default())
                    .forget_lifetime()
            });
            pass.set_pipeline(&compiled.pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }
        self.count_dispatch();
        pending.recorded += 1;
        let timing = pending.timing.is_some();
        let submit = !timing && pending.recorded >= pending.flush_every;
        drop(pending);
        if self.inner.debug > 0 {
            self.debug_line(kernel, groups, timing);
        }
        if let Some((_, arrays)) = &compiled.checks {
            self.check_report(kernel, arrays);
        } else if submit {
            self.flush();
        }
    }

    /// Checked mode: runs what is recorded and stops at the first kernel that reported an
    /// index out of range.
    fn check_report(&self, kernel: &Kernel, arrays: &[String]) {
        let staging = self.staging(16);
        {
            let mut pending = lock(&self.inner.pending);
            let encoder = pending.encoder(&self.inner.device);
            encoder.copy_buffer_to_buffer(&self.inner.oob_report, 0, &staging, 0, 16);
        }
        let report = self.map_read(&staging, 16, |b| {
            bytemuck::cast_slice::<u8, u32>(b).to_vec()
        });
        lock(&self.inner.pending).readback.push(staging);
        if report[0] > 0 {
            self.inner
                .queue
                .write_buffer(&self.inner.oob_report, 0, &[0u8; 16]);
            let array = arrays.get(report[1] as usize).map_or("?", String::as_str);
            panic!(
                "{}::{} read or wrote '{array}' at index {} (as u32), outside its binding ({} accesses out of range)",
                kernel.name, kernel.entry, report[2], report[0]
            );
        }
    }

    fn debug_line(&self, kernel: &Kernel, groups: [u32; 3], timing: bool) {
        if self.inner.debug >= 2 && !timing {
            let t = Instant::now();
            self.finish();
            eprintln!(
                "[gpu] {}::{} {groups:?} {:.3} ms (synchronous)",
                kernel.name,
                kernel.entry,
                t.elapsed().as_secs_f64() * 1e3
            );
        } else {
            eprintln!("[gpu] {}::{} {groups:?}", kernel.name, kernel.entry);
        }
    }

    /// Workgroup counts for `n` invocations of a kernel with `size` invocations per group,
    /// spread over y when x would pass the adapter's limit. Kernels using it compute their
    /// index as `gid.x + gid.y * num_workgroups.x * size`.
    pub fn groups_1d(&self, n: u64, size: u32) -> [u32; 3] {
        let groups = n.div_ceil(size as u64);
        let max = self.max_groups() as u64;
        if groups <= max {
            return [groups as u32, 1, 1];
        }
        let y = groups.div_ceil(max);
        assert!(
            y <= max,
            "dispatch of {n} invocations is too large for this adapter"
        );
        [max as u32, y as u32, 1]
    }

    /// Records zeroing `bytes` bytes of `buffer` (a multiple of 4).
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
    fn submit(&self) -> Option<wgpu::SubmissionIndex> {
        let mut pending = lock(&self.inner.pending);
        pending.pass = None;
        let mut encoder = pending.encoder.take()?;
        if let Some(t) = &pending.timing {
            encoder.resolve_query_set(&t.queries, 0..2, &t.resolve, 0);
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
    pub fn read(&self, buffer: &GpuBuffer, offset: u64, len: usize) -> Vec<f32> {
        let bytes = (len as u64 * 4).next_multiple_of(4);
        if bytes == 0 {
            return Vec::new();
        }
        let staging = self.staging(bytes);
        {
            let mut pending = lock(&self.inner.pending);
            let encoder = pending.encoder(&self.inner.device);
            encoder.copy_buffer_to_buffer(buffer.raw(), offset, &staging, 0, bytes);
        }
        let out = self.map_read(&staging, bytes, |b| {
            bytemuck::cast_slice::<u8, f32>(b).to_vec()
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

    fn staging(&self, bytes: u64) -> wgpu::Buffer {
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

    fn map_read<T>(&self, staging: &wgpu::Buffer, bytes: u64, f: impl FnOnce(&[u8]) -> T) -> T {
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
        let slice = staging.slice(0..bytes);
        slice.map_async(wgpu::MapMode::Read, |r| r.expect("GPU read-back failed"));
        self.inner
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: submission,
                timeout: None,
            })
            .expect("GPU device lost");
        let out = f(&slice.get_mapped_range().expect("mapped"));
        staging.unmap();
        out
    }

    /// Runs `work` once to warm up (pipelines, pool), then `reps` times, and returns the
    /// milliseconds per repetition: from GPU timestamps when the adapter has them, else from
    /// the wall clock around submit and wait. Second value: whether timestamps were used.
    pub fn time_ms(&self, reps: u32, mut work: impl FnMut()) -> (f64, bool) {
        work();
        self.finish();
        let device = &self.inner.device;
        if !self.has_timestamps() {
            let t = Instant::now();
            for _ in 0..reps {
                work();
            }
            self.finish();
            return (t.elapsed().as_secs_f64() * 1e3 / reps as f64, false);
        }
        let queries = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: None,
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        lock(&self.inner.pending).timing = Some(Timing {
            queries,
            resolve,
            started: false,
        });
        for _ in 0..reps {
            work();
        }
        let staging = self.staging(16);
        {
            let mut pending = lock(&self.inner.pending);
            let pending = &mut *pending;
            pending.pass = None;
            let t = pending.timing.as_ref().expect("timing");
            let encoder = pending
                .encoder
                .get_or_insert_with(|| device.create_command_encoder(&Default::default()));
            encoder.resolve_query_set(&t.queries, 0..2, &t.resolve, 0);
            encoder.copy_buffer_to_buffer(&t.resolve, 0, &staging, 0, 16);
        }
        // Timing ends here: the resolve is recorded above, so `flush` (inside map_read) must
        // not record another. The query set lives until the submit that uses it is done.
        let timing = lock(&self.inner.pending).timing.take();
        let ticks = self.map_read(&staging, 16, |b| {
            bytemuck::cast_slice::<u8, u64>(b).to_vec()
        });
        drop(timing);
        let period_ns = self.inner.queue.get_timestamp_period() as f64;
        let ms = ticks[1].saturating_sub(ticks[0]) as f64 * period_ns / 1e6;
        (ms / reps as f64, true)
    }
}

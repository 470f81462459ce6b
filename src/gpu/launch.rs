//! Compiling programs and recording dispatches.
//!
//! A kernel binds its storage buffers at bindings 0..n in the order given and its parameter
//! block as a uniform at binding n; a specialised kernel has its parameters compiled in as
//! WGSL constants instead, and no uniform. Dispatches are recorded into one compute pass of
//! one pending command encoder (wgpu places the barriers between them), their bind groups
//! taken from a cache, and their parameters packed into one uniform "ring" buffer, written
//! once per submit. The batch is submitted every 64 dispatches (so the GPU works while the
//! rest is recorded), when a result is read back or data uploaded, or when the ring fills.

use super::profile::{self, Profile};
use super::program::{Constant, Kernel, Params};
use super::{lock, Gpu, GpuBuffer};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

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
const MAX_PARAM_BYTES: usize = 256;

pub(super) struct Pending {
    pub(super) encoder: Option<wgpu::CommandEncoder>,
    /// The compute pass that untimed dispatches share until the next submit or other command:
    /// one pass per dispatch cost CPU time, and wgpu orders the dispatches inside a pass.
    pub(super) pass: Option<wgpu::ComputePass<'static>>,
    /// Bind groups by pipeline, bound buffer windows and parameter slot: a training step binds
    /// the same pooled buffers in the same order every time, so after the first step every
    /// dispatch finds its bind group here instead of making one.
    pub(super) bind_groups: HashMap<BindKey, wgpu::BindGroup>,
    pub(super) ring: wgpu::Buffer,
    pub(super) params: Vec<u8>,
    slot: u64,
    pub(super) timing: Option<super::timing::Timing>,
    pub(super) profile: Option<Profile>,
    /// Dispatches recorded since the last submit, and how many make a submit.
    pub(super) recorded: u32,
    flush_every: u32,
    /// Read-back buffers kept for reuse (see `transfer`).
    pub(super) readback: Vec<wgpu::Buffer>,
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

    /// The command encoder, with the shared compute pass ended (other commands need that).
    pub(super) fn encoder(&mut self, device: &wgpu::Device) -> &mut wgpu::CommandEncoder {
        self.pass = None;
        self.encoder
            .get_or_insert_with(|| device.create_command_encoder(&Default::default()))
    }

    /// Copies a parameter block into the ring; its offset there.
    fn push_params(&mut self, bytes: &[u8]) -> u64 {
        let offset = self.params.len() as u64;
        self.params.extend_from_slice(bytes);
        // Uniform blocks are read in 16-byte rows; pad the block, then to the next slot.
        self.params.resize((offset + self.slot) as usize, 0);
        offset
    }

    fn is_full(&self) -> bool {
        let ring_full = self.params.len() as u64 + self.slot > RING_BYTES;
        let profile_full = self
            .profile
            .as_ref()
            .is_some_and(|p| p.labels.len() as u32 >= profile::CAPACITY);
        ring_full || profile_full
    }
}

impl Gpu {
    /// The pipeline of `kernel` with `constants` compiled in (none for a uniform kernel),
    /// compiled on first use and cached by program, entry and the constants' values.
    fn pipeline(&self, kernel: Kernel, constants: &[(&str, &dyn Constant)]) -> Arc<Compiled> {
        let key = (kernel.program.name, kernel.entry);
        let values: Vec<u32> = constants
            .iter()
            .flat_map(|(_, c)| c.words().iter().copied())
            .collect();
        if let Some(p) = lock(&self.inner.pipelines)
            .get(&key)
            .and_then(|m| m.get(&values))
        {
            return p.clone();
        }
        let compiled = Arc::new(self.compile(kernel, &super::program::constants(constants)));
        lock(&self.inner.pipelines)
            .entry(key)
            .or_default()
            .insert(values, compiled.clone());
        compiled
    }

    fn compile(&self, kernel: Kernel, constants: &str) -> Compiled {
        let device = &self.inner.device;
        let mut source = kernel.program.source(constants);
        let checked = self.is_checked();
        let mut checks = None;
        if checked {
            let i = super::checked::instrument(&source);
            source = i.source;
            checks = Some((i.binding, i.arrays));
        }
        let label = kernel.label();
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some(&label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        };
        let module = if checked {
            device.create_shader_module(desc)
        } else {
            // SAFETY: not proven for every possible input. An index out of range here reads or
            // writes outside its binding, silently. What holds: every kernel bounds its
            // invocations by the element counts it is given (checked conversions on the host,
            // `ops::u32_of`), and CI runs the op tests on awkward shapes in the checked mode,
            // where each storage index is compared with its binding's length and any one out
            // of range fails the test (`checked.rs`). wgpu's own checks would cost 20x on a
            // tight matrix product, and would only clamp a wrong index, not report it.
            unsafe {
                device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
            }
        };
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module: &module,
            entry_point: Some(kernel.entry),
            compilation_options: Default::default(),
            cache: None,
        });
        Compiled {
            layout: pipeline.get_bind_group_layout(0),
            pipeline,
            checks,
        }
    }

    /// Records one dispatch of `kernel` over `groups` workgroups, its parameter block bound as
    /// a uniform after the views.
    pub fn dispatch<P: Params>(
        &self,
        kernel: Kernel,
        views: &[View],
        params: &P,
        groups: [u32; 3],
    ) {
        debug_assert!(
            kernel.program.blocks.contains(&P::WGSL),
            "{} does not read a {}",
            kernel.program.name,
            P::NAME
        );
        let bytes: &[u8] = bytemuck::bytes_of(params);
        assert!(
            bytes.len() <= MAX_PARAM_BYTES,
            "{}: too many parameters",
            P::NAME
        );
        self.record(kernel, &[], views, Some(bytes), groups);
    }

    /// Records one dispatch of a kernel specialised by `constants` (`const NAME = Block(..);`
    /// each), which has no uniform.
    pub fn dispatch_specialized(
        &self,
        kernel: Kernel,
        constants: &[(&str, &dyn Constant)],
        views: &[View],
        groups: [u32; 3],
    ) {
        self.record(kernel, constants, views, None, groups);
    }

    /// Records one dispatch of a kernel specialised by `constants` that also reads `params`
    /// as a uniform after the views: `conv::unrolled`, whose code is written for a block of
    /// work while its sizes are read at run time, so that layers of one block share a
    /// pipeline (each costs seconds to compile on a software adapter).
    pub fn dispatch_specialized_with<P: Params>(
        &self,
        kernel: Kernel,
        constants: &[(&str, &dyn Constant)],
        views: &[View],
        params: &P,
        groups: [u32; 3],
    ) {
        self.record(
            kernel,
            constants,
            views,
            Some(bytemuck::bytes_of(params)),
            groups,
        );
    }

    fn record(
        &self,
        kernel: Kernel,
        constants: &[(&str, &dyn Constant)],
        views: &[View],
        params: Option<&[u8]>,
        groups: [u32; 3],
    ) {
        let max = self.max_groups();
        assert!(
            groups.iter().all(|&g| g <= max),
            "{}: {groups:?} workgroups exceed {max}",
            kernel.label()
        );
        if groups.contains(&0) {
            return;
        }
        let compiled = self.pipeline(kernel, constants);
        let mut guard = lock(&self.inner.pending);
        if guard.is_full() {
            drop(guard);
            self.flush();
            guard = lock(&self.inner.pending);
        }
        let pending = &mut *guard;
        let param_offset = params.map(|bytes| pending.push_params(bytes));
        let bind_group = self.bind_group(pending, &compiled, views, params, param_offset);
        self.encode(pending, kernel, &compiled, &bind_group, groups);
        self.count_dispatch();
        pending.recorded += 1;
        let timing = pending.timing.is_some();
        let submit = !timing && pending.recorded >= pending.flush_every;
        // Flushing and checking take the lock again.
        drop(guard);
        if self.inner.debug > 0 {
            self.debug_line(kernel, groups, timing);
        }
        if let Some((_, arrays)) = &compiled.checks {
            self.check_report(kernel, arrays);
        } else if submit {
            self.flush();
        }
    }

    /// The bind group of these views and parameter slot, from the cache or made now.
    fn bind_group(
        &self,
        pending: &mut Pending,
        compiled: &Compiled,
        views: &[View],
        params: Option<&[u8]>,
        param_offset: Option<u64>,
    ) -> wgpu::BindGroup {
        let key = BindKey {
            pipeline: compiled as *const Compiled as usize,
            views: views
                .iter()
                .map(|v| (v.buffer.raw().clone(), v.offset, v.bytes))
                .collect(),
            params: param_offset,
        };
        if pending.bind_groups.len() >= MAX_BIND_GROUPS && !pending.bind_groups.contains_key(&key) {
            pending.bind_groups.clear();
        }
        let ring = &pending.ring;
        let make = || {
            let buffer = |binding: u32, buffer, offset, size| wgpu::BindGroupEntry {
                binding,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer,
                    offset,
                    size: wgpu::BufferSize::new(size),
                }),
            };
            let mut entries: Vec<wgpu::BindGroupEntry> = views
                .iter()
                .enumerate()
                .map(|(i, v)| buffer(i as u32, v.buffer.raw(), v.offset, v.bytes))
                .collect();
            if let Some((binding, _)) = &compiled.checks {
                entries.push(wgpu::BindGroupEntry {
                    binding: *binding,
                    resource: self.inner.oob_report.as_entire_binding(),
                });
            }
            if let (Some(bytes), Some(offset)) = (params, param_offset) {
                let size = (bytes.len() as u64).next_multiple_of(16).max(16);
                entries.push(buffer(views.len() as u32, ring, offset, size));
            }
            self.inner
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &compiled.layout,
                    entries: &entries,
                })
        };
        pending.bind_groups.entry(key).or_insert_with(make).clone()
    }

    /// Appends the dispatch to the shared compute pass, or to a pass of its own when it is
    /// timed (timestamps mark passes).
    fn encode(
        &self,
        pending: &mut Pending,
        kernel: Kernel,
        compiled: &Compiled,
        bind_group: &wgpu::BindGroup,
        groups: [u32; 3],
    ) {
        let timestamp_writes = match (&mut pending.timing, &mut pending.profile) {
            (Some(t), _) => Some(t.next_pass()),
            (None, Some(p)) => Some(p.next_pass(kernel.label())),
            (None, None) => None,
        };
        let device = &self.inner.device;
        let encoder = pending
            .encoder
            .get_or_insert_with(|| device.create_command_encoder(&Default::default()));
        let dispatch = |pass: &mut wgpu::ComputePass<'_>| {
            pass.set_pipeline(&compiled.pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        };
        if timestamp_writes.is_some() {
            pending.pass = None;
            dispatch(
                &mut encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes,
                }),
            );
        } else {
            dispatch(pending.pass.get_or_insert_with(|| {
                encoder
                    .begin_compute_pass(&Default::default())
                    .forget_lifetime()
            }));
        }
    }

    /// Checked mode: runs what is recorded and stops at the first kernel that reported an
    /// index out of range.
    fn check_report(&self, kernel: Kernel, arrays: &[String]) {
        let report = self.read_u32s(&self.inner.oob_report, 16);
        if report[0] > 0 {
            self.inner
                .queue
                .write_buffer(&self.inner.oob_report, 0, &[0u8; 16]);
            let array = arrays.get(report[1] as usize).map_or("?", String::as_str);
            panic!(
                "{} read or wrote '{array}' at index {} (as u32), outside its binding ({} accesses out of range)",
                kernel.label(),
                report[2],
                report[0]
            );
        }
    }

    fn debug_line(&self, kernel: Kernel, groups: [u32; 3], timing: bool) {
        if self.inner.debug >= 2 && !timing {
            let t = Instant::now();
            self.finish();
            eprintln!(
                "[gpu] {} {groups:?} {:.3} ms (synchronous)",
                kernel.label(),
                t.elapsed().as_secs_f64() * 1e3
            );
        } else {
            eprintln!("[gpu] {} {groups:?}", kernel.label());
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
}

//! Per-kernel GPU time, for `SRGAN_WGPU_PROFILE=1`: every compute pass writes a timestamp at
//! its start and end, each submit reads them back (so profiling waits for the GPU at every
//! submit), and the durations are summed by kernel. `bench --networks` prints the sums of one
//! workload beside its wall time, which says where a step's time goes.

use std::collections::HashMap;

/// Passes timed per submit; a fuller batch is submitted early.
pub(super) const CAPACITY: u32 = 2048;

pub(super) struct Profile {
    pub queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    staging: wgpu::Buffer,
    /// The kernel of each pass recorded since the last submit.
    pub labels: Vec<String>,
    /// Kernel -> (passes, milliseconds).
    totals: HashMap<String, (u64, f64)>,
}

impl Profile {
    pub fn new(device: &wgpu::Device) -> Profile {
        let bytes = 2 * CAPACITY as u64 * 8;
        let buffer = |usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("profile"),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Profile {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("profile"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * CAPACITY,
            }),
            resolve: buffer(wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC),
            staging: buffer(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
            labels: Vec::new(),
            totals: HashMap::new(),
        }
    }

    /// The timestamp writes of the next pass, labelled `kernel`.
    pub fn next_pass(&mut self, kernel: String) -> wgpu::ComputePassTimestampWrites<'_> {
        let slot = self.labels.len() as u32;
        self.labels.push(kernel);
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(2 * slot),
            end_of_pass_write_index: Some(2 * slot + 1),
        }
    }

    /// Records copying this batch's timestamps out; call before the encoder is submitted.
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let n = 2 * self.labels.len() as u32;
        if n > 0 {
            encoder.resolve_query_set(&self.queries, 0..n, &self.resolve, 0);
            encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.staging, 0, n as u64 * 8);
        }
    }

    /// After the submit: waits for it, adds each pass's time to its kernel's total.
    pub fn collect(&mut self, device: &wgpu::Device, period_ns: f64) {
        if self.labels.is_empty() {
            return;
        }
        let bytes = self.labels.len() as u64 * 16;
        let slice = self.staging.slice(0..bytes);
        slice.map_async(wgpu::MapMode::Read, |r| r.expect("profile read-back"));
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("GPU device lost");
        let ticks: Vec<u64> =
            bytemuck::cast_slice(&slice.get_mapped_range().expect("mapped")).to_vec();
        self.staging.unmap();
        for (i, label) in self.labels.drain(..).enumerate() {
            let ms = ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period_ns / 1e6;
            let t = self.totals.entry(label).or_default();
            t.0 += 1;
            t.1 += ms;
        }
    }

    /// (kernel, passes, milliseconds), slowest first; clears the totals.
    pub fn take(&mut self) -> Vec<(String, u64, f64)> {
        let mut rows: Vec<_> = self.totals.drain().map(|(k, (n, ms))| (k, n, ms)).collect();
        rows.sort_by(|a, b| b.2.total_cmp(&a.2));
        rows
    }
}

//! Timing work on the GPU itself: timestamps around a run of dispatches (`Gpu::time_ms`).

use super::{lock, Gpu};
use std::time::Instant;

/// The two timestamps of a timed run: the start of its first pass and the end of its last.
pub(super) struct Timing {
    queries: wgpu::QuerySet,
    /// Where the two timestamps are resolved to.
    buffer: wgpu::Buffer,
    started: bool,
}

impl Timing {
    /// The timestamps of the next timed pass: the first stamps its start; every pass stamps
    /// its end, so after the last one query 1 holds the end of the whole run.
    pub(super) fn next_pass(&mut self) -> wgpu::ComputePassTimestampWrites<'_> {
        let begin = (!self.started).then_some(0);
        self.started = true;
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: begin,
            end_of_pass_write_index: Some(1),
        }
    }

    pub(super) fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.queries, 0..2, &self.buffer, 0);
    }
}

impl Gpu {
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
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        lock(&self.inner.pending).timing = Some(Timing {
            queries,
            buffer,
            started: false,
        });
        for _ in 0..reps {
            work();
        }
        let staging = self.staging(16);
        {
            let mut pending = lock(&self.inner.pending);
            let pending = &mut *pending;
            let t = pending.timing.as_ref().expect("timing");
            let encoder = pending
                .encoder
                .get_or_insert_with(|| device.create_command_encoder(&Default::default()));
            pending.pass = None;
            t.resolve(encoder);
            encoder.copy_buffer_to_buffer(&t.buffer, 0, &staging, 0, 16);
        }
        // Timing ends here: the resolve is recorded above, so `submit` (inside map_read) must
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

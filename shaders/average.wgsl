// One update of an exponential moving average of weights, in place (`train --ema`):
//   avg[i] += alpha * (x[i] - avg[i]), for i in 0..n, with alpha = 1 - decay.
// Layout and indexing as unary.wgsl: flat windows of at most one binding; `base` unused.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> avg: array<f32>;
@group(0) @binding(2) var<uniform> p: Elementwise;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  avg[i] += p.alpha * (x[i] - avg[i]);
}

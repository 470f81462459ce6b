// Running statistics: running = (1 - momentum) * running + momentum * scale * stat, in place.
// Batch norm uses scale = M / (M - 1) for the variance, so the running variance is unbiased
// as in PyTorch.
struct Params { n: u32, momentum: f32, scale: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> stat: array<f32>;
@group(0) @binding(1) var<storage, read_write> running: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  running[i] = (1.0 - p.momentum) * running[i] + p.momentum * p.scale * stat[i];
}

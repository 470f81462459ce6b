// Second half of training-mode batch norm's backward, one invocation per element of [N, C, HW]:
//   dx = gamma * inv_std * (dy - dbeta / M - xhat * dgamma / M),  M = N * HW.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read> dbeta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<uniform> p: BatchNormElements;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = ((p.base + i) / p.hw) % p.channels;
  let inv_std = inverseSqrt(variance[c] + p.eps);
  let xhat = (x[i] - mean[c]) * inv_std;
  dx[i] = gamma[c] * inv_std * (dy[i] - dbeta[c] / p.count - xhat * dgamma[c] / p.count);
}

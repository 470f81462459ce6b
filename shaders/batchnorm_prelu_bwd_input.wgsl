// Second half of the backward of batch norm then PReLU, one invocation per element of
// [N, C, HW]: with z and dz recomputed as in batchnorm_prelu_bwd_reduce.wgsl, whose per-channel
// values (`coef`, from its out[3 spacing]) this reads,
//   dx = gamma * inv_std * (dz - dbeta / M - xhat * dgamma / M).
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> coef: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: BatchNormElements;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let k = 8u * (((p.base + i) / p.hw) % p.channels);
  let m = coef[k];
  let inv_std = coef[k + 1u];
  let g = coef[k + 2u];
  let xhat = (x[i] - m) * inv_std;
  let z = xhat * g + coef[k + 3u];
  let dz = select(coef[k + 4u] * dy[i], dy[i], z > 0.0);
  dx[i] = g * inv_std * (dz - coef[k + 5u] - xhat * coef[k + 6u]);
}

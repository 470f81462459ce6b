// Training-mode batch norm and the PReLU after it in one pass, x of layout [N, C, HW]:
//   z = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c],  y = z if z > 0 else slope[c] z
// with the batch's statistics (batchnorm_stats.wgsl) and one slope per channel. z is not
// stored: the backward recomputes it from x. One invocation per element; `base` as in
// batchnorm_apply.wgsl.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> variance: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> slope: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<uniform> p: BatchNormElements;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = ((p.base + i) / p.hw) % p.channels;
  let z = (x[i] - mean[c]) * inverseSqrt(variance[c] + p.eps) * gamma[c] + beta[c];
  y[i] = select(slope[c] * z, z, z > 0.0);
}

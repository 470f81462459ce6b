// y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c] for x of layout [N, C, HW].
// Mean and variance are the batch's (training) or the running ones (inference). One invocation
// per element; `base` is the flat index of the window's first element, so the channel of a
// tensor bound in pieces is still known.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> variance: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<uniform> p: BatchNormElements;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = ((p.base + i) / p.hw) % p.channels;
  let inv_std = inverseSqrt(variance[c] + p.eps);
  y[i] = (x[i] - mean[c]) * inv_std * gamma[c] + beta[c];
}

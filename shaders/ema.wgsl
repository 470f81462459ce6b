// Running statistics of batch norm, both in one pass, in place:
//   running_mean = (1 - momentum) running_mean + momentum mean
//   running_var = (1 - momentum) running_var + momentum unbias var
// with unbias = M / (M - 1), so the running variance is unbiased as in PyTorch.
@group(0) @binding(0) var<storage, read> mean: array<f32>;
@group(0) @binding(1) var<storage, read> var_: array<f32>;
@group(0) @binding(2) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(4) var<uniform> p: EmaParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  running_mean[i] = (1.0 - p.momentum) * running_mean[i] + p.momentum * mean[i];
  running_var[i] = (1.0 - p.momentum) * running_var[i] + p.momentum * p.unbias * var_[i];
}

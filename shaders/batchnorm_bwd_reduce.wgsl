// First half of training-mode batch norm's backward (derivation in src/ops/batchnorm.rs):
// per channel, dbeta = sum(dy) and dgamma = sum(dy * xhat) with xhat = (x - mean) * inv_std,
// over N and HW. One workgroup per channel, layout [N, C, HW].
struct Params { batch: u32, channels: u32, hw: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let m = mean[c];
  let inv_std = inverseSqrt(variance[c] + p.eps);
  var sum_dy = 0.0;
  var sum_dy_xhat = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let row = (n * p.channels + c) * p.hw;
    for (var i = lid; i < p.hw; i += 256u) {
      let g = dy[row + i];
      sum_dy += g;
      sum_dy_xhat += g * (x[row + i] - m) * inv_std;
    }
  }
  let a = workgroup_sum(sum_dy, lid);
  let b = workgroup_sum(sum_dy_xhat, lid);
  if (lid == 0u) { dbeta[c] = a; dgamma[c] = b; }
}

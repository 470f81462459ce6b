// First half of training-mode batch norm's backward (derivation in src/ops/batchnorm.rs):
// per channel, dbeta = sum(dy) and dgamma = sum(dy * xhat) with xhat = (x - mean) * inv_std,
// over N and HW. One workgroup per channel, layout [N, C, HW].
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(6) var<uniform> p: BatchNormChannels;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let m = mean[c];
  let inv_std = inverseSqrt(variance[c] + p.eps);
  let len = p.batch * p.hw;
  var sum_dy = vec4(0.0);
  var sum_dy_xhat = vec4(0.0);
  var j = lid;
  for (; j + 768u < len; j += 1024u) {
    let i = vec4(nchw_at(j, c, p.channels, p.hw), nchw_at(j + 256u, c, p.channels, p.hw),
                 nchw_at(j + 512u, c, p.channels, p.hw), nchw_at(j + 768u, c, p.channels, p.hw));
    let g = vec4(dy[i.x], dy[i.y], dy[i.z], dy[i.w]);
    sum_dy += g;
    sum_dy_xhat += g * (vec4(x[i.x], x[i.y], x[i.z], x[i.w]) - m) * inv_std;
  }
  for (; j < len; j += 256u) {
    let i = nchw_at(j, c, p.channels, p.hw);
    sum_dy.x += dy[i];
    sum_dy_xhat.x += dy[i] * (x[i] - m) * inv_std;
  }
  let a = workgroup_sum((sum_dy.x + sum_dy.y) + (sum_dy.z + sum_dy.w), lid);
  let b = workgroup_sum((sum_dy_xhat.x + sum_dy_xhat.y) + (sum_dy_xhat.z + sum_dy_xhat.w), lid);
  if (lid == 0u) { dbeta[c] = a; dgamma[c] = b; }
}

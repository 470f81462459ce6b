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

// Over j, j + 256, j + 512, j + 768 of channel c, those below len: the sums of dy and of
// dy * xhat.
fn four(j: u32, c: u32, len: u32, m: f32, inv_std: f32) -> array<vec4<f32>, 2> {
  var g = vec4(0.0);
  var xhat = vec4(0.0);
  for (var k = 0u; k < 4u; k++) {
    if (j + 256u * k < len) {
      let i = nchw_at(j + 256u * k, c, p.channels, p.hw);
      g[k] = dy[i];
      xhat[k] = (x[i] - m) * inv_std;
    }
  }
  return array(g, g * xhat);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let m = mean[c];
  let inv_std = inverseSqrt(variance[c] + p.eps);
  let len = p.batch * p.hw;
  var sum_dy = vec4(0.0);
  var sum_dy_xhat = vec4(0.0);
  for (var j = lid; j < len; j += SPAN) {
    let s0 = four(j, c, len, m, inv_std);
    let s1 = four(j + 1024u, c, len, m, inv_std);
    let s2 = four(j + 2048u, c, len, m, inv_std);
    let s3 = four(j + 3072u, c, len, m, inv_std);
    sum_dy += (s0[0] + s1[0]) + (s2[0] + s3[0]);
    sum_dy_xhat += (s0[1] + s1[1]) + (s2[1] + s3[1]);
  }
  let a = workgroup_sum((sum_dy.x + sum_dy.y) + (sum_dy.z + sum_dy.w), lid);
  let b = workgroup_sum((sum_dy_xhat.x + sum_dy_xhat.y) + (sum_dy_xhat.z + sum_dy_xhat.w), lid);
  if (lid == 0u) { dbeta[c] = a; dgamma[c] = b; }
}

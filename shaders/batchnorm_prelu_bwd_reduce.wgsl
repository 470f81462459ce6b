// First half of the backward of batch norm then PReLU (batchnorm_prelu.wgsl; derivation in
// src/ops/batchnorm.rs): per channel, with z recomputed from x and dz = dy where z > 0, else
// slope dy (PReLU's backward),
//   dbeta = sum(dz),  dgamma = sum(dz * xhat),  dslope = sum(dy * z where z <= 0)
// over N and HW. One workgroup per channel, layout [N, C, HW]. Writes dgamma, dbeta and dslope
// to out[c], out[spacing + c] and out[2 spacing + c] (the gradients, slices of one buffer), and
// to out[3 spacing + 8 c + j], j = 0..6, what the second half needs of this channel: mean,
// inv_std, gamma, beta, slope, dbeta / M and dgamma / M (M = N HW; slot 7 is padding).
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read> slope: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<uniform> p: BatchNormChannels;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let m = mean[c];
  let inv_std = inverseSqrt(variance[c] + p.eps);
  let g = gamma[c];
  let b = beta[c];
  let a = slope[c];
  let len = p.batch * p.hw;
  var sum_dz = vec4(0.0);
  var sum_dz_xhat = vec4(0.0);
  var sum_slope = vec4(0.0);
  var j = lid;
  for (; j + 768u < len; j += 1024u) {
    let i = vec4(nchw_at(j, c, p.channels, p.hw), nchw_at(j + 256u, c, p.channels, p.hw),
                 nchw_at(j + 512u, c, p.channels, p.hw), nchw_at(j + 768u, c, p.channels, p.hw));
    let d = vec4(dy[i.x], dy[i.y], dy[i.z], dy[i.w]);
    let xhat = (vec4(x[i.x], x[i.y], x[i.z], x[i.w]) - m) * inv_std;
    let z = xhat * g + b;
    let positive = z > vec4(0.0);
    let dz = select(a * d, d, positive);
    sum_dz += dz;
    sum_dz_xhat += dz * xhat;
    sum_slope += select(d * z, vec4(0.0), positive);
  }
  for (; j < len; j += 256u) {
    let i = nchw_at(j, c, p.channels, p.hw);
    let xhat = (x[i] - m) * inv_std;
    let z = xhat * g + b;
    let dz = select(a * dy[i], dy[i], z > 0.0);
    sum_dz.x += dz;
    sum_dz_xhat.x += dz * xhat;
    sum_slope.x += select(dy[i] * z, 0.0, z > 0.0);
  }
  let dbeta = workgroup_sum((sum_dz.x + sum_dz.y) + (sum_dz.z + sum_dz.w), lid);
  let dgamma = workgroup_sum((sum_dz_xhat.x + sum_dz_xhat.y) + (sum_dz_xhat.z + sum_dz_xhat.w), lid);
  let dslope = workgroup_sum((sum_slope.x + sum_slope.y) + (sum_slope.z + sum_slope.w), lid);
  if (lid == 0u) {
    let s = p.spacing;
    out[c] = dgamma;
    out[s + c] = dbeta;
    out[2u * s + c] = dslope;
    let count = f32(len);
    let k = 3u * s + 8u * c;
    out[k] = m;
    out[k + 1u] = inv_std;
    out[k + 2u] = g;
    out[k + 3u] = b;
    out[k + 4u] = a;
    out[k + 5u] = dbeta / count;
    out[k + 6u] = dgamma / count;
  }
}

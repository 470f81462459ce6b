// Batch statistics of x, layout [N, C, HW]: per channel the mean and the biased variance
// (divided by N*HW), the two numbers training-mode batch norm normalises with. One workgroup
// per channel; the variance is summed around the mean (two passes) rather than as
// E[x^2] - mean^2, which loses all precision when the mean is large.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> variance: array<f32>;
@group(0) @binding(3) var<uniform> p: BatchNormChannels;

// Elements j, j + 256, j + 512, j + 768 of channel c.
fn four(j: u32, c: u32) -> vec4<f32> {
  return vec4(x[nchw_at(j, c, p.channels, p.hw)], x[nchw_at(j + 256u, c, p.channels, p.hw)],
              x[nchw_at(j + 512u, c, p.channels, p.hw)], x[nchw_at(j + 768u, c, p.channels, p.hw)]);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let len = p.batch * p.hw;
  let count = f32(len);
  var acc = vec4(0.0);
  var j = lid;
  for (; j + 768u < len; j += 1024u) { acc += four(j, c); }
  for (; j < len; j += 256u) { acc.x += x[nchw_at(j, c, p.channels, p.hw)]; }
  let m = workgroup_sum((acc.x + acc.y) + (acc.z + acc.w), lid) / count;
  var sq = vec4(0.0);
  j = lid;
  for (; j + 768u < len; j += 1024u) { let d = four(j, c) - m; sq += d * d; }
  for (; j < len; j += 256u) { let d = x[nchw_at(j, c, p.channels, p.hw)] - m; sq.x += d * d; }
  let v = workgroup_sum((sq.x + sq.y) + (sq.z + sq.w), lid) / count;
  if (lid == 0u) { mean[c] = m; variance[c] = v; }
}

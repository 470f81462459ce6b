// Batch statistics of x, layout [N, C, HW]: per channel the mean and the biased variance
// (divided by N*HW), the two numbers training-mode batch norm normalises with. One workgroup
// per channel; the variance is summed around the mean (two passes) rather than as
// E[x^2] - mean^2, which loses all precision when the mean is large.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> variance: array<f32>;
@group(0) @binding(3) var<uniform> p: BatchNormChannels;

// Elements j, j + 256, j + 512, j + 768 of channel c; zero from len on.
fn four(j: u32, c: u32, len: u32) -> vec4<f32> {
  var v = vec4(0.0);
  for (var k = 0u; k < 4u; k++) {
    if (j + 256u * k < len) { v[k] = x[nchw_at(j + 256u * k, c, p.channels, p.hw)]; }
  }
  return v;
}

// The same less m, and zero from len on.
fn four_less(j: u32, c: u32, len: u32, m: f32) -> vec4<f32> {
  return (four(j, c, len) - m) * lanes(j, len);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let len = p.batch * p.hw;
  let count = f32(len);
  var acc = vec4(0.0);
  for (var j = lid; j < len; j += SPAN) {
    acc += (four(j, c, len) + four(j + 1024u, c, len))
         + (four(j + 2048u, c, len) + four(j + 3072u, c, len));
  }
  let m = workgroup_sum((acc.x + acc.y) + (acc.z + acc.w), lid) / count;
  var sq = vec4(0.0);
  for (var j = lid; j < len; j += SPAN) {
    let d0 = four_less(j, c, len, m);
    let d1 = four_less(j + 1024u, c, len, m);
    let d2 = four_less(j + 2048u, c, len, m);
    let d3 = four_less(j + 3072u, c, len, m);
    sq += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
  }
  let v = workgroup_sum((sq.x + sq.y) + (sq.z + sq.w), lid) / count;
  if (lid == 0u) { mean[c] = m; variance[c] = v; }
}

// Batch statistics of x, layout [N, C, HW]: per channel the mean and the biased variance
// (divided by N*HW), the two numbers training-mode batch norm normalises with. One workgroup
// per channel; the variance is summed around the mean (two passes) rather than as
// E[x^2] - mean^2, which loses all precision when the mean is large.
struct Params { batch: u32, channels: u32, hw: u32, _pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> variance: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let count = f32(p.batch * p.hw);
  var acc = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let row = (n * p.channels + c) * p.hw;
    for (var i = lid; i < p.hw; i += 256u) { acc += x[row + i]; }
  }
  let m = workgroup_sum(acc, lid) / count;
  var sq = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let row = (n * p.channels + c) * p.hw;
    for (var i = lid; i < p.hw; i += 256u) { let d = x[row + i] - m; sq += d * d; }
  }
  let v = workgroup_sum(sq, lid) / count;
  if (lid == 0u) { mean[c] = m; variance[c] = v; }
}

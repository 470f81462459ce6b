// PReLU backward to the slopes: dslope[c] = sum over n, hw of dy * x where x <= 0.
// Layout [N, C, HW], one workgroup per channel; a shared slope is the case C = 1 with HW
// holding all the channels' pixels.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dslope: array<f32>;
@group(0) @binding(3) var<uniform> p: SlopeGradParams;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  var acc = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let row = (n * p.channels + c) * p.hw;
    for (var i = lid; i < p.hw; i += 256u) {
      let v = x[row + i];
      acc += select(dy[row + i] * v, 0.0, v > 0.0);
    }
  }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u) { dslope[c] = total; }
}

// PReLU backward to the slopes: dslope[c] = sum over n, hw of dy * x where x <= 0.
// Layout [N, C, HW], one workgroup per channel; a shared slope is the case C = 1 with HW
// holding all the channels' pixels.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dslope: array<f32>;
@group(0) @binding(3) var<uniform> p: SlopeGradParams;

// Over j, j + 256, j + 512, j + 768 of channel c, those below len: dy * x where x <= 0.
fn four(j: u32, c: u32, len: u32) -> vec4<f32> {
  var v = vec4(0.0);
  for (var k = 0u; k < 4u; k++) {
    if (j + 256u * k < len) {
      let i = nchw_at(j + 256u * k, c, p.channels, p.hw);
      v[k] = select(dy[i] * x[i], 0.0, x[i] > 0.0);
    }
  }
  return v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let len = p.batch * p.hw;
  var acc = vec4(0.0);
  for (var j = lid; j < len; j += SPAN) {
    acc += (four(j, c, len) + four(j + 1024u, c, len))
         + (four(j + 2048u, c, len) + four(j + 3072u, c, len));
  }
  let total = workgroup_sum((acc.x + acc.y) + (acc.z + acc.w), lid);
  if (lid == 0u) { dslope[c] = total; }
}

// LPIPS' distance at one layer (Zhang et al. 2018), per pixel: each feature vector (the C
// channels at a pixel) divided by its length plus 1e-10, then the squared differences of the
// two images' unit vectors weighted by the layer's linear head w [C] and summed:
//   d = sum_c w_c (f0_c a0 - f1_c a1)^2,  a = 1 / (|f| + 1e-10).
// f0, f1 [N, C, H, W]; d [N, 1, H, W]. One invocation per pixel.
// `grad`: dd [N, 1, H, W] -> df0, df1 [N, C, H, W]. With g_c = 2 w_c (f0_c a0 - f1_c a1) dd,
//   df0_k = a0 g_k - a0^2 f0_k / |f0| * sum_c g_c f0_c,
//   df1_k = -a1 g_k + a1^2 f1_k / |f1| * sum_c g_c f1_c
// (the second terms are 0 at a zero vector, where the length has no derivative).
// The same struct in Rust: src/ops/lpips.rs, Lpips.
struct Params { pixels: u32, channels: u32, plane: u32, _pad: u32 }
@group(0) @binding(0) var<storage, read> f0: array<f32>;
@group(0) @binding(1) var<storage, read> f1: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> d: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const EPS: f32 = 1e-10;

// The index of channel 0 at pixel `i` of N x plane pixels; channel c is c * plane further.
fn first(i: u32) -> u32 {
  return (i / p.plane) * p.channels * p.plane + i % p.plane;
}

// The two feature vectors' lengths.
fn lengths(at: u32) -> vec2<f32> {
  var s = vec2<f32>(0.0);
  for (var c = 0u; c < p.channels; c++) {
    let j = at + c * p.plane;
    s += vec2<f32>(f0[j] * f0[j], f1[j] * f1[j]);
  }
  return sqrt(s);
}

@compute @workgroup_size(256)
fn distance(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.pixels) { return; }
  let at = first(i);
  let a = 1.0 / (lengths(at) + EPS);
  var sum = 0.0;
  for (var c = 0u; c < p.channels; c++) {
    let j = at + c * p.plane;
    let e = f0[j] * a.x - f1[j] * a.y;
    sum += w[c] * e * e;
  }
  d[i] = sum;
}

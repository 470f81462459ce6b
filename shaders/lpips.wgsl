// LPIPS' distance at one layer (Zhang et al. 2018), per pixel: each feature vector (the C
// channels at a pixel) divided by its length plus 1e-10, then the squared differences of the
// two images' unit vectors weighted by the layer's linear head w [C] and summed:
//   d = sum_c w_c (f0_c a0 - f1_c a1)^2,  a = 1 / (|f| + 1e-10).
// f0, f1 [N, C, H, W]; d [N, 1, H, W]. One invocation per pixel. Helpers: lpips_common.wgsl.
// The backward (lpips_bwd.wgsl): dd [N, 1, H, W] -> df0, df1 [N, C, H, W]. With
// g_c = 2 w_c (f0_c a0 - f1_c a1) dd,
//   df0_k = a0 g_k - a0^2 f0_k / |f0| * sum_c g_c f0_c,
//   df1_k = -a1 g_k + a1^2 f1_k / |f1| * sum_c g_c f1_c
// (the second terms are 0 at a zero vector, where the length has no derivative).
@group(0) @binding(0) var<storage, read> f0: array<f32>;
@group(0) @binding(1) var<storage, read> f1: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> d: array<f32>;
@group(0) @binding(4) var<uniform> p: LpipsParams;

@compute @workgroup_size(256)
fn distance(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.pixels) { return; }
  let at = first(i);
  let a = 1.0 / (lengths(at) + EPS);
  var sum = 0.0;
  for (var c = 0u; c < p.channels; c++) {
    let e = unit_diff(at + c * p.plane, a);
    sum += w[c] * e * e;
  }
  d[i] = sum;
}

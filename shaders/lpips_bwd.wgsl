// The backward of lpips.wgsl's distance (the formulas are there). One invocation per pixel.
// Helpers: lpips_common.wgsl.
@group(0) @binding(0) var<storage, read> f0: array<f32>;
@group(0) @binding(1) var<storage, read> f1: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dd: array<f32>;
@group(0) @binding(4) var<storage, read_write> df0: array<f32>;
@group(0) @binding(5) var<storage, read_write> df1: array<f32>;
@group(0) @binding(6) var<uniform> p: LpipsParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.pixels) { return; }
  let at = first(i);
  let len = lengths(at);
  let a = 1.0 / (len + EPS);
  // sum_c g_c f_c for each image, with g_c as in lpips.wgsl.
  var proj = vec2<f32>(0.0);
  for (var c = 0u; c < p.channels; c++) {
    let j = at + c * p.plane;
    proj += 2.0 * w[c] * unit_diff(j, a) * dd[i] * vec2<f32>(f0[j], f1[j]);
  }
  // a^2 / |f| * proj, 0 for a zero vector.
  let k = select(vec2<f32>(0.0), a * a / len * proj, len > vec2<f32>(0.0));
  for (var c = 0u; c < p.channels; c++) {
    let j = at + c * p.plane;
    let g = 2.0 * w[c] * unit_diff(j, a) * dd[i];
    df0[j] = a.x * g - k.x * f0[j];
    df1[j] = -a.y * g + k.y * f1[j];
  }
}

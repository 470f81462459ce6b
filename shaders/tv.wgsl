// Total variation of x [N, C, H, W]: the sum over all neighbouring pairs of squared
// differences, (x[h, w+1] - x[h, w])^2 + (x[h+1, w] - x[h, w])^2. `terms` writes each element's
// right and down pairs (summed afterwards); `grad` writes d(total)/dx, collecting the
// pairs each element belongs to: as the left/top member -2 d, as the right/bottom member +2 d.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: TvParams;

@compute @workgroup_size(256)
fn terms(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let w = i % p.width;
  let h = (i / p.width) % p.height;
  var t = 0.0;
  if (w + 1u < p.width) { let d = x[i + 1u] - x[i]; t += d * d; }
  if (h + 1u < p.height) { let d = x[i + p.width] - x[i]; t += d * d; }
  out[i] = t;
}

@compute @workgroup_size(256)
fn grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let w = i % p.width;
  let h = (i / p.width) % p.height;
  let v = x[i];
  var g = 0.0;
  if (w + 1u < p.width) { g -= 2.0 * (x[i + 1u] - v); }
  if (w > 0u) { g += 2.0 * (v - x[i - 1u]); }
  if (h + 1u < p.height) { g -= 2.0 * (x[i + p.width] - v); }
  if (h > 0u) { g += 2.0 * (v - x[i - p.width]); }
  out[i] = g;
}

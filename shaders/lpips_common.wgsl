// What lpips.wgsl and lpips_bwd.wgsl share: a pixel's feature vectors.
// Each includer declares f0, f1 (the two images' features, [N, C, H, W]) and p.

const EPS: f32 = 1e-10;

// The index of channel 0 at pixel `i` of N x plane pixels; channel c is c * plane further.
fn first(i: u32) -> u32 {
  return (i / p.plane) * p.channels * p.plane + i % p.plane;
}

// The two feature vectors' lengths at `at`.
fn lengths(at: u32) -> vec2<f32> {
  var s = vec2<f32>(0.0);
  for (var c = 0u; c < p.channels; c++) {
    let j = at + c * p.plane;
    s += vec2<f32>(f0[j] * f0[j], f1[j] * f1[j]);
  }
  return sqrt(s);
}

// The difference of the two unit vectors' components at `j`, with a = 1 / (length + EPS).
fn unit_diff(j: u32, a: vec2<f32>) -> f32 {
  return f0[j] * a.x - f1[j] * a.y;
}

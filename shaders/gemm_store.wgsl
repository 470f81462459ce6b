// The output of a matrix product and its final store, shared by all users: bias,
// accumulation, or slice z of a split-K product (the bias, if any, with slice 0, so that the
// slices sum to the result).
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// z: the K slice when split (flags bit 1), else the image, which the users' index includes.
fn store(m: u32, n: u32, z: u32, index: u32, bias_index: u32, v: f32) {
  let split = (p.flags & 2u) != 0u;
  var out = v;
  if ((p.flags & 1u) != 0u && (!split || z == 0u)) { out += bias[bias_index]; }
  if (split) { c[(z * p.m + m) * p.n + n] = out; return; }
  if ((p.flags & 4u) != 0u) { out += c[index]; }
  c[index] = out;
}

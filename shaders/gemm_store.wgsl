// The output of a matrix product and its final store, shared by all users: bias,
// accumulation, or slice z of a split-K product.
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

fn store(m: u32, n: u32, z: u32, index: u32, bias_index: u32, v: f32) {
  if ((p.flags & 2u) != 0u) { c[(z * p.m + m) * p.n + n] = v; return; }
  var out = v;
  if ((p.flags & 1u) != 0u) { out += bias[bias_index]; }
  if ((p.flags & 4u) != 0u) { out += c[index]; }
  c[index] = out;
}

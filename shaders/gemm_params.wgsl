// Bindings and parameters of every gemm.wgsl / gemm_coop.wgsl user (see src/ops/gemm.rs for
// their meaning). `p` itself is declared by gemm_uniform.wgsl (the generic kernels) or as a
// constant in the header of a specialised one.
// flags: bit 0 add bias, bit 1 split K over z (write slice z of c), bit 2 accumulate into c.
struct Params {
  m: u32, n: u32, k: u32, tiles_n: u32,
  tiles: u32, k_per_z: u32, a_base: u32, b_base: u32,
  c_base: u32, flags: u32, cin: u32, height: u32,
  width: u32, cout: u32, out_h: u32, out_w: u32,
  kh: u32, kw: u32, stride: u32, pad: u32,
  sa_m: u32, sa_k: u32, sb_k: u32, sb_n: u32,
}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Final store shared by all users: bias, accumulation, or slice z of a split-K product.
fn store(m: u32, n: u32, z: u32, index: u32, bias_index: u32, v: f32) {
  if ((p.flags & 2u) != 0u) { c[(z * p.m + m) * p.n + n] = v; return; }
  var out = v;
  if ((p.flags & 1u) != 0u) { out += bias[bias_index]; }
  if ((p.flags & 4u) != 0u) { out += c[index]; }
  c[index] = out;
}

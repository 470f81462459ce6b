// The output of a matrix product and its final store, shared by all users: bias,
// accumulation, or slice z of a split-K product (the bias, if any, with slice 0, so that the
// slices sum to the result). Flags bits 3-6 hand the value to store_epilogue, which is
// gemm_epilogue.wgsl in kernels that may fuse the layers after a convolution and
// gemm_epilogue_none.wgsl in the others: lavapipe runs the code of both sides of a branch, so
// the epilogue's code made every f32 product there 35% slower even with the flags off.
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> slope: array<f32>;
@group(0) @binding(5) var<storage, read> residual: array<f32>;

// z: the K slice when split (flags bit 1), else the image, which the users' index includes.
fn store(m: u32, n: u32, z: u32, index: u32, bias_index: u32, v: f32) {
  let split = (p.flags & 2u) != 0u;
  var out = v;
  if ((p.flags & 1u) != 0u && (!split || z == 0u)) { out += bias[bias_index]; }
  if (split) { c[(z * p.m + m) * p.n + n] = out; return; }
  if ((p.flags & 4u) != 0u) { out += c[index]; }
  if ((p.flags & 120u) != 0u) {
    store_epilogue(m, index, out);
    return;
  }
  c[index] = out;
}

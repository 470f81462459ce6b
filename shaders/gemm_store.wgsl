// The output of a matrix product and its final store, shared by all users: the bias,
// accumulation, or slice z of a split product (the bias with slice 0, so that the slices sum
// to the result). The epilogue's flags hand the value to store_epilogue: gemm_epilogue.wgsl
// in programs that fuse the layers after a convolution, gemm_epilogue_none.wgsl in the
// others (a software adapter runs both sides of a branch: benches/NOTES.md).
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> slope: array<f32>;
@group(0) @binding(5) var<storage, read> residual: array<f32>;

const EPILOGUE = FLAG_RESIDUAL | FLAG_PRELU | FLAG_SHUFFLE | FLAG_TANH;

// z: the K slice when split, else the image, which the users' index includes.
fn store(m: u32, n: u32, z: u32, index: u32, bias_index: u32, v: f32) {
  let split = (p.flags & FLAG_SPLIT) != 0u;
  var out = v;
  if ((p.flags & FLAG_BIAS) != 0u && (!split || z == 0u)) { out += bias[bias_index]; }
  if (split) { c[(z * p.m + m) * p.n + n] = out; return; }
  if ((p.flags & FLAG_ACCUMULATE) != 0u) { out += c[index]; }
  if ((p.flags & EPILOGUE) != 0u) {
    store_epilogue(m, index, out);
    return;
  }
  c[index] = out;
}

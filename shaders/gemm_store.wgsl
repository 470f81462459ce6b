// The output of a matrix product and its final store, shared by all users: the bias,
// accumulation, or slice `slice` of a split product (the bias with slice 0, so that the slices
// sum to the result). The epilogue's flags hand the value to store_epilogue: gemm_epilogue.wgsl
// in programs that fuse the layers after a convolution, gemm_epilogue_none.wgsl in the
// others (a software adapter runs both sides of a branch: benches/NOTES.md). It reads and
// writes the bindings named bias, c, slope and residual: gemm_out.wgsl's in the products,
// conv_winograd_output.wgsl's own in Winograd's output transform.

const EPILOGUE = FLAG_RESIDUAL | FLAG_PRELU | FLAG_SHUFFLE | FLAG_TANH;

// With FLAG_SPLIT, the K slice this workgroup sums (set by gemm_tiled.wgsl from z; gemm_f16.wgsl
// writes its slices itself). Without it store() ignores it, and gemm_winograd.wgsl reads it
// as which of its 36 products the workgroup computes.
var<private> slice: u32;

// Row m of C, at `index` of c (the user's address, from c_base); the bias at bias_index.
// Slice s of a split product writes block s of c, each as large as the output (slice_len).
fn store(m: u32, index: u32, bias_index: u32, v: f32) {
  let split = (p.flags & FLAG_SPLIT) != 0u;
  var out = v;
  if ((p.flags & FLAG_BIAS) != 0u && (!split || slice == 0u)) { out += bias[bias_index]; }
  if (split) { c[slice * p.slice_len + index - p.c_base] = out; return; }
  if ((p.flags & FLAG_ACCUMULATE) != 0u) { out += c[index]; }
  if ((p.flags & EPILOGUE) != 0u) {
    store_epilogue(m, index, out);
    return;
  }
  c[index] = out;
}

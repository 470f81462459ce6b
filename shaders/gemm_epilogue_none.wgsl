// store_epilogue for products that never fuse the layers after them (see gemm_store.wgsl). The
// slope and residual bindings are read in a branch never taken, so that every product kernel
// has the same six bindings.
fn store_epilogue(m: u32, index: u32, v: f32) {
  c[index] = v + slope[0] + residual[0];
}

// The input window of a 16x16 output block, staged in workgroup memory by the tiled direct
// kernels (conv_direct_tiled.wgsl, conv_bwd_weight_direct.wgsl): side 15 s + K <= 48, zero
// outside the image. Every invocation of a 256-invocation workgroup must call it.
const T = 16u;
const MAX_SIDE = 48u;
var<workgroup> window: array<f32, MAX_SIDE * MAX_SIDE>;

// Window of `side` x `side` pixels of the plane starting at element `plane` of x, its top-left
// corner at (y0, x0) in the image.
fn stage_window(plane: u32, y0: i32, x0: i32, side: u32, lid: u32) {
  for (var e = lid; e < side * side; e += 256u) {
    let iy = y0 + i32(e / side);
    let ix = x0 + i32(e % side);
    var v = 0.0;
    if (iy >= 0 && ix >= 0 && iy < i32(p.height) && ix < i32(p.width)) {
      v = x[plane + u32(iy) * p.width + u32(ix)];
    }
    window[e] = v;
  }
}

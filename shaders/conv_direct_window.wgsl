// The input window of an output block, staged in workgroup memory by the direct kernels
// (16x16 blocks, side 15 s + K <= 48; conv_direct_rows.wgsl: 16x64 blocks, (15 + K) x
// (63 + K)), zero outside the image. Every invocation of a 256-invocation workgroup must
// call it.
const T = 16u;
const MAX_SIDE = 48u;
var<workgroup> window: array<f32, MAX_SIDE * MAX_SIDE>;

// Window of `rows` x `cols` pixels of the plane starting at element `plane` of x, its top-left
// corner at (y0, x0) in the image, stored row by row.
fn stage_window(plane: u32, y0: i32, x0: i32, rows: u32, cols: u32, lid: u32) {
  for (var e = lid; e < rows * cols; e += 256u) {
    let iy = y0 + i32(e / cols);
    let ix = x0 + i32(e % cols);
    var v = 0.0;
    if (iy >= 0 && ix >= 0 && iy < i32(p.height) && ix < i32(p.width)) {
      v = x[plane + u32(iy) * p.width + u32(ix)];
    }
    window[e] = v;
  }
}

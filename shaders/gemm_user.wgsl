// What a user file (gemm_conv_fwd.wgsl, gemm_conv_bwd_input.wgsl, gemm_conv_bwd_weight.wgsl,
// gemm_matmul.wgsl) gives the matrix products, and the element reads built from it
// (read_a and read_b, for the packing of gemm_pack_f16.wgsl; gemm_tiled.wgsl uses the parts
// themselves).
//   A[m, k] = a[m * a_stride() + a_offset(k)]: A's rows are equally spaced in `a`, so one K
//   index's offset serves every row.
//   B[k, n] of image img = b_at(b_row(k), b_col(n, img)): an address is the sum of a row's
//   part and a column's (Part: a base, and the y and x of a convolution's window, whose sum
//   b_at checks against the tensor's bounds, zero outside). The tiled product computes each
//   of its columns' parts once and a row's once per four columns, so the divisions of the
//   im2col arithmetic leave its inner steps.
// Both reads assume m, k and n inside the matrix; the products check that.
struct Part {
  base: u32,
  y: i32,
  x: i32,
}

fn read_a(m: u32, k: u32) -> f32 { return a[m * a_stride() + a_offset(k)]; }

fn read_b(k: u32, n: u32, img: u32) -> f32 { return b_at(b_row(k), b_col(n, img)); }

// b_at of a convolution's input ([images][cin][height][width]), window row y and column x.
fn input_at(r: Part, c: Part) -> f32 {
  let y = r.y + c.y;
  let x = r.x + c.x;
  // Negative coordinates wrap to large unsigned ones: one comparison each.
  if (u32(y) >= p.height || u32(x) >= p.width) { return 0.0; }
  return b[r.base + c.base + u32(y) * p.width + u32(x)];
}

// Convolution backward to the weights as a matrix product:
//   dw[co, ci, ky, kx] = sum over images and output pixels of
//                        dy[img, co, oy, ox] * x[img, ci, oy*s + ky - pad, ox*s + kx - pad].
// M = Cout, N = Cin*KH*KW, K = images*OH*OW: a long K and a small C, so K is usually split
// into slices over z. A = dy, B = im2col of x, transposed.
fn read_a(m: u32, k: u32, z: u32) -> f32 {
  let ohw = p.out_h * p.out_w;
  return a[p.a_base + ((k / ohw) * p.cout + m) * ohw + k % ohw];
}

fn read_b(k: u32, n: u32, z: u32) -> f32 {
  let ohw = p.out_h * p.out_w;
  let img = k / ohw;
  let q = k % ohw;
  let khw = p.kh * p.kw;
  let ci = n / khw;
  let r = n % khw;
  let iy = i32((q / p.out_w) * p.stride + r / p.kw) - i32(p.pad);
  let ix = i32((q % p.out_w) * p.stride + r % p.kw) - i32(p.pad);
  if (iy < 0 || ix < 0 || iy >= i32(p.height) || ix >= i32(p.width)) { return 0.0; }
  return b[p.b_base + ((img * p.cin + ci) * p.height + u32(iy)) * p.width + u32(ix)];
}

fn write_c(m: u32, n: u32, z: u32, v: f32) {
  store(m, p.c_base + m * p.n + n, 0u, v);
}

// Convolution forward as a matrix product:
//   y[z, co, oy, ox] = bias[co] + sum over (ci, ky, kx) of
//                      w[co, ci, ky, kx] * x[z, ci, oy*s + ky - pad, ox*s + kx - pad]
// (x zero outside the image). M = Cout, N = OH*OW output pixels, K = Cin*KH*KW; A = the
// weights as stored ([Cout, Cin, KH, KW]), B = im2col of image z. a_base, b_base, c_base:
// element offsets of the bound windows' first image.
fn read_a(m: u32, k: u32, z: u32) -> f32 { return a[m * p.k + k]; }

fn read_b(k: u32, n: u32, z: u32) -> f32 {
  let khw = p.kh * p.kw;
  let ci = k / khw;
  let r = k % khw;
  let iy = i32((n / p.out_w) * p.stride + r / p.kw) - i32(p.pad);
  let ix = i32((n % p.out_w) * p.stride + r % p.kw) - i32(p.pad);
  if (iy < 0 || ix < 0 || iy >= i32(p.height) || ix >= i32(p.width)) { return 0.0; }
  return b[p.b_base + ((z * p.cin + ci) * p.height + u32(iy)) * p.width + u32(ix)];
}

fn write_c(m: u32, n: u32, z: u32, v: f32) {
  store(m, p.c_base + (z * p.cout + m) * p.out_h * p.out_w + n, m, v);
}

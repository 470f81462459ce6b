// Convolution backward to the weights as a matrix product:
//   dw[co, ci, ky, kx] = sum over images and output pixels of
//                        dy[img, co, oy, ox] * x[img, ci, oy*s + ky - pad, ox*s + kx - pad].
// M = Cout, N = Cin*KH*KW, K = images*OH*OW: a long K and a small C, so K is usually split
// into slices over z. A = dy (A[co, (img, q)] = dy[a_base + (img * Cout + co) * OH*OW + q]),
// B = im2col of x, transposed: row k = (img, oy, ox) gives the image and (oy*s, ox*s), column
// n = (ci, ky, kx) the channel's offset and the tap less the padding (ky - pad, kx - pad).
fn a_stride() -> u32 { return p.out_h * p.out_w; }

fn a_offset(k: u32) -> u32 {
  let ohw = p.out_h * p.out_w;
  return p.a_base + (k / ohw) * p.cout * ohw + k % ohw;
}

fn b_row(k: u32) -> Part {
  let ohw = p.out_h * p.out_w;
  let q = k % ohw;
  let base = p.b_base + (k / ohw) * p.cin * p.height * p.width;
  return Part(base, i32((q / p.out_w) * p.stride), i32((q % p.out_w) * p.stride));
}

fn b_col(n: u32, img: u32) -> Part {
  let khw = p.kh * p.kw;
  let r = n % khw;
  let y = i32(r / p.kw) - i32(p.pad);
  let x = i32(r % p.kw) - i32(p.pad);
  return Part((n / khw) * p.height * p.width, y, x);
}

fn b_at(r: Part, c: Part) -> f32 { return input_at(r, c); }

fn write_c(m: u32, n: u32, z: u32, v: f32) {
  store(m, p.c_base + m * p.n + n, 0u, v);
}

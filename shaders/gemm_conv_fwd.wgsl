// Convolution forward as a matrix product:
//   y[z, co, oy, ox] = bias[co] + sum over (ci, ky, kx) of
//                      w[co, ci, ky, kx] * x[z, ci, oy*s + ky - pad, ox*s + kx - pad]
// (x zero outside the image). M = Cout, N = OH*OW output pixels, K = Cin*KH*KW; A = the
// weights as stored ([Cout, Cin, KH, KW]: A[co, k] = w[co * K + k]), B = im2col of image z:
// row k = (ci, ky, kx) gives the channel's offset and the tap, column n = (oy, ox) the
// window's corner (oy*s - pad, ox*s - pad). b_base, c_base: element offsets of the bound
// windows' first image.
fn a_stride() -> u32 { return p.k; }

fn a_offset(k: u32) -> u32 { return k; }

fn b_row(k: u32) -> Part {
  let khw = p.kh * p.kw;
  let r = k % khw;
  return Part((k / khw) * p.height * p.width, i32(r / p.kw), i32(r % p.kw));
}

fn b_col(n: u32, img: u32) -> Part {
  let y = i32((n / p.out_w) * p.stride) - i32(p.pad);
  let x = i32((n % p.out_w) * p.stride) - i32(p.pad);
  return Part(p.b_base + img * p.cin * p.height * p.width, y, x);
}

fn b_at(r: Part, c: Part) -> f32 { return input_at(r, c); }

fn write_c(m: u32, n: u32, z: u32, v: f32) {
  store(m, p.c_base + (z * p.cout + m) * p.out_h * p.out_w + n, m, v);
}

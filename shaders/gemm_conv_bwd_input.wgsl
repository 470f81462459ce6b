// Convolution backward to the input as a matrix product:
//   dx[z, ci, iy, ix] = sum over (co, ky, kx) of w[co, ci, ky, kx] * dy[z, co, oy, ox]
// for every (oy, ox) with oy*s + ky - pad = iy and ox*s + kx - pad = ix. M = Cin, N = H*W
// input pixels, K = Cout*KH*KW; A is the weight read transposed (A[ci, (co, r)] =
// w[(co * Cin + ci) * KH*KW + r], r = ky*KW + kx), B gathers dy: row k = (co, ky, kx) gives
// the channel's offset and minus the tap, column n = (iy, ix) + pad; their sum is (oy, ox)
// times the stride, zero where that is not a multiple of it or falls outside dy.
fn a_stride() -> u32 { return p.kh * p.kw; }

fn a_offset(k: u32) -> u32 {
  let khw = p.kh * p.kw;
  return (k / khw) * p.cin * khw + k % khw;
}

fn b_row(k: u32) -> Part {
  let khw = p.kh * p.kw;
  let r = k % khw;
  return Part((k / khw) * p.out_h * p.out_w, -i32(r / p.kw), -i32(r % p.kw));
}

fn b_col(n: u32, img: u32) -> Part {
  let y = i32(n / p.width + p.pad);
  let x = i32(n % p.width + p.pad);
  return Part(p.b_base + img * p.cout * p.out_h * p.out_w, y, x);
}

fn b_at(r: Part, c: Part) -> f32 {
  let ty = r.y + c.y;
  let tx = r.x + c.x;
  if (ty < 0 || tx < 0) { return 0.0; }
  var oy = u32(ty);
  var ox = u32(tx);
  // Stride 1, most layers, skips the divisions (p is uniform: no divergence).
  if (p.stride != 1u) {
    if (oy % p.stride != 0u || ox % p.stride != 0u) { return 0.0; }
    oy /= p.stride;
    ox /= p.stride;
  }
  if (oy >= p.out_h || ox >= p.out_w) { return 0.0; }
  return b[r.base + c.base + oy * p.out_w + ox];
}

fn write_c(m: u32, n: u32, z: u32, v: f32) {
  store(m, p.c_base + (z * p.cin + m) * p.height * p.width + n, 0u, v);
}

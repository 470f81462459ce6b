// Convolution backward to the input as a matrix product:
//   dx[z, ci, iy, ix] = sum over (co, ky, kx) of w[co, ci, ky, kx] * dy[z, co, oy, ox]
// for every (oy, ox) with oy*s + ky - pad = iy and ox*s + kx - pad = ix. M = Cin, N = H*W
// input pixels, K = Cout*KH*KW; A is the weight read transposed, B gathers dy, zero where
// (iy + pad - ky) is not a multiple of the stride or falls outside dy.
fn read_a(m: u32, k: u32, z: u32) -> f32 {
  let khw = p.kh * p.kw;
  return a[((k / khw) * p.cin + m) * khw + k % khw];
}

fn read_b(k: u32, n: u32, z: u32) -> f32 {
  let khw = p.kh * p.kw;
  let co = k / khw;
  let r = k % khw;
  let ty = i32(n / p.width + p.pad) - i32(r / p.kw);
  let tx = i32(n % p.width + p.pad) - i32(r % p.kw);
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
  return b[p.b_base + ((z * p.cout + co) * p.out_h + oy) * p.out_w + ox];
}

fn write_c(m: u32, n: u32, z: u32, v: f32) {
  store(m, p.c_base + (z * p.cin + m) * p.height * p.width + n, 0u, v);
}

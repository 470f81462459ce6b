// Convolution backward to the input as matrix products, one per phase of dx:
//   dx[z, ci, iy, ix] = sum over (co, ky, kx) of w[co, ci, ky, kx] * dy[z, co, oy, ox]
// for every (oy, ox) with oy*s + ky - pad = iy and ox*s + kx - pad = ix. Such an oy exists
// only for the taps ky = (iy + pad) mod s, + s, + 2s, ...; so with stride s the pixels of dx
// fall into s x s phases, each with its own taps, and each phase is one product that skips
// the taps that meet no output (a single gather over all taps would multiply zeros in about
// 1 - 1/s² of its products: 3 of 4 for a 3x3 kernel at stride 2). The phase (conv/gemm.rs,
// `input_products`): its pixels (first_y + s i, first_x + s j), j < phase_w, and its taps
// (phase_ky + s a, phase_kx + s b), a < taps_y, b < taps_x. Pixel (i, j) with tap (a, b)
// reads dy at (q_y - a, q_x - b), q = (first + pad) / s + (i, j): first + pad is phase_k plus
// a multiple of s, and phase_k < s, so the division is exact once phase_k is taken off, and
// oy = (iy + pad - ky) / s = q_y - a.
// M = Cin, N = the phase's pixels, K = Cout x its taps; A is the weight read transposed
// (A[ci, (co, a, b)] = w[co, ci, phase_ky + s a, phase_kx + s b]), B gathers dy: row k =
// (co, a, b) gives the channel's offset and minus (a, b), column n the pixel's q. Stride 1 is
// one phase of every pixel and tap.
fn a_stride() -> u32 { return p.kh * p.kw; }

fn a_offset(k: u32) -> u32 {
  let taps = p.taps_y * p.taps_x;
  let t = k % taps;
  let ky = p.phase_ky + (t / p.taps_x) * p.stride;
  let kx = p.phase_kx + (t % p.taps_x) * p.stride;
  return (k / taps) * p.cin * p.kh * p.kw + ky * p.kw + kx;
}

fn b_row(k: u32) -> Part {
  let taps = p.taps_y * p.taps_x;
  let t = k % taps;
  return Part((k / taps) * p.out_h * p.out_w, -i32(t / p.taps_x), -i32(t % p.taps_x));
}

fn b_col(n: u32, img: u32) -> Part {
  let qy = (p.first_y + p.pad) / p.stride + n / p.phase_w;
  let qx = (p.first_x + p.pad) / p.stride + n % p.phase_w;
  return Part(p.b_base + img * p.cout * p.out_h * p.out_w, i32(qy), i32(qx));
}

fn b_at(r: Part, c: Part) -> f32 {
  let oy = r.y + c.y;
  let ox = r.x + c.x;
  // Negative coordinates wrap to large unsigned ones: one comparison each.
  if (u32(oy) >= p.out_h || u32(ox) >= p.out_w) { return 0.0; }
  return b[r.base + c.base + u32(oy) * p.out_w + u32(ox)];
}

fn write_c(m: u32, n: u32, z: u32, v: f32) {
  let iy = p.first_y + (n / p.phase_w) * p.stride;
  let ix = p.first_x + (n % p.phase_w) * p.stride;
  store(m, p.c_base + (z * p.cin + m) * p.height * p.width + iy * p.width + ix, 0u, v);
}

// A plain matrix product with strides, so either operand can be read transposed:
//   C[m, n] = sum over k of a[a_base + m*sa_m + k*sa_k] * b[b_base + k*sb_k + n*sb_n]
//             (+ bias[n]).
// The linear layer's forward (x W^T) and both of its backwards are this with other strides.
fn a_stride() -> u32 { return p.sa_m; }

fn a_offset(k: u32) -> u32 { return p.a_base + k * p.sa_k; }

fn b_row(k: u32) -> Part { return Part(k * p.sb_k, 0, 0); }

fn b_col(n: u32, img: u32) -> Part { return Part(p.b_base + n * p.sb_n, 0, 0); }

fn b_at(r: Part, c: Part) -> f32 { return b[r.base + c.base]; }

fn write_c(m: u32, n: u32, z: u32, v: f32) {
  store(m, p.c_base + m * p.n + n, n, v);
}

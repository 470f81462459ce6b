// A plain matrix product with strides, so either operand can be read transposed:
//   C[m, n] = sum over k of a[m*sa_m + k*sa_k] * b[k*sb_k + n*sb_n] (+ bias[n]).
// The linear layer's forward (x W^T) and both of its backwards are this with other strides.
fn read_a(m: u32, k: u32, z: u32) -> f32 { return a[p.a_base + m * p.sa_m + k * p.sa_k]; }

fn read_b(k: u32, n: u32, z: u32) -> f32 { return b[p.b_base + k * p.sb_k + n * p.sb_n]; }

fn write_c(m: u32, n: u32, z: u32, v: f32) {
  store(m, p.c_base + m * p.n + n, n, v);
}

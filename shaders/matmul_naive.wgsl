// A matrix product, naive: one invocation per element of C, the CPU reference's dot product:
//   C[row, col] = sum over k of a[a_base + row*sa_m + k*sa_k] * b[b_base + k*sb_k + col*sb_n]
//                 (+ bias[col] with FLAG_BIAS)
// C [M, N] row-major from element c_base. The strides let either operand be read
// transposed: the linear layer's forward (x W^T) and both of its backwards are this.
// Invocation i (of M*N, spread over x and y) writes element i of C.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> p: GemmParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.m * p.n) { return; }
  let row = i / p.n;
  let col = i % p.n;
  var sum = 0.0;
  if ((p.flags & FLAG_BIAS) != 0u) { sum = bias[col]; }
  for (var k = 0u; k < p.k; k++) {
    sum += a[p.a_base + row * p.sa_m + k * p.sa_k] * b[p.b_base + k * p.sb_k + col * p.sb_n];
  }
  c[p.c_base + i] = sum;
}

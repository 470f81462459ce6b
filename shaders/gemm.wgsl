// The matrix-product core shared by convolution (forward and both backwards) and the linear
// layer: C[M, N] = A[M, K] * B[K, N], where A, B and C are never stored as matrices. Each user
// (conv_fwd.wgsl, conv_bwd_input.wgsl, conv_bwd_weight.wgsl, matmul.wgsl) is prepended and
// defines read_a(m, k, z), read_b(k, n, z) and write_c(m, n, z, value), which map matrix
// coordinates to tensor addresses: the convolution's im2col matrix is computed on the fly
// (zero for padding), the way TensorFlow.js's WebGPU backend does it.
//
// Tiling: a workgroup of 256 invocations computes a BM x BN tile of C, stepping through K
// BK at a time with the A and B tiles staged in workgroup memory. The invocations form a
// TY x TX grid; invocation (tx, ty) owns rows ty + TY i and columns tx + TX j, so neighbouring
// invocations write neighbouring columns. The tile shape comes from a gemm_tile_*.wgsl file
// prepended (gemm_tile_64x64.wgsl: 4x4 per invocation; gemm_tile_4x256.wgsl for the weight
// gradient of 3-channel convolutions), so other shapes can be tried without touching this file.
// Tried and measured slower on an H100: 64x128 (4x8 each) and 128x128 (8x8, K step 8) through
// this same code, e.g. 34 -> 92 ms for a 256->1024 upscale; the per-invocation arrays probably
// stop living in registers. A larger tile needs hand-unrolled vec4 code instead. Also tried:
// loading the next K step into registers before this step's products (5.8 TFLOP/s either way
// on an H200, and 5% slower on lavapipe); the fast path on GPUs with tensor cores is
// gemm16.wgsl.
// Tiles are numbered over x and y of the dispatch (tile < p.tiles), z is the image
// (convolutions) or the K slice (split-K, flags bit 1).
// Limits: readers must return 0 outside the matrix; this file checks m < M, n < N, k < K.

const TM = BM / TY;
const TN = BN / TX;
var<workgroup> a_tile: array<f32, BM * BK>; // [BK][BM]
var<workgroup> b_tile: array<f32, BK * BN>; // [BK][BN]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * nwg.x;
  if (tile >= p.tiles) { return; }
  let z = wg.z;
  let m0 = (tile / p.tiles_n) * BM;
  let n0 = (tile % p.tiles_n) * BN;
  let tx = lid % TX;
  let ty = lid / TX;
  let split = (p.flags & 2u) != 0u;
  let k_lo = select(0u, z * p.k_per_z, split);
  let k_hi = select(p.k, min(p.k, k_lo + p.k_per_z), split);

  var acc: array<f32, TM * TN>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = 0.0; }
  for (var k0 = k_lo; k0 < k_hi; k0 += BK) {
    for (var e = lid; e < BM * BK; e += 256u) {
      let am = e / BK;
      let ak = e % BK;
      var av = 0.0;
      if (m0 + am < p.m && k0 + ak < k_hi) { av = read_a(m0 + am, k0 + ak, z); }
      a_tile[ak * BM + am] = av;
    }
    for (var e = lid; e < BK * BN; e += 256u) {
      let bk = e / BN;
      let bn = e % BN;
      var bv = 0.0;
      if (k0 + bk < k_hi && n0 + bn < p.n) { bv = read_b(k0 + bk, n0 + bn, z); }
      b_tile[bk * BN + bn] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a_reg: array<f32, TM>;
      var b_reg: array<f32, TN>;
      for (var i = 0u; i < TM; i++) { a_reg[i] = a_tile[kk * BM + ty + TY * i]; }
      for (var j = 0u; j < TN; j++) { b_reg[j] = b_tile[kk * BN + tx + TX * j]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i * TN + j] += a_reg[i] * b_reg[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      let m = m0 + ty + TY * i;
      let n = n0 + tx + TX * j;
      if (m < p.m && n < p.n) { write_c(m, n, z, acc[i * TN + j]); }
    }
  }
}

// The f32 matrix product: C[M, N] = A[M, K] B[K, N], read through the user's read_a(m, k, z)
// and read_b(k, n, z) (zero outside the matrix) and written through write_c(m, n, z, value).
// A workgroup of 256 invocations computes a BM x BN tile of C (gemm_tile_*.wgsl), stepping
// through K BK at a time with the A and B tiles staged in workgroup memory; the invocations
// form a TY x TX grid, invocation (tx, ty) owning rows ty + TY i and columns tx + TX j, so
// that neighbours write neighbouring columns. Tiles are numbered over x and y of the
// dispatch (tile < p.tiles); z is the image, or the K slice with FLAG_SPLIT.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(6) var<uniform> p: GemmParams;

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
  let split = (p.flags & FLAG_SPLIT) != 0u;
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

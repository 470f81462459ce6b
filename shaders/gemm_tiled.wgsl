// The tiled matrix product: C[M, N] = A[M, K] B[K, N], read through the user's read_a(m, k, z)
// and read_b(k, n, z) (zero outside the matrix) and written through write_c(m, n, z, value).
// A workgroup computes a BM x BN tile of C (gemm_tile_*.wgsl), stepping through K BK at a time
// with A's BM x BK and B's BK x BN tiles staged in workgroup memory as vec4s of S, the element
// type (gemm_in_f32.wgsl or gemm_in_f16.wgsl, which also give to_s, step_start and step_end).
// Invocation (tx, ty) of its TX x TY grid owns the 4x4 block of rows m0 + 4 ty .. + 3 and
// columns n0 + 4 tx .. + 3: per K index it reads one vec4 of A and one of B and does 16
// multiply-adds. The accumulators are f32; with S = f16 each K step's products are summed in
// f16 and then added to them.
// Tiles are numbered over x and y of the dispatch (tile < p.tiles); z is the K slice with
// FLAG_SPLIT. Columns are the pixels of one image, or, where p.pixels is not 0, all images'
// pixels side by side (column n is pixel n % p.pixels of image n / p.pixels), so that layers
// of few pixels fill whole tiles and may split K.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(6) var<uniform> p: GemmParams;

const TX = BN / 4u;
const TY = BM / 4u;
const WG = TX * TY;
var<workgroup> a_tile: array<vec4<S>, BK * TY>; // [BK][BM / 4]: 4 rows of A per vec4
var<workgroup> b_tile: array<vec4<S>, BK * TX>; // [BK][BN / 4]: 4 columns of B per vec4

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * nwg.x;
  if (tile >= p.tiles) { return; }
  // The loop bounds come from wg.z itself, not from `slice`: a private variable is not
  // uniform to WGSL's analysis, and the loop holds barriers.
  let z = wg.z;
  slice = z;
  let m0 = (tile / p.tiles_n) * BM;
  let n0 = (tile % p.tiles_n) * BN;
  let tx = lid % TX;
  let ty = lid / TX;
  let split = (p.flags & FLAG_SPLIT) != 0u;
  let k_lo = select(0u, z * p.k_per_z, split);
  let k_hi = select(p.k, min(p.k, k_lo + p.k_per_z), split);

  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  for (var k0 = k_lo; k0 < k_hi; k0 += BK) {
    // Neighbouring invocations load neighbouring k of A (contiguous in the weights) and
    // neighbouring columns of B (contiguous in an image's pixels).
    for (var e = lid; e < BK * TY; e += WG) {
      let k = k0 + e % BK;
      let m = m0 + 4u * (e / BK);
      let rows = vec4(a_at(m, k, k_hi), a_at(m + 1u, k, k_hi),
                      a_at(m + 2u, k, k_hi), a_at(m + 3u, k, k_hi));
      a_tile[(e % BK) * TY + e / BK] = to_s(rows);
    }
    for (var e = lid; e < BK * TX; e += WG) {
      let k = k0 + e / TX;
      let n = n0 + 4u * (e % TX);
      b_tile[e] = to_s(b_row(k, n, k_hi));
    }
    workgroupBarrier();
    var sum0 = step_start(acc0);
    var sum1 = step_start(acc1);
    var sum2 = step_start(acc2);
    var sum3 = step_start(acc3);
    for (var kk = 0u; kk < BK; kk++) {
      let av = a_tile[kk * TY + ty];
      let bv = b_tile[kk * TX + tx];
      sum0 = fma(vec4(av.x), bv, sum0);
      sum1 = fma(vec4(av.y), bv, sum1);
      sum2 = fma(vec4(av.z), bv, sum2);
      sum3 = fma(vec4(av.w), bv, sum3);
    }
    acc0 = step_end(acc0, sum0);
    acc1 = step_end(acc1, sum1);
    acc2 = step_end(acc2, sum2);
    acc3 = step_end(acc3, sum3);
    workgroupBarrier();
  }
  let m = m0 + 4u * ty;
  let n = n0 + 4u * tx;
  write_row(m, n, acc0);
  write_row(m + 1u, n, acc1);
  write_row(m + 2u, n, acc2);
  write_row(m + 3u, n, acc3);
}

// A's element (m, k), zero outside the matrix or this slice of K.
fn a_at(m: u32, k: u32, k_hi: u32) -> f32 {
  if (m < p.m && k < k_hi) { return read_a(m, k, 0u); }
  return 0.0;
}

// The image and pixel of column n (see the top).
fn column(n: u32) -> vec2<u32> {
  if (p.pixels == 0u) { return vec2(0u, n); }
  return vec2(n / p.pixels, n % p.pixels);
}

// Four neighbouring columns of B's row k, from column n; zero outside B or this slice of K.
fn b_row(k: u32, n: u32, k_hi: u32) -> vec4<f32> {
  var v = vec4<f32>();
  if (k >= k_hi) { return v; }
  var at = column(n);
  for (var j = 0u; j < 4u; j++) {
    if (n + j < p.n) { v[j] = read_b(k, at.y, at.x); }
    at.y += 1u;
    if (at.y == p.pixels) { at = vec2(at.x + 1u, 0u); }
  }
  return v;
}

// Four neighbouring values of row m of C, from column n; those outside C are dropped.
fn write_row(m: u32, n: u32, v: vec4<f32>) {
  if (m >= p.m) { return; }
  var at = column(n);
  for (var j = 0u; j < 4u; j++) {
    if (n + j < p.n) { write_c(m, at.y, at.x, v[j]); }
    at.y += 1u;
    if (at.y == p.pixels) { at = vec2(at.x + 1u, 0u); }
  }
}

// The tiled matrix product: C[M, N] = A[M, K] B[K, N], its operands read through the user's
// address parts (gemm_user.wgsl; this file supplies the zeros outside the matrix and its K
// slice) and C written through write_c(m, n, z, value).
// A workgroup computes a BM x BN tile of C (gemm_tile_*.wgsl), stepping through K BK at a time
// with A's BM x BK and B's BK x BN tiles staged in workgroup memory as vec4s of S, the element
// type (gemm_in_f32.wgsl or gemm_in_f16.wgsl, which also give to_s, step_start and step_end).
// Invocation (tx, ty) of its TX x TY grid owns the 4x4 block of rows m0 + 4 ty .. + 3 and
// columns n0 + 4 tx .. + 3: per K index it reads one vec4 of A and one of B and does 16
// multiply-adds. The accumulators are f32; with S = f16 each K step's products are summed in
// f16 and then added to them. Each K step: the staged values go to workgroup memory, a barrier,
// the multiply-adds, a barrier. Where an invocation stages one vec4 of A and one of B per step
// (BK == TY: the square tile) it loads the next step's before this step's multiply-adds
// (PREFETCH), so that they hide the loads' latency; the thin and short tiles load 8 and 2
// rows of B per invocation and step, and load them when they store them.
// Tiles are numbered over x and y of the dispatch (tile < p.tiles); z is the K slice with
// FLAG_SPLIT, or, for gemm_winograd.wgsl, which of its 36 products. Columns are the pixels of
// one image, or, where p.pixels is not 0, all images' pixels side by side (column n is pixel n
// % p.pixels of image n / p.pixels), so that layers of few pixels fill whole tiles and may
// split K.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(6) var<uniform> p: GemmParams;

const TX = BN / 4u;
const TY = BM / 4u;
const WG = TX * TY;
// Whether each invocation stages one vec4 of A (at most) and one of B per K step, which then
// fit two registers until the next step (see the top).
const PREFETCH = BK == TY;
// Every vec4 of A's tile has an invocation to stage it (main).
const_assert BK * TY <= WG;
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

  // This invocation's staging places, the same at every K step: the vec4 of A's rows ma ..
  // ma + 3 at K index k0 + ka, if lid < BK * TY; B's columns nb .. nb + 3, whose address parts
  // it computes here once, at K indices k0 + ty, k0 + ty + TY, ... (one of them where BK ==
  // TY). Neighbouring invocations load neighbouring k of A (contiguous in the weights) and
  // neighbouring columns of B (contiguous in an image's pixels).
  let ka = lid % BK;
  let ma = m0 + 4u * (lid / BK);
  let stages_a = lid < BK * TY;
  let nb = n0 + 4u * tx;
  let c0 = column_part(nb);
  let c1 = column_part(nb + 1u);
  let c2 = column_part(nb + 2u);
  let c3 = column_part(nb + 3u);

  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  // The first step's values, for PREFETCH (see the top).
  var next_a = vec4<f32>();
  var next_b = vec4<f32>();
  if (PREFETCH) {
    if (stages_a) { next_a = a_rows(ma, k_lo + ka, k_hi); }
    next_b = b_four(k_lo + ty, k_hi, c0, c1, c2, c3, nb);
  }
  for (var k0 = k_lo; k0 < k_hi; k0 += BK) {
    if (PREFETCH) {
      if (stages_a) { a_tile[ka * TY + lid / BK] = to_s(next_a); }
      b_tile[ty * TX + tx] = to_s(next_b);
    } else {
      if (stages_a) { a_tile[ka * TY + lid / BK] = to_s(a_rows(ma, k0 + ka, k_hi)); }
      for (var kb = ty; kb < BK; kb += TY) {
        b_tile[kb * TX + tx] = to_s(b_four(k0 + kb, k_hi, c0, c1, c2, c3, nb));
      }
    }
    workgroupBarrier();
    let k1 = k0 + BK;
    if (PREFETCH && k1 < k_hi) {
      if (stages_a) { next_a = a_rows(ma, k1 + ka, k_hi); }
      next_b = b_four(k1 + ty, k_hi, c0, c1, c2, c3, nb);
    }
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

// Rows m .. m + 3 of A at K index k, zero outside the matrix or this slice of K.
fn a_rows(m: u32, k: u32, k_hi: u32) -> vec4<f32> {
  var v = vec4<f32>();
  if (k >= k_hi) { return v; }
  let offset = a_offset(k);
  let stride = a_stride();
  for (var j = 0u; j < 4u; j++) {
    if (m + j < p.m) { v[j] = a[(m + j) * stride + offset]; }
  }
  return v;
}

// Row k of B at the four columns from n, whose parts are c0 .. c3; zero past this slice of K.
fn b_four(k: u32, k_hi: u32, c0: Part, c1: Part, c2: Part, c3: Part, n: u32) -> vec4<f32> {
  if (k >= k_hi) { return vec4<f32>(); }
  let r = b_row(k);
  return vec4(b_or_zero(r, c0, n), b_or_zero(r, c1, n + 1u), b_or_zero(r, c2, n + 2u),
              b_or_zero(r, c3, n + 3u));
}

// The image and pixel of column n (see the top).
fn column(n: u32) -> vec2<u32> {
  if (p.pixels == 0u) { return vec2(0u, n); }
  return vec2(n / p.pixels, n % p.pixels);
}

// Column n's part of B's addresses (gemm_user.wgsl); nothing past B's columns.
fn column_part(n: u32) -> Part {
  if (n >= p.n) { return Part(); }
  let at = column(n);
  return b_col(at.y, at.x);
}

// B's element at row part r and column n, whose part is c; zero past B's columns.
fn b_or_zero(r: Part, c: Part, n: u32) -> f32 {
  if (n < p.n) { return b_at(r, c); }
  return 0.0;
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

// The matrix-product core on tensor cores: C[M, N] = A[M, K] * B[K, N] with f16 operands and
// f32 sums, through cooperative matrices (16x16x16). It takes the same users as gemm.wgsl
// (read_a, read_b, write_c of conv_fwd.wgsl, conv_bwd_input.wgsl, conv_bwd_weight.wgsl,
// matmul.wgsl) and is always specialised: src/ops/gemm.rs writes a header with the layer's
// parameters as the constant `p` and the tile as constants, so the im2col address arithmetic
// divides by numbers the compiler knows, and no cooperative load takes its pointer or stride
// from a uniform buffer (naga 30.0.2 crashes on that).
//
// Tiling: a workgroup of WG = 128 invocations (4 subgroups of 32, checked when the device is
// opened) computes a 64x64 tile of C: subgroup s owns the 32x32 block at row 32 (s / 2),
// column 32 (s % 2), as 2x2 accumulators of 16x16. Each
// K step of BK stages A and B once in workgroup memory, rounded to f16, and all subgroups
// read them from there. Rows are padded by 8 halves: ../shared/examples/gemm measured 2x
// from that alone (bank conflicts). The finished tile goes through workgroup memory once
// more so that write_c (bias, accumulation, split-K slices, bounds) sees plain f32 values.
//
// B_TRANSPOSED (conv_bwd_weight: K runs along pixels, contiguous in memory) stages B as
// [BN][BK] so that neighbouring invocations read neighbouring pixels, and loads it
// column-major; otherwise B is [BK][BN] and neighbouring invocations read neighbouring n.
//
// Operands past f16's range (65504) saturate instead of becoming infinite; training keeps
// gradients inside it by loss scaling (see src/train/mod.rs).
// Header constants: WG, BM, BN, BK, WN, B_TRANSPOSED, TB_LEN, p.

const SA = BK + 8u;  // A tile [BM][SA]
const SB = BN + 8u;  // B tile [BK][SB], or
const SBT = BK + 8u; // B tile [BN][SBT] when B_TRANSPOSED
const SC = BN + 4u;  // C tile [BM][SC], f32
var<workgroup> ta: array<f16, BM * SA>;
var<workgroup> tb: array<f16, TB_LEN>;
var<workgroup> tc: array<f32, BM * SC>;

// Staging: each invocation moves 16 elements of A and 16 of B per K step (BM * BK = BK * BN
// = 16 WG), held between global and workgroup memory in four vec4 registers each. Element q
// of invocation lid is tile element lid + q WG. No arrays: a private array indexed in a loop
// can live in local memory, which made an earlier version of this kernel slower than f32.
// The next step's loads are issued before this step's products, so they are in flight while
// the tensor cores work.

// (row, column) within the tile of staged element e of A, and of B.
fn a_at(e: u32) -> vec2<u32> { return vec2(e / BK, e % BK); }
fn b_at(e: u32) -> vec2<u32> {
  if (B_TRANSPOSED) { return vec2(e % BK, e / BK); }
  return vec2(e / BN, e % BN);
}

fn a_value(e: u32, m0: u32, k0: u32, k_hi: u32, z: u32) -> f32 {
  let t = a_at(e);
  if (m0 + t.x < p.m && k0 + t.y < k_hi) { return read_a(m0 + t.x, k0 + t.y, z); }
  return 0.0;
}

fn b_value(e: u32, n0: u32, k0: u32, k_hi: u32, z: u32) -> f32 {
  let t = b_at(e);
  if (k0 + t.x < k_hi && n0 + t.y < p.n) { return read_b(k0 + t.x, n0 + t.y, z); }
  return 0.0;
}

// Staged elements e, e + WG, e + 2 WG, e + 3 WG.
fn fetch_a(e: u32, m0: u32, k0: u32, k_hi: u32, z: u32) -> vec4<f32> {
  return vec4(a_value(e, m0, k0, k_hi, z), a_value(e + WG, m0, k0, k_hi, z),
              a_value(e + 2u * WG, m0, k0, k_hi, z), a_value(e + 3u * WG, m0, k0, k_hi, z));
}

fn fetch_b(e: u32, n0: u32, k0: u32, k_hi: u32, z: u32) -> vec4<f32> {
  return vec4(b_value(e, n0, k0, k_hi, z), b_value(e + WG, n0, k0, k_hi, z),
              b_value(e + 2u * WG, n0, k0, k_hi, z), b_value(e + 3u * WG, n0, k0, k_hi, z));
}

fn to_f16(v: f32) -> f16 { return f16(clamp(v, -65504.0, 65504.0)); }

fn put_a(e: u32, v: f32) {
  let t = a_at(e);
  ta[t.x * SA + t.y] = to_f16(v);
}

fn put_b(e: u32, v: f32) {
  let t = b_at(e);
  if (B_TRANSPOSED) { tb[t.y * SBT + t.x] = to_f16(v); } else { tb[t.x * SB + t.y] = to_f16(v); }
}

fn stash_a(e: u32, v: vec4<f32>) {
  put_a(e, v.x);
  put_a(e + WG, v.y);
  put_a(e + 2u * WG, v.z);
  put_a(e + 3u * WG, v.w);
}

fn stash_b(e: u32, v: vec4<f32>) {
  put_b(e, v.x);
  put_b(e + WG, v.y);
  put_b(e + 2u * WG, v.z);
  put_b(e + 3u * WG, v.w);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * nwg.x;
  if (tile >= p.tiles) { return; }
  let z = wg.z;
  let m0 = (tile / p.tiles_n) * BM;
  let n0 = (tile % p.tiles_n) * BN;
  let split = (p.flags & 2u) != 0u;
  let k_lo = select(0u, z * p.k_per_z, split);
  let k_hi = select(p.k, min(p.k, k_lo + p.k_per_z), split);
  let sg = lid / 32u;
  let fr = (sg / WN) * 32u;
  let fc = (sg % WN) * 32u;
  // Invocation lid's staged elements: lid + q WG for q = 0..15, four per register.
  let e0 = lid;
  let e1 = lid + 4u * WG;
  let e2 = lid + 8u * WG;
  let e3 = lid + 12u * WG;

  var c00 = coop_mat16x16<f32, C>();
  var c01 = coop_mat16x16<f32, C>();
  var c10 = coop_mat16x16<f32, C>();
  var c11 = coop_mat16x16<f32, C>();
  var ra0 = fetch_a(e0, m0, k_lo, k_hi, z);
  var ra1 = fetch_a(e1, m0, k_lo, k_hi, z);
  var ra2 = fetch_a(e2, m0, k_lo, k_hi, z);
  var ra3 = fetch_a(e3, m0, k_lo, k_hi, z);
  var rb0 = fetch_b(e0, n0, k_lo, k_hi, z);
  var rb1 = fetch_b(e1, n0, k_lo, k_hi, z);
  var rb2 = fetch_b(e2, n0, k_lo, k_hi, z);
  var rb3 = fetch_b(e3, n0, k_lo, k_hi, z);
  for (var k0 = k_lo; k0 < k_hi; k0 += BK) {
    stash_a(e0, ra0);
    stash_a(e1, ra1);
    stash_a(e2, ra2);
    stash_a(e3, ra3);
    stash_b(e0, rb0);
    stash_b(e1, rb1);
    stash_b(e2, rb2);
    stash_b(e3, rb3);
    workgroupBarrier();
    let k1 = k0 + BK;
    if (k1 < k_hi) {
      ra0 = fetch_a(e0, m0, k1, k_hi, z);
      ra1 = fetch_a(e1, m0, k1, k_hi, z);
      ra2 = fetch_a(e2, m0, k1, k_hi, z);
      ra3 = fetch_a(e3, m0, k1, k_hi, z);
      rb0 = fetch_b(e0, n0, k1, k_hi, z);
      rb1 = fetch_b(e1, n0, k1, k_hi, z);
      rb2 = fetch_b(e2, n0, k1, k_hi, z);
      rb3 = fetch_b(e3, n0, k1, k_hi, z);
    }
    for (var kk = 0u; kk < BK; kk += 16u) {
      let a0 = coopLoadT<coop_mat16x16<f16, A>>(&ta[fr * SA + kk], SA);
      let a1 = coopLoadT<coop_mat16x16<f16, A>>(&ta[(fr + 16u) * SA + kk], SA);
      if (B_TRANSPOSED) {
        let b0 = coopLoad<coop_mat16x16<f16, B>>(&tb[fc * SBT + kk], SBT);
        let b1 = coopLoad<coop_mat16x16<f16, B>>(&tb[(fc + 16u) * SBT + kk], SBT);
        c00 = coopMultiplyAdd(a0, b0, c00);
        c01 = coopMultiplyAdd(a0, b1, c01);
        c10 = coopMultiplyAdd(a1, b0, c10);
        c11 = coopMultiplyAdd(a1, b1, c11);
      } else {
        let b0 = coopLoadT<coop_mat16x16<f16, B>>(&tb[kk * SB + fc], SB);
        let b1 = coopLoadT<coop_mat16x16<f16, B>>(&tb[kk * SB + fc + 16u], SB);
        c00 = coopMultiplyAdd(a0, b0, c00);
        c01 = coopMultiplyAdd(a0, b1, c01);
        c10 = coopMultiplyAdd(a1, b0, c10);
        c11 = coopMultiplyAdd(a1, b1, c11);
      }
    }
    workgroupBarrier();
  }
  coopStoreT(c00, &tc[fr * SC + fc], SC);
  coopStoreT(c01, &tc[fr * SC + fc + 16u], SC);
  coopStoreT(c10, &tc[(fr + 16u) * SC + fc], SC);
  coopStoreT(c11, &tc[(fr + 16u) * SC + fc + 16u], SC);
  workgroupBarrier();
  for (var e = lid; e < BM * BN; e += WG) {
    let m = m0 + e / BN;
    let n = n0 + e % BN;
    if (m < p.m && n < p.n) { write_c(m, n, z, tc[(e / BN) * SC + e % BN]); }
  }
}

// The mixed-precision matrix product on tensor cores: C[M, N] = A[M, K] B[K, N], A and B in
// f16 as gemm_pack_f16.wgsl packs them, sums in f32, 16x16x16 cooperative matrices.
// A workgroup of 256 invocations (8 subgroups of 32, checked when the device is opened)
// computes a BM x 128 tile of C, BM = 64 or 128: subgroup s owns the (BM / 2) x 32 block at
// row (BM / 2) (s / 4), column 32 (s % 4), as FM x 2 accumulators. Each K step of 32 stages A
// (BM x 32) and B (32 x 128) once in workgroup memory, rows padded by 8 halves against bank
// conflicts, and loads the next step's values while this step multiplies. The tile then goes
// through workgroup memory, 32 rows at a time, to emit(): c_base + (image ROWS + m) COLS +
// pixel (a phase's pixel mapped to its place in dx, PHASED), the place the user's write_c
// would give, through store() of gemm_store.wgsl.
// A product that gathers (shape.gather: gemm/f16.rs, `gathers`) reads B from its tensor
// packed channels last instead of as a matrix. Along N (a convolution's forward and input
// gradient) each of an invocation's four columns is a window, whose corner it finds once, and
// each K step of 32 is one tap and 32 channels: a column's eight vec4s are neighbouring
// channels of one pixel. Along K (the weight gradient) each row of a step is a window and an
// invocation's four columns are four channels of one tap, found once; C's columns are then
// (tap, channel), which emit() puts in the weights' (channel, tap) order.
// Specialised: `p` (GemmParams) and `shape` (F16Shape) are constants. Packed matrices are
// padded to whole tiles, so their loads check no bounds (a gathered B checks each window's);
// the stores check m < p.m, n < NT. z is the K slice.

const BM = shape.bm;
const MP = shape.mp;
const KP = shape.kp;
const NP = shape.np;
const NT = shape.nt;
const P = shape.pixels;
const IMG_SPLIT = shape.img_split != 0u;
const ROWS = shape.rows;
const COLS = shape.cols;
const BIAS_BY_N = shape.bias_by_n != 0u;
const B_TRANSPOSED = shape.b_transposed != 0u;
const KPZ = shape.kpz;
const SLICE = shape.slice;
const PHASED = shape.phase_w != 0u;
const PHASE_W = max(shape.phase_w, 1u); // a constant divisor must not be 0, even unused
const PIXELS_ALONG_N = shape.gather == GATHER_ALONG_N;
const PIXELS_ALONG_K = shape.gather == GATHER_ALONG_K;
const G_PIXELS = max(shape.g_pixels, 1u);
const G_C = max(shape.g_c, 1u);
const G_H = shape.g_h;
const G_W = shape.g_w;
const WIN_W = max(shape.win_w, 1u);
const WIN_STEP = i32(shape.win_step);
const WIN_Y0 = i32(shape.win_y0);
const WIN_X0 = i32(shape.win_x0);
const TAP_W = max(shape.tap_w, 1u);
const TAP_STEP = i32(shape.tap_step);
const OUTSIDE = 1 << 29; // a corner or offset that puts a read outside any tensor
// B's tile is stored column by column ([BN][SBT]) where it is read so.
const B_BY_COLUMN = B_TRANSPOSED || PIXELS_ALONG_N;

const BN = 128u;
const FM = BM / 32u;
const BK = 32u;
const SA = BK + 8u;  // A tile [BM][SA]
const SB = BN + 8u;  // B tile [BK][SB], or
const SBT = BK + 8u; // [BN][SBT] when B_BY_COLUMN
const SC = BN + 4u;  // half of the C tile, [32][SC], f32
const TB_LEN = max(BK * SB, BN * SBT);
const TILES_N = NP / BN;
const TILES = (MP / BM) * TILES_N;
@group(0) @binding(0) var<storage, read> a16: array<vec4<f16>>;
@group(0) @binding(1) var<storage, read> b16: array<vec4<f16>>;
var<workgroup> ta: array<f16, BM * SA>;
var<workgroup> tb: array<f16, TB_LEN>;
var<workgroup> tc: array<f32, 32u * SC>;

// q-th vec4 of the A tile (0..BM * 8 - 1) and of the B tile (0..1023): global loads and their
// places in workgroup memory.
fn load_a(q: u32, m0: u32, k0: u32) -> vec4<f16> {
  return a16[((m0 + q / (BK / 4u)) * KP + k0) / 4u + q % (BK / 4u)];
}

fn put_a(q: u32, v: vec4<f16>) {
  let o = (q / (BK / 4u)) * SA + (q % (BK / 4u)) * 4u;
  ta[o] = v.x; ta[o + 1u] = v.y; ta[o + 2u] = v.z; ta[o + 3u] = v.w;
}

fn load_b(q: u32, n0: u32, k0: u32) -> vec4<f16> {
  if (B_TRANSPOSED) { return b16[((n0 + q / (BK / 4u)) * KP + k0) / 4u + q % (BK / 4u)]; }
  return b16[((k0 + q / (BN / 4u)) * NP + n0) / 4u + q % (BN / 4u)];
}

fn put_b(q: u32, v: vec4<f16>) {
  var o = (q / (BN / 4u)) * SB + (q % (BN / 4u)) * 4u;
  if (B_BY_COLUMN) { o = (q / (BK / 4u)) * SBT + (q % (BK / 4u)) * 4u; }
  tb[o] = v.x; tb[o + 1u] = v.y; tb[o + 2u] = v.z; tb[o + 3u] = v.w;
}

// Gathering: pixel i of the gathered axis (over all images, `count` of them) as a window:
// its image's first element in b16 (in halves) and its corner (y, x).
fn window(i: u32, count: u32) -> vec3<i32> {
  if (i >= count) { return vec3(0, OUTSIDE, OUTSIDE); }
  let pixel = i % G_PIXELS;
  let y = WIN_Y0 + i32(pixel / WIN_W) * WIN_STEP;
  let x = WIN_X0 + i32(pixel % WIN_W) * WIN_STEP;
  return vec3(i32((i / G_PIXELS) * G_H * G_W * G_C), y, x);
}

// Tap t's offset from a window's corner.
fn tap(t: u32) -> vec2<i32> { return vec2(i32(t / TAP_W), i32(t % TAP_W)) * TAP_STEP; }

// One K step's operands in registers: vec4 j of A is q = lid + 256 j of its tile (a2, a3
// only when FM = 4), and of B the same; gathering, what `Fixed` says.
struct Step {
  a0: vec4<f16>, a1: vec4<f16>, a2: vec4<f16>, a3: vec4<f16>,
  b0: vec4<f16>, b1: vec4<f16>, b2: vec4<f16>, b3: vec4<f16>,
}

// What an invocation finds once for all its K steps when gathering. Along N: the windows of
// its columns lid / 8 + 32 j of the tile, j = 0..3, whose vec4 j of a step holds channels
// (lid % 8) 4 of the step's tap. Along K: its columns (lid % 32) 4 .. + 3 are channels w0.x
// .. + 3 at tap offset w0.yz, and vec4 j of a step is row lid / 32 + 8 j.
struct Fixed { w0: vec3<i32>, w1: vec3<i32>, w2: vec3<i32>, w3: vec3<i32>, }

fn fixed(lid: u32, n0: u32) -> Fixed {
  var f = Fixed();
  if (PIXELS_ALONG_N) {
    let n = n0 + lid / 8u;
    f = Fixed(window(n, NT), window(n + 32u, NT), window(n + 64u, NT), window(n + 96u, NT));
  }
  if (PIXELS_ALONG_K) {
    let n = n0 + (lid % 32u) * 4u;
    f.w0 = vec3(0, OUTSIDE, OUTSIDE);
    if (n < NT) { f.w0 = vec3(i32(n % G_C), tap(n / G_C)); }
  }
  return f;
}

// Four channels from c at window `win` moved by tap offset `t`, zero outside the tensor.
fn gather(win: vec3<i32>, t: vec2<i32>, c: u32) -> vec4<f16> {
  let y = win.y + t.x;
  let x = win.z + t.y;
  // Negative coordinates wrap to large unsigned ones: one comparison each.
  if (u32(y) >= G_H || u32(x) >= G_W) { return vec4<f16>(); }
  return b16[(u32(win.x) + (u32(y) * G_W + u32(x)) * G_C + c) / 4u];
}

fn load_step(lid: u32, m0: u32, n0: u32, k0: u32, f: Fixed) -> Step {
  var s: Step;
  s.a0 = load_a(lid, m0, k0);
  s.a1 = load_a(lid + 256u, m0, k0);
  if (FM == 4u) {
    s.a2 = load_a(lid + 512u, m0, k0);
    s.a3 = load_a(lid + 768u, m0, k0);
  }
  if (PIXELS_ALONG_N) {
    let t = tap(k0 / G_C);
    let c = k0 % G_C + (lid % 8u) * 4u;
    s.b0 = gather(f.w0, t, c);
    s.b1 = gather(f.w1, t, c);
    s.b2 = gather(f.w2, t, c);
    s.b3 = gather(f.w3, t, c);
  } else if (PIXELS_ALONG_K) {
    let k = k0 + lid / 32u;
    let c = u32(f.w0.x);
    s.b0 = gather(window(k, p.k), f.w0.yz, c);
    s.b1 = gather(window(k + 8u, p.k), f.w0.yz, c);
    s.b2 = gather(window(k + 16u, p.k), f.w0.yz, c);
    s.b3 = gather(window(k + 24u, p.k), f.w0.yz, c);
  } else {
    s.b0 = load_b(lid, n0, k0);
    s.b1 = load_b(lid + 256u, n0, k0);
    s.b2 = load_b(lid + 512u, n0, k0);
    s.b3 = load_b(lid + 768u, n0, k0);
  }
  return s;
}

fn put_step(lid: u32, s: Step) {
  put_a(lid, s.a0);
  put_a(lid + 256u, s.a1);
  if (FM == 4u) {
    put_a(lid + 512u, s.a2);
    put_a(lid + 768u, s.a3);
  }
  put_b(lid, s.b0);
  put_b(lid + 256u, s.b1);
  put_b(lid + 512u, s.b2);
  put_b(lid + 768u, s.b3);
}

fn emit(m: u32, n: u32, z: u32, v: f32) {
  var image = 0u;
  var pixel = n;
  if (IMG_SPLIT) { image = n / P; pixel = n % P; }
  // A gathered weight gradient's column (tap, channel) is the weights' (channel, tap).
  if (PIXELS_ALONG_K) { pixel = (n % G_C) * (p.n / G_C) + n / G_C; }
  if (PHASED) {
    pixel = shape.phase_first + (pixel / PHASE_W) * shape.phase_row
          + (pixel % PHASE_W) * shape.phase_step;
  }
  var bias_index = m;
  if (BIAS_BY_N) { bias_index = n; }
  if ((p.flags & FLAG_SPLIT) != 0u) {
    // Slice z's partial sums go to block z of c (SLICE elements each, the bias with slice
    // 0), which gemm/mod.rs then adds up.
    var out = v;
    if ((p.flags & FLAG_BIAS) != 0u && z == 0u) { out += bias[bias_index]; }
    c[z * SLICE + (image * ROWS + m) * COLS + pixel] = out;
    return;
  }
  store(m, p.c_base + (image * ROWS + m) * COLS + pixel, bias_index, v);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * nwg.x;
  if (tile >= TILES) { return; }
  let m0 = (tile / TILES_N) * BM;
  let n0 = (tile % TILES_N) * BN;
  let z = wg.z;
  let k_lo = z * KPZ;
  let k_hi = min(KP, k_lo + KPZ);
  let sg = lid / 32u;
  let fr = (sg / 4u) * (BM / 2u);
  let fc = (sg % 4u) * 32u;

  var c00 = coop_mat16x16<f32, C>();
  var c01 = coop_mat16x16<f32, C>();
  var c10 = coop_mat16x16<f32, C>();
  var c11 = coop_mat16x16<f32, C>();
  var c20 = coop_mat16x16<f32, C>();
  var c21 = coop_mat16x16<f32, C>();
  var c30 = coop_mat16x16<f32, C>();
  var c31 = coop_mat16x16<f32, C>();
  let own = fixed(lid, n0);
  // The first step's values. An empty slice (the last ones of an input gradient's shorter
  // phases, gemm/mod.rs) loads none and stores zeros.
  var next = Step();
  if (k_lo < k_hi) { next = load_step(lid, m0, n0, k_lo, own); }
  for (var k0 = k_lo; k0 < k_hi; k0 += BK) {
    put_step(lid, next);
    workgroupBarrier();
    // The next step's loads are in flight while this one multiplies.
    if (k0 + BK < k_hi) { next = load_step(lid, m0, n0, k0 + BK, own); }
    for (var kk = 0u; kk < BK; kk += 16u) {
      var b0: coop_mat16x16<f16, B>;
      var b1: coop_mat16x16<f16, B>;
      if (B_BY_COLUMN) {
        b0 = coopLoad<coop_mat16x16<f16, B>>(&tb[fc * SBT + kk], SBT);
        b1 = coopLoad<coop_mat16x16<f16, B>>(&tb[(fc + 16u) * SBT + kk], SBT);
      } else {
        b0 = coopLoadT<coop_mat16x16<f16, B>>(&tb[kk * SB + fc], SB);
        b1 = coopLoadT<coop_mat16x16<f16, B>>(&tb[kk * SB + fc + 16u], SB);
      }
      let a0 = coopLoadT<coop_mat16x16<f16, A>>(&ta[fr * SA + kk], SA);
      let a1 = coopLoadT<coop_mat16x16<f16, A>>(&ta[(fr + 16u) * SA + kk], SA);
      c00 = coopMultiplyAdd(a0, b0, c00);
      c01 = coopMultiplyAdd(a0, b1, c01);
      c10 = coopMultiplyAdd(a1, b0, c10);
      c11 = coopMultiplyAdd(a1, b1, c11);
      if (FM == 4u) {
        let a2 = coopLoadT<coop_mat16x16<f16, A>>(&ta[(fr + 32u) * SA + kk], SA);
        let a3 = coopLoadT<coop_mat16x16<f16, A>>(&ta[(fr + 48u) * SA + kk], SA);
        c20 = coopMultiplyAdd(a2, b0, c20);
        c21 = coopMultiplyAdd(a2, b1, c21);
        c30 = coopMultiplyAdd(a3, b0, c30);
        c31 = coopMultiplyAdd(a3, b1, c31);
      }
    }
    workgroupBarrier();
  }
  // 32 rows at a time: rows 32 h .. 32 h + 31 are accumulator rows f, f + 1 of the subgroups
  // in row group r.
  for (var h = 0u; h < BM / 32u; h++) {
    let r = (h * 32u) / (BM / 2u);
    let f = (h * 32u - r * (BM / 2u)) / 16u;
    if (sg / 4u == r) {
      if (f == 0u) {
        coopStoreT(c00, &tc[fc], SC);
        coopStoreT(c01, &tc[fc + 16u], SC);
        coopStoreT(c10, &tc[16u * SC + fc], SC);
        coopStoreT(c11, &tc[16u * SC + fc + 16u], SC);
      } else {
        coopStoreT(c20, &tc[fc], SC);
        coopStoreT(c21, &tc[fc + 16u], SC);
        coopStoreT(c30, &tc[16u * SC + fc], SC);
        coopStoreT(c31, &tc[16u * SC + fc + 16u], SC);
      }
    }
    workgroupBarrier();
    for (var e = lid; e < 32u * BN; e += 256u) {
      let m = m0 + h * 32u + e / BN;
      let n = n0 + e % BN;
      if (m < p.m && n < NT) { emit(m, n, z, tc[(e / BN) * SC + e % BN]); }
    }
    workgroupBarrier();
  }
}

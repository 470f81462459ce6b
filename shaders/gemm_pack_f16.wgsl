// Packs the operands of a mixed-precision product for gemm_f16.wgsl: A as an f16 matrix
// [MP][KP], B as [KP][NP] or, with b_transposed, as its transpose [NP][KP]; zero past the
// product's rows, columns and K up to whole tiles. Each value comes from read_a or read_b
// (gemm_user.wgsl, over gemm_conv_fwd.wgsl, ...), so the im2col address arithmetic runs once per
// element, not once per tile that reads it. Column n < NT is pixel n % P of image n / P
// with img_split. Invocation t writes one vec4: four neighbouring elements of one row, so
// neighbouring invocations read neighbouring addresses (k for A and a transposed B, n for B;
// a gathered B's four channels of a pixel are a plane apart, and its writes neighbour).
// A product that gathers (shape.gather, gemm/f16.rs) takes B's tensor as it is, channels
// last: [G_IMAGES][G_H][G_W][G_C] from [G_IMAGES][G_C][G_H][G_W] at b_base, vec4 t holding
// four channels of one pixel. With the pixels along N, its K runs tap by tap, so A's column
// k is the user's column (k % G_C) taps + k / G_C.
// Values past f16's range (65504) saturate; training keeps gradients inside it by loss
// scaling. Specialised: `p` (GemmParams) and `shape` (F16Shape) are constants.
const MP = shape.mp;
const KP = shape.kp;
const NP = shape.np;
const NT = shape.nt;
const P = shape.pixels;
const IMG_SPLIT = shape.img_split != 0u;
const B_TRANSPOSED = shape.b_transposed != 0u;
const GATHER = shape.gather != GATHER_NONE;
const PIXELS_ALONG_N = shape.gather == GATHER_ALONG_N; // and so K runs over taps
// Constant divisors must not be 0, even unused.
const G_C = max(shape.g_c, 1u);
const G_C4 = max(shape.g_c / 4u, 1u);
const G_HW = max(shape.g_h * shape.g_w, 1u);
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> a16: array<vec4<f16>>;
@group(0) @binding(3) var<storage, read_write> b16: array<vec4<f16>>;

// The users' write_c calls store(); packing writes nothing through it.
fn store(m: u32, index: u32, bias_index: u32, v: f32) {}

fn to_f16(v: f32) -> f16 { return f16(clamp(v, -65504.0, 65504.0)); }

fn a_value(m: u32, k: u32) -> f32 {
  if (m >= p.m || k >= p.k) { return 0.0; }
  if (PIXELS_ALONG_N) { return read_a(m, (k % G_C) * (p.k / G_C) + k / G_C); }
  return read_a(m, k);
}

// Four channels from c of pixel `pixel` (over all images) of B's tensor.
fn channels_last(pixel: u32, c: u32) -> vec4<f32> {
  let at = p.b_base + ((pixel / G_HW) * G_C + c) * G_HW + pixel % G_HW;
  return vec4(b[at], b[at + G_HW], b[at + 2u * G_HW], b[at + 3u * G_HW]);
}

fn b_value(k: u32, n: u32) -> f32 {
  if (k >= p.k || n >= NT) { return 0.0; }
  if (IMG_SPLIT) { return read_b(k, n % P, n / P); }
  return read_b(k, n, 0u);
}

fn pack4(v: vec4<f32>) -> vec4<f16> {
  return vec4(to_f16(v.x), to_f16(v.y), to_f16(v.z), to_f16(v.w));
}

// One dispatch packs both: invocations below MP * KP / 4 write A, the rest B (none where
// shape.pack_b is 0: another product packed the same B, and it is bound here unchanged).
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = index(gid, nwg);
  let a_len = MP * KP / 4u;
  if (t < a_len) {
    let m = t / (KP / 4u);
    let k = (t % (KP / 4u)) * 4u;
    a16[t] = pack4(vec4(a_value(m, k), a_value(m, k + 1u), a_value(m, k + 2u), a_value(m, k + 3u)));
    return;
  }
  let u = t - a_len;
  if (shape.pack_b == 0u) { return; }
  if (GATHER) {
    if (u < shape.g_images * G_HW * G_C4) { b16[u] = pack4(channels_last(u / G_C4, (u % G_C4) * 4u)); }
    return;
  }
  if (u >= KP * NP / 4u) { return; }
  if (B_TRANSPOSED) {
    let n = u / (KP / 4u);
    let k = (u % (KP / 4u)) * 4u;
    b16[u] = pack4(vec4(b_value(k, n), b_value(k + 1u, n), b_value(k + 2u, n), b_value(k + 3u, n)));
  } else {
    let k = u / (NP / 4u);
    let n = (u % (NP / 4u)) * 4u;
    b16[u] = pack4(vec4(b_value(k, n), b_value(k, n + 1u), b_value(k, n + 2u), b_value(k, n + 3u)));
  }
}

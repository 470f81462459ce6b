// Direct convolution forward for at most 4 output channels at stride 1, hardware adapters: a
// workgroup of 16x16 invocations computes 16 rows by 64 columns of output pixels of image z,
// for all output channels. Each invocation owns 4 neighbouring pixels of one row. For each
// input channel the workgroup stages the block's input window (zero outside the image) and
// the channel's K*K taps in workgroup memory; then, for each tap row, an invocation slides
// along the window row keeping 4 values in registers, so each value read from workgroup
// memory feeds 4 pixels.
// Specialised: `p` (ConvParams) is a constant, so the tap loops have constant bounds.
// Layout: x [images, Cin, H, W] from element x_base of its binding, w [Cout, Cin, K, K],
// y [images, Cout, OH, OW] from y_base. Limits: (15 + K) (63 + K) <= 48 * 48 (conv/plan.rs).
// Bindings and weight(): conv_direct_fwd.wgsl; window and stage_window: conv_direct_window.wgsl.

const K = p.kh;
const BH = 16u;
const BW = 64u;
const WH = BH - 1u + K;
const WW = BW - 1u + K;
var<workgroup> taps: array<vec4<f32>, K * K>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let img = wg.z;
  let y0 = i32(wg.y * BH) - i32(p.pad);
  let x0 = i32(wg.x * BW) - i32(p.pad);
  let all_taps = p.cin * K * K;
  let at = l.y * WW + l.x * 4u;
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var ci = 0u; ci < p.cin; ci++) {
    let plane = p.x_base + (img * p.cin + ci) * p.height * p.width;
    stage_window(plane, y0, x0, WH, WW, lid);
    for (var t = lid; t < K * K; t += 256u) {
      let f = ci * K * K + t;
      taps[t] = vec4(weight(0u, f, all_taps), weight(1u, f, all_taps), weight(2u, f, all_taps),
                     weight(3u, f, all_taps));
    }
    workgroupBarrier();
    for (var ky = 0u; ky < K; ky++) {
      let row = at + ky * WW;
      var r0 = window[row];
      var r1 = window[row + 1u];
      var r2 = window[row + 2u];
      for (var kx = 0u; kx < K; kx++) {
        let r3 = window[row + kx + 3u];
        let tap = taps[ky * K + kx];
        a0 += r0 * tap;
        a1 += r1 * tap;
        a2 += r2 * tap;
        a3 += r3 * tap;
        r0 = r1;
        r1 = r2;
        r2 = r3;
      }
    }
    workgroupBarrier();
  }
  let oy = wg.y * BH + l.y;
  if (oy >= p.out_h) { return; }
  let ohw = p.out_h * p.out_w;
  let ox = wg.x * BW + l.x * 4u;
  var out = array<vec4<f32>, 4>(a0, a1, a2, a3);
  for (var j = 0u; j < 4u; j++) {
    if (ox + j >= p.out_w) { return; }
    let q = oy * p.out_w + ox + j;
    for (var c = 0u; c < p.cout; c++) {
      var v = out[j][c];
      if ((p.flags & FLAG_BIAS) != 0u) { v += bias[c]; }
      y[p.y_base + (img * p.cout + c) * ohw + q] = v;
    }
  }
}

// Direct convolution forward for at most 4 output channels, any stride, hardware adapters: a
// workgroup of 16x16 invocations computes a 16x16 block of output pixels of image z for all
// output channels (a vec4 each). For each input channel it stages the input window the block
// sees (side 15 s + K, zero outside the image) and that channel's K*K taps in workgroup
// memory; then each invocation sums its pixel's window from there.
// Layout: as conv_direct_rows.wgsl. Limits: 15 s + K <= 48, K <= 11 (conv/plan.rs checks).
// Bindings and weight(): conv_direct_fwd.wgsl.
@group(0) @binding(4) var<uniform> p: ConvParams;

// T, window and stage_window: conv_direct_window.wgsl.
const MAX_TAPS = 121u;
var<workgroup> taps: array<vec4<f32>, MAX_TAPS>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let img = wg.z;
  let oy = wg.y * T + l.y;
  let ox = wg.x * T + l.x;
  let side = (T - 1u) * p.stride + p.kh;
  let y0 = i32(wg.y * T * p.stride) - i32(p.pad);
  let x0 = i32(wg.x * T * p.stride) - i32(p.pad);
  let kk = p.kh * p.kh;
  let all_taps = p.cin * kk;
  let at = l.y * p.stride * side + l.x * p.stride;
  var acc = vec4<f32>(0.0);
  for (var ci = 0u; ci < p.cin; ci++) {
    let plane = p.x_base + (img * p.cin + ci) * p.height * p.width;
    stage_window(plane, y0, x0, side, side, lid);
    for (var t = lid; t < kk; t += 256u) {
      let f = ci * kk + t;
      taps[t] = vec4(weight(0u, f, all_taps), weight(1u, f, all_taps), weight(2u, f, all_taps),
                     weight(3u, f, all_taps));
    }
    workgroupBarrier();
    for (var ky = 0u; ky < p.kh; ky++) {
      for (var kx = 0u; kx < p.kh; kx++) {
        acc += window[at + ky * side + kx] * taps[ky * p.kh + kx];
      }
    }
    workgroupBarrier();
  }
  if (oy >= p.out_h || ox >= p.out_w) { return; }
  let ohw = p.out_h * p.out_w;
  let q = oy * p.out_w + ox;
  for (var c = 0u; c < p.cout; c++) {
    var v = acc[c];
    if ((p.flags & FLAG_BIAS) != 0u) { v += bias[c]; }
    y[p.y_base + (img * p.cout + c) * ohw + q] = v;
  }
}

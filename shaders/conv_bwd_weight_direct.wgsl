// Convolution weight gradient for at most 4 output channels:
//   dw[co, ci, ky, kx] = sum over images and output pixels of
//                        dy[img, co, oy, ox] * x[img, ci, oy*s + ky - pad, ox*s + kx - pad].
// Workgroup (ci, img) walks image img's output in 16x16 blocks; for each it stages the input
// window the block sees (side 15 s + K) and the block's dy (a vec4 of output channels per
// pixel) in workgroup memory. Invocation t owns tap t % (K K) and sums every (256 / (K K))-th
// pixel of each block; at the end the taps' partial sums are added in workgroup memory and
// written as slice img of slices[img][co][ci][tap], which reduce::sum_slices adds up.
// Layout: x [images, Cin, H, W] from x_base, dy [images, Cout, OH, OW] from y_base.
// Limits: 15 s + K <= 48, K <= 11 (conv/plan.rs checks).
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> slices: array<f32>;
@group(0) @binding(3) var<uniform> p: ConvParams;

// T, window and stage_window: conv_direct_window.wgsl.
var<workgroup> grad: array<vec4<f32>, 256>; // the block's dy, then the taps' partial sums

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let ci = wg.x;
  let img = wg.y;
  let kk = p.kh * p.kh;
  let parts = 256u / kk;
  let tap = lid % kk;
  let part = lid / kk;
  let ky = tap / p.kh;
  let kx = tap % p.kh;
  let side = (T - 1u) * p.stride + p.kh;
  let ohw = p.out_h * p.out_w;
  let plane = p.x_base + (img * p.cin + ci) * p.height * p.width;
  let blocks_x = (p.out_w + T - 1u) / T;
  let blocks = blocks_x * ((p.out_h + T - 1u) / T);
  var acc = vec4<f32>(0.0);
  for (var b = 0u; b < blocks; b++) {
    let by = b / blocks_x;
    let bx = b % blocks_x;
    let y0 = i32(by * T * p.stride) - i32(p.pad);
    let x0 = i32(bx * T * p.stride) - i32(p.pad);
    stage_window(plane, y0, x0, side, side, lid);
    let oy = by * T + lid / T;
    let ox = bx * T + lid % T;
    var g = vec4<f32>(0.0);
    if (oy < p.out_h && ox < p.out_w) {
      for (var c = 0u; c < p.cout; c++) {
        g[c] = dy[p.y_base + (img * p.cout + c) * ohw + oy * p.out_w + ox];
      }
    }
    grad[lid] = g;
    workgroupBarrier();
    if (part < parts) {
      for (var q = part; q < T * T; q += parts) {
        acc += grad[q] * window[((q / T) * p.stride + ky) * side + (q % T) * p.stride + kx];
      }
    }
    workgroupBarrier();
  }
  grad[lid] = acc;
  workgroupBarrier();
  if (lid < kk) {
    var sum = vec4<f32>(0.0);
    for (var q = 0u; q < parts; q++) { sum += grad[q * kk + lid]; }
    for (var c = 0u; c < p.cout; c++) {
      slices[((img * p.cout + c) * p.cin + ci) * kk + lid] = sum[c];
    }
  }
}

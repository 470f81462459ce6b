// Convolution weight gradient for few output channels (at most 4), such as SRGAN's last layer
// (64 -> 3, 9x9), on hardware GPUs. As a matrix product it has 3 rows and an im2col operand
// 81 times the size of x (a mixed-precision version packed 1.5 GB per step and took 3 ms on
// an H200). dw[co, ci, ky, kx] = sum over images and output
// pixels of dy[img, co, oy, ox] * x[img, ci, oy*s + ky - pad, ox*s + kx - pad].
// Workgroup (ci, img) walks image img's output in 16x16 blocks, staging each block's input
// window (side 15 s + K) and dy (a vec4 of output channels per pixel) in workgroup memory.
// Invocation t owns tap row ky = t % K and every PARTS-th pixel of the block (PARTS = 256 /
// K): per pixel it reads dy once and the K window values of its row, for K vec4
// multiply-adds (an earlier kernel with one tap per invocation read two values for one and
// took 0.68 ms for the 96x96 batch of 16 on an H100). At the
// end the parts' sums are added in workgroup memory, a column of taps at a time, and written
// as slice img of slices[img][co][ci][tap] for reduce::sum_slices to add up over images.
// Specialised: the header defines p (Params, as a constant) and K.
// Layout: x [images, Cin, H, W] from element x_base of its binding, dy [images, Cout, OH, OW]
// from y_base.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> slices: array<f32>;

// T, window and stage_window: conv_direct_window.wgsl.
const PARTS = 256u / K;
var<workgroup> grad: array<vec4<f32>, 256>; // the block's dy, then the parts' sums

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let ci = wg.x;
  let img = wg.y;
  let ky = lid % K;
  let part = lid / K;
  let side = (T - 1u) * p.stride + K;
  let ohw = p.out_h * p.out_w;
  let plane = p.x_base + (img * p.cin + ci) * p.height * p.width;
  let blocks_x = (p.out_w + T - 1u) / T;
  let blocks = blocks_x * ((p.out_h + T - 1u) / T);
  var acc: array<vec4<f32>, K>;
  for (var b = 0u; b < blocks; b++) {
    let by = b / blocks_x;
    let bx = b % blocks_x;
    let y0 = i32(by * T * p.stride) - i32(p.pad);
    let x0 = i32(bx * T * p.stride) - i32(p.pad);
    stage_window(plane, y0, x0, side, lid);
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
    if (part < PARTS) {
      for (var q = part; q < T * T; q += PARTS) {
        let gq = grad[q];
        let row = ((q / T) * p.stride + ky) * side + (q % T) * p.stride;
        for (var kx = 0u; kx < K; kx++) {
          acc[kx] += gq * window[row + kx];
        }
      }
    }
    workgroupBarrier();
  }
  // Column kx of taps: invocation ky < K adds the parts' sums of tap (ky, kx).
  for (var kx = 0u; kx < K; kx++) {
    grad[lid] = select(vec4<f32>(0.0), acc[kx], part < PARTS);
    workgroupBarrier();
    if (lid < K) {
      var sum = vec4<f32>(0.0);
      for (var q = 0u; q < PARTS; q++) { sum += grad[q * K + lid]; }
      for (var c = 0u; c < p.cout; c++) {
        slices[((img * p.cout + c) * p.cin + ci) * K * K + lid * K + kx] = sum[c];
      }
    }
    workgroupBarrier();
  }
}

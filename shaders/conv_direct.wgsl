// Direct convolution forward for few output channels (at most 4), such as SRGAN's last
// layer (64 -> 3, 9x9), on software GPUs (conv_direct_tiled.wgsl is the hardware GPUs' one). As a matrix product it would have 3 rows: each im2col value would feed
// only 3 products and its address arithmetic would dominate. Here one invocation computes one
// output pixel for all output channels at once, walking its input window with plain nested
// loops (no divisions inside), the weights read as a vec4 per tap.
// Layout: x [images, Cin, H, W] from element x_base of its binding, w [Cout, Cin, K, K],
// y [images, Cout, OH, OW] from y_base. One invocation per output pixel, spread over x and y.
// Bindings and weight(): conv_direct_fwd.wgsl.
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.pixels) { return; }
  let ohw = p.out_h * p.out_w;
  let img = i / ohw;
  let q = i % ohw;
  let iy0 = i32((q / p.out_w) * p.stride) - i32(p.pad);
  let ix0 = i32((q % p.out_w) * p.stride) - i32(p.pad);
  let taps = p.cin * p.k * p.k;
  var acc = vec4<f32>(0.0);
  for (var ci = 0u; ci < p.cin; ci++) {
    let plane = p.x_base + (img * p.cin + ci) * p.height * p.width;
    for (var ky = 0u; ky < p.k; ky++) {
      let iy = iy0 + i32(ky);
      if (iy < 0 || iy >= i32(p.height)) { continue; }
      let row = plane + u32(iy) * p.width;
      for (var kx = 0u; kx < p.k; kx++) {
        let ix = ix0 + i32(kx);
        if (ix < 0 || ix >= i32(p.width)) { continue; }
        let t = (ci * p.k + ky) * p.k + kx;
        let wv = vec4<f32>(weight(0u, t, taps), weight(1u, t, taps), weight(2u, t, taps), weight(3u, t, taps));
        acc += x[row + u32(ix)] * wv;
      }
    }
  }
  for (var c = 0u; c < p.cout; c++) {
    var v = acc[c];
    if (p.has_bias == 1u) { v += bias[c]; }
    y[p.y_base + (img * p.cout + c) * ohw + q] = v;
  }
}

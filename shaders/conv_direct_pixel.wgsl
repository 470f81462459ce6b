// Direct convolution forward for at most 4 output channels, software adapters' version (no
// barriers): one invocation per output pixel computes all output channels at once (a vec4),
// walking its input window with plain nested loops, the weights read as a vec4 per tap.
// Layout: x [images, Cin, H, W] from element x_base of its binding, w [Cout, Cin, K, K],
// y [images, Cout, OH, OW] from y_base. p.outputs pixels, spread over x and y.
// Bindings and weight(): conv_direct_fwd.wgsl.
@group(0) @binding(4) var<uniform> p: ConvParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.outputs) { return; }
  let ohw = p.out_h * p.out_w;
  let img = i / ohw;
  let q = i % ohw;
  let iy0 = i32((q / p.out_w) * p.stride) - i32(p.pad);
  let ix0 = i32((q % p.out_w) * p.stride) - i32(p.pad);
  let taps = p.cin * p.kh * p.kh;
  var acc = vec4<f32>(0.0);
  for (var ci = 0u; ci < p.cin; ci++) {
    let plane = p.x_base + (img * p.cin + ci) * p.height * p.width;
    for (var ky = 0u; ky < p.kh; ky++) {
      let iy = iy0 + i32(ky);
      if (iy < 0 || iy >= i32(p.height)) { continue; }
      let row = plane + u32(iy) * p.width;
      for (var kx = 0u; kx < p.kh; kx++) {
        let ix = ix0 + i32(kx);
        if (ix < 0 || ix >= i32(p.width)) { continue; }
        let t = (ci * p.kh + ky) * p.kh + kx;
        let wv = vec4<f32>(weight(0u, t, taps), weight(1u, t, taps), weight(2u, t, taps), weight(3u, t, taps));
        acc += x[row + u32(ix)] * wv;
      }
    }
  }
  for (var c = 0u; c < p.cout; c++) {
    var v = acc[c];
    if ((p.flags & FLAG_BIAS) != 0u) { v += bias[c]; }
    y[p.y_base + (img * p.cout + c) * ohw + q] = v;
  }
}

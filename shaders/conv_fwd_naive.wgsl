// Convolution forward, naive: one invocation per output value, the loop of the CPU reference
// (src/ops/conv/cpu.rs) with nothing shared between invocations:
//   y[img, co, oy, ox] = bias[co] + sum over (ci, ky, kx) of
//                        w[co, ci, ky, kx] * x[img, ci, oy*stride + ky - pad, ox*stride + kx - pad]
// with x zero outside the image. Layout: x [images, Cin, H, W] from element x_base of its
// binding, w [Cout, Cin, KH, KW], y [images, Cout, OH, OW] from y_base. Invocation i (of
// p.outputs, spread over x and y) writes element i of y.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: ConvParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.outputs) { return; }
  let ox = i % p.out_w;
  let oy = (i / p.out_w) % p.out_h;
  let co = (i / (p.out_w * p.out_h)) % p.cout;
  let img = i / (p.out_w * p.out_h * p.cout);
  var sum = 0.0;
  if ((p.flags & FLAG_BIAS) != 0u) { sum = bias[co]; }
  for (var ci = 0u; ci < p.cin; ci++) {
    for (var ky = 0u; ky < p.kh; ky++) {
      for (var kx = 0u; kx < p.kw; kx++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        let ix = i32(ox * p.stride + kx) - i32(p.pad);
        if (iy < 0 || ix < 0 || iy >= i32(p.height) || ix >= i32(p.width)) { continue; }
        let xi = ((img * p.cin + ci) * p.height + u32(iy)) * p.width + u32(ix);
        let wi = ((co * p.cin + ci) * p.kh + ky) * p.kw + kx;
        sum += x[p.x_base + xi] * w[wi];
      }
    }
  }
  y[p.y_base + i] = sum;
}

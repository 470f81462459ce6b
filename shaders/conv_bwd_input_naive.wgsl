// Convolution backward to the input, naive: one invocation per input value, the CPU
// reference's loop turned around to gather what that value fed:
//   dx[img, ci, iy, ix] = sum over (co, ky, kx) of w[co, ci, ky, kx] * dy[img, co, oy, ox]
// over the (oy, ox) with oy*stride + ky - pad = iy and ox*stride + kx - pad = ix.
// Layout: dy [images, Cout, OH, OW] from element y_base of its binding, w [Cout, Cin, KH, KW],
// dx [images, Cin, H, W] from x_base. Invocation i (of p.outputs, spread over x and y) writes
// element i of dx.
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: ConvParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.outputs) { return; }
  let ix = i % p.width;
  let iy = (i / p.width) % p.height;
  let ci = (i / (p.width * p.height)) % p.cin;
  let img = i / (p.width * p.height * p.cin);
  let s = i32(p.stride);
  var sum = 0.0;
  for (var co = 0u; co < p.cout; co++) {
    for (var ky = 0u; ky < p.kh; ky++) {
      for (var kx = 0u; kx < p.kw; kx++) {
        // oy * stride = iy + pad - ky, likewise for x: only whole, in-range rows count.
        let ty = i32(iy + p.pad) - i32(ky);
        let tx = i32(ix + p.pad) - i32(kx);
        if (ty < 0 || tx < 0 || ty % s != 0 || tx % s != 0) { continue; }
        let oy = u32(ty / s);
        let ox = u32(tx / s);
        if (oy >= p.out_h || ox >= p.out_w) { continue; }
        let yi = ((img * p.cout + co) * p.out_h + oy) * p.out_w + ox;
        let wi = ((co * p.cin + ci) * p.kh + ky) * p.kw + kx;
        sum += w[wi] * dy[p.y_base + yi];
      }
    }
  }
  dx[p.x_base + i] = sum;
}

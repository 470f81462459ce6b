// Convolution backward to the weights, naive: one invocation per weight, summing what it
// multiplied in the CPU reference's loop:
//   dw[co, ci, ky, kx] = sum over (img, oy, ox) of
//                        dy[img, co, oy, ox] * x[img, ci, oy*stride + ky - pad, ox*stride + kx - pad]
// with x zero outside the image; added to dw with FLAG_ACCUMULATE (a batch taken a group of
// images at a time). Layout: dy [images, Cout, OH, OW] from element y_base of its binding,
// x [images, Cin, H, W] from x_base, dw [Cout, Cin, KH, KW]. Invocation i (of p.outputs)
// writes element i of dw.
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<uniform> p: ConvParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.outputs) { return; }
  let kx = i % p.kw;
  let ky = (i / p.kw) % p.kh;
  let ci = (i / (p.kw * p.kh)) % p.cin;
  let co = i / (p.kw * p.kh * p.cin);
  var sum = 0.0;
  if ((p.flags & FLAG_ACCUMULATE) != 0u) { sum = dw[i]; }
  for (var img = 0u; img < p.images; img++) {
    for (var oy = 0u; oy < p.out_h; oy++) {
      for (var ox = 0u; ox < p.out_w; ox++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        let ix = i32(ox * p.stride + kx) - i32(p.pad);
        if (iy < 0 || ix < 0 || iy >= i32(p.height) || ix >= i32(p.width)) { continue; }
        let xi = ((img * p.cin + ci) * p.height + u32(iy)) * p.width + u32(ix);
        let yi = ((img * p.cout + co) * p.out_h + oy) * p.out_w + ox;
        sum += dy[p.y_base + yi] * x[p.x_base + xi];
      }
    }
  }
  dw[i] = sum;
}

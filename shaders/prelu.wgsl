// PReLU forward, x of layout [N, C, HW]: y = x if x > 0 else slope[c] * x. With one shared
// slope (slopes == 1) every element uses slope[0]. `base` as in batchnorm_apply.wgsl.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> slope: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: PreluParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = select(0u, ((p.base + i) / p.hw) % p.channels, p.slopes > 1u);
  let v = x[i];
  y[i] = select(slope[c] * v, v, v > 0.0);
}

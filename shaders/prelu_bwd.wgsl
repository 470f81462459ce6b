// PReLU backward to the input: dx = dy if x > 0 else slope[c] * dy. Layout as prelu.wgsl.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> slope: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: PreluParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = select(0u, ((p.base + i) / p.hw) % p.channels, p.slopes > 1u);
  dx[i] = select(slope[c] * dy[i], dy[i], x[i] > 0.0);
}

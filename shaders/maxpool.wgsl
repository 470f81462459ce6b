// Max pool 2x2, stride 2, x [N, C, H, W] -> y [N, C, H/2, W/2] (odd edges dropped, as PyTorch).
// One invocation per output element.
// The same struct in Rust: src/ops/mod.rs, Planes.
struct Params { n: u32, height: u32, width: u32, _pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.n) { return; }
  let ow = p.width / 2u;
  let oh = p.height / 2u;
  let plane = o / (ow * oh);
  let top = plane * p.height * p.width + ((o / ow) % oh) * 2u * p.width + (o % ow) * 2u;
  y[o] = max(max(x[top], x[top + 1u]), max(x[top + p.width], x[top + p.width + 1u]));
}

// Max pool backward: each input element gets dy of its window if it is the window's maximum
// (the first in reading order on ties, as the forward's max picks one value), else 0.
// One invocation per input element; windows do not overlap, so this is a gather.
// The same struct in Rust: src/ops/mod.rs, Planes.
struct Params { n: u32, height: u32, width: u32, _pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let w = i % p.width;
  let h = (i / p.width) % p.height;
  let plane = i / (p.width * p.height);
  let ow = p.width / 2u;
  let oh = p.height / 2u;
  if (w >= ow * 2u || h >= oh * 2u) { dx[i] = 0.0; return; }
  let top = plane * p.height * p.width + (h - h % 2u) * p.width + (w - w % 2u);
  let v = array<f32, 4>(x[top], x[top + 1u], x[top + p.width], x[top + p.width + 1u]);
  var best = 0u;
  for (var k = 1u; k < 4u; k++) { if (v[k] > v[best]) { best = k; } }
  let mine = (h % 2u) * 2u + (w % 2u);
  dx[i] = select(0.0, dy[(plane * oh + h / 2u) * ow + w / 2u], best == mine);
}

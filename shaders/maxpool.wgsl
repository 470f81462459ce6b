// Max pool, a `window`-square window every `stride` pixels, no padding:
// x [N, C, H, W] -> y [N, C, (H - window) / stride + 1, (W - window) / stride + 1]
// (edges that fit no whole window are dropped, as PyTorch's floor mode).
// One invocation per output element.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: PoolParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.n) { return; }
  let plane = o / (p.out_w * p.out_h);
  let top = plane * p.height * p.width + ((o / p.out_w) % p.out_h) * p.stride * p.width
    + (o % p.out_w) * p.stride;
  var m = x[top];
  for (var dy = 0u; dy < p.window; dy++) {
    for (var dx = 0u; dx < p.window; dx++) {
      m = max(m, x[top + dy * p.width + dx]);
    }
  }
  y[o] = m;
}

// Max pool backward: each input element gets the sum of dy over the windows whose maximum it
// is (the first in reading order on ties, as the forward's max picks one value), else 0.
// One invocation per input element, a gather over the (at most ceil(window / stride)^2)
// windows that hold it, so overlapping windows (AlexNet's 3x3 every 2) need no atomics.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: PoolParams;

// The first windows (along one axis) that hold coordinate i, and one past the last.
fn windows(i: u32, count: u32) -> vec2<u32> {
  let first = select(0u, (i + 1u - p.window + p.stride - 1u) / p.stride, i + 1u > p.window);
  return vec2<u32>(first, min(i / p.stride + 1u, count));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let w = i % p.width;
  let h = (i / p.width) % p.height;
  let plane = i / (p.width * p.height);
  let base = plane * p.height * p.width;
  let rows = windows(h, p.out_h);
  let cols = windows(w, p.out_w);
  var sum = 0.0;
  for (var oy = rows.x; oy < rows.y; oy++) {
    for (var ox = cols.x; ox < cols.y; ox++) {
      let top = base + oy * p.stride * p.width + ox * p.stride;
      var best = top;
      for (var ky = 0u; ky < p.window; ky++) {
        for (var kx = 0u; kx < p.window; kx++) {
          let j = top + ky * p.width + kx;
          if (x[j] > x[best]) { best = j; }
        }
      }
      if (best == i) { sum += dy[(plane * p.out_h + oy) * p.out_w + ox]; }
    }
  }
  dx[i] = sum;
}

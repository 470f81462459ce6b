// Winograd F(4x4, 3x3) (conv/winograd.rs), the weights' transform: the 6x6 tile G g G^T of
// the 3x3 kernel g that row m of the products applies to their input channel k, written to
// element (m, k) of the 36 matrices U[ξ] (ξ = 6 i + j for row i, column j of the tile):
// u[(ξ M + m) K + k], M = p.m, K = p.k. Entry `forward`: g = w[m][k], the convolution's own
// (w is [Cout][Cin][3][3]). Entry `flipped`, for an input gradient: g = w[k][m] turned by
// 180°, the kernels that convolve dy into dx.
// One invocation per (m, k), k fastest.
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> u: array<f32>;
@group(0) @binding(2) var<uniform> p: GemmParams;

// G, whose rows are the six points' combinations of a kernel's three taps.
const G = array<vec3<f32>, 6>(
  vec3(1.0 / 4.0, 0.0, 0.0),
  vec3(-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0),
  vec3(-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0),
  vec3(1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0),
  vec3(1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0),
  vec3(0.0, 0.0, 1.0),
);

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  transform(index(gid, nwg), false);
}

@compute @workgroup_size(256)
fn flipped(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  transform(index(gid, nwg), true);
}

fn transform(i: u32, flip: bool) {
  if (i >= p.m * p.k) { return; }
  let m = i / p.k;
  let k = i % p.k;
  let first = select(m * p.k + k, k * p.m + m, flip) * 9u;
  // g's rows; turned by 180°, tap t is the kernel's 8 - t.
  var g: array<vec3<f32>, 3>;
  for (var r = 0u; r < 3u; r++) {
    for (var c = 0u; c < 3u; c++) {
      let t = 3u * r + c;
      g[r][c] = w[first + select(t, 8u - t, flip)];
    }
  }
  for (var a = 0u; a < 6u; a++) {
    // Row a of G g, then its product with each row b of G: element (a, b) of G g G^T.
    let row = G[a].x * g[0] + G[a].y * g[1] + G[a].z * g[2];
    for (var b = 0u; b < 6u; b++) {
      u[((6u * a + b) * p.m + m) * p.k + k] = dot(row, G[b]);
    }
  }
}

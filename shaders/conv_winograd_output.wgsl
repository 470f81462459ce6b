// Winograd F(4x4, 3x3) (conv/winograd.rs), the output's transform: for output channel m and
// tile t (as conv_winograd_input.wgsl numbers them), the 6x6 tile of sums M whose element
// (i, j) is products[(ξ M + m) N + t], ξ = 6 i + j (gemm_winograd.wgsl), becomes the 4x4
// outputs A^T M A, each stored through store() (gemm_store.wgsl: the bias, and the epilogue
// where the program has one) at its place in y, [images][M][out_h][out_w] from p.c_base;
// outputs past the image's edge are dropped.
// One invocation per (m, t), t fastest.
@group(0) @binding(0) var<storage, read> products: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> slope: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<uniform> p: GemmParams;

// A^T s for a column s of six values.
fn at(s: array<f32, 6>) -> array<f32, 4> {
  return array(
    s[0] + s[1] + s[2] + s[3] + s[4],
    s[1] - s[2] + 2.0 * s[3] - 2.0 * s[4],
    s[1] + s[2] + 4.0 * s[3] + 4.0 * s[4],
    s[1] - s[2] + 8.0 * s[3] - 8.0 * s[4] + s[5],
  );
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.m * p.n) { return; }
  let m = i / p.n;
  let t = i % p.n;
  // Each row of M times A (A^T of the row), then each column of that.
  var rows: array<array<f32, 4>, 6>;
  for (var a = 0u; a < 6u; a++) {
    var s: array<f32, 6>;
    for (var j = 0u; j < 6u; j++) {
      s[j] = products[((6u * a + j) * p.m + m) * p.n + t];
    }
    rows[a] = at(s);
  }
  let tiles_w = (p.out_w + 3u) / 4u;
  let per_image = tiles_w * ((p.out_h + 3u) / 4u);
  let z = t / per_image;
  let y0 = 4u * ((t % per_image) / tiles_w);
  let x0 = 4u * ((t % per_image) % tiles_w);
  let plane = p.c_base + (z * p.m + m) * p.out_h * p.out_w;
  for (var j = 0u; j < 4u; j++) {
    let col = at(array(rows[0][j], rows[1][j], rows[2][j], rows[3][j], rows[4][j], rows[5][j]));
    for (var a = 0u; a < 4u; a++) {
      let y = y0 + a;
      let x = x0 + j;
      if (y < p.out_h && x < p.out_w) { store(m, plane + y * p.out_w + x, m, col[a]); }
    }
  }
}

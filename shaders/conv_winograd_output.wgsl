// Winograd F(4x4, 3x3) (conv/winograd.rs), the output's transform: for output channel m and
// tile t (as conv_winograd_input.wgsl numbers them), the 6x6 tile of sums M whose element
// (i, j) is products[(ξ M + m) N + t], ξ = 6 i + j (gemm_winograd.wgsl), becomes the 4x4
// outputs Aᵀ M A, each stored through store() (gemm_store.wgsl: the bias, and the epilogue
// where the program has one) at its place in y, [images][M][out_h][out_w] from p.c_base;
// outputs past the image's edge are dropped.
// One invocation per (m, t, column c of the 4x4 outputs), c fastest: the four of a tile read
// the same sums, and neighbouring invocations write neighbouring pixels of a row (one pixel
// per tile each, they wrote pixels 4 apart: the 256→1024 upscale's output transforms took 3.9
// ms of GPU time on an H100, now 1.9).
@group(0) @binding(0) var<storage, read> products: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> slope: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<uniform> p: GemmParams;

// Aᵀ, whose row c also gives column c of A.
const A_T = array<array<f32, 6>, 4>(
  array(1.0, 1.0, 1.0, 1.0, 1.0, 0.0),
  array(0.0, 1.0, -1.0, 2.0, -2.0, 0.0),
  array(0.0, 1.0, 1.0, 4.0, 4.0, 0.0),
  array(0.0, 1.0, -1.0, 8.0, -8.0, 1.0),
);

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= 4u * p.m * p.n) { return; }
  let col = i % 4u;
  let m = (i / 4u) / p.n;
  let t = (i / 4u) % p.n;
  let a_col = A_T[col];
  // Column `col` of M A, then Aᵀ times it: column `col` of the outputs.
  var s: array<f32, 6>;
  for (var a = 0u; a < 6u; a++) {
    for (var j = 0u; j < 6u; j++) {
      s[a] += products[((6u * a + j) * p.m + m) * p.n + t] * a_col[j];
    }
  }
  let tiles_w = (p.out_w + 3u) / 4u;
  let per_image = tiles_w * ((p.out_h + 3u) / 4u);
  let z = t / per_image;
  let y0 = 4u * ((t % per_image) / tiles_w);
  let x = 4u * ((t % per_image) % tiles_w) + col;
  let plane = p.c_base + (z * p.m + m) * p.out_h * p.out_w;
  for (var r = 0u; r < 4u; r++) {
    let a_row = A_T[r];
    var v = 0.0;
    for (var a = 0u; a < 6u; a++) { v += a_row[a] * s[a]; }
    let y = y0 + r;
    if (y < p.out_h && x < p.out_w) { store(m, plane + y * p.out_w + x, m, v); }
  }
}

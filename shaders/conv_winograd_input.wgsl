// Winograd F(4x4, 3x3) (conv/winograd.rs), the input's transform: for input channel c and
// tile t, the 6x6 window d whose 3x3 convolution gives the tile's 4x4 outputs, transformed as
// B^T d B, element (i, j) written to column t, row c of matrix V[ξ], ξ = 6 i + j:
// v[(ξ K + c) N + t], K = p.k input channels, N = p.n tiles. Tiles cover each image's output
// in rows of ⌈out_w / 4⌉, image after image: tile t of image z = t / (tiles per image) starts
// at output pixel (4 ty, 4 tx), its window at input pixel (4 ty - pad, 4 tx - pad), zero
// outside the image. x is [images][K][height][width] from p.b_base.
// One invocation per (c, t), t fastest.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> v: array<f32>;
@group(0) @binding(2) var<uniform> p: GemmParams;

// B^T d for a column d of six values.
fn bt(d: array<f32, 6>) -> array<f32, 6> {
  return array(
    4.0 * d[0] - 5.0 * d[2] + d[4],
    -4.0 * d[1] - 4.0 * d[2] + d[3] + d[4],
    4.0 * d[1] - 4.0 * d[2] - d[3] + d[4],
    -2.0 * d[1] - d[2] + 2.0 * d[3] + d[4],
    2.0 * d[1] - d[2] - 2.0 * d[3] + d[4],
    4.0 * d[1] - 5.0 * d[3] + d[5],
  );
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.k * p.n) { return; }
  let c = i / p.n;
  let t = i % p.n;
  let tiles_w = (p.out_w + 3u) / 4u;
  let per_image = tiles_w * ((p.out_h + 3u) / 4u);
  let z = t / per_image;
  let y0 = i32(4u * ((t % per_image) / tiles_w)) - i32(p.pad);
  let x0 = i32(4u * ((t % per_image) % tiles_w)) - i32(p.pad);
  let plane = p.b_base + (z * p.k + c) * p.height * p.width;
  // Each row of d times B (B^T of the row), then each column of that.
  var rows: array<array<f32, 6>, 6>;
  for (var r = 0u; r < 6u; r++) {
    let y = u32(y0 + i32(r));
    // Every element is written on every row, zero outside the image: WGSL gives a `var` of
    // a loop's body zeros at each iteration, but Chromium's software WebGPU (SwiftShader) kept
    // the previous row's values there, and the padding was wrong.
    var d: array<f32, 6>;
    for (var j = 0u; j < 6u; j++) {
      // Negative coordinates wrap to large unsigned ones: one comparison each.
      let xx = u32(x0 + i32(j));
      var value = 0.0;
      if (y < p.height && xx < p.width) { value = x[plane + y * p.width + xx]; }
      d[j] = value;
    }
    rows[r] = bt(d);
  }
  for (var j = 0u; j < 6u; j++) {
    let col = bt(array(rows[0][j], rows[1][j], rows[2][j], rows[3][j], rows[4][j], rows[5][j]));
    for (var a = 0u; a < 6u; a++) {
      v[((6u * a + j) * p.k + c) * p.n + t] = col[a];
    }
  }
}

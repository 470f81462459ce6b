// The 36 products of Winograd F(4x4, 3x3) (conv/winograd.rs) as one tiled product, product ξ
// at z of the dispatch (gemm_tiled.wgsl sets `slice` from it): C[ξ] = U[ξ] V[ξ], M = output
// channels, K = input channels, N = tiles (p.m, p.k, p.n). Each matrix is stored row after
// row, the 36 of each operand one after another (conv_winograd_weights.wgsl,
// conv_winograd_input.wgsl); C goes to conv_winograd_output.wgsl the same way, through
// store() with no flags set (gemm_store.wgsl).
fn a_stride() -> u32 { return p.k; }

fn a_offset(k: u32) -> u32 { return slice * p.m * p.k + k; }

fn b_row(k: u32) -> Part { return Part((slice * p.k + k) * p.n, 0, 0); }

fn b_col(n: u32, img: u32) -> Part { return Part(n, 0, 0); }

fn b_at(r: Part, c: Part) -> f32 { return b[r.base + c.base]; }

fn write_c(m: u32, n: u32, z: u32, v: f32) { store(m, (slice * p.m + m) * p.n + n, m, v); }

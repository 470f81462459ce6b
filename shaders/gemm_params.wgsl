// The parameter block of every matrix product (see src/ops/gemm.rs for the meaning of each
// field). `p` itself is declared by gemm_uniform.wgsl (generic kernels, read at run time) or
// as a constant in the header of a specialised kernel.
// flags: bit 0 add bias, bit 1 split K over z (write slice z of c), bit 2 accumulate into c.
// The same struct in Rust: src/ops/gemm.rs, Block.
struct Params {
  m: u32, n: u32, k: u32, tiles_n: u32,
  tiles: u32, k_per_z: u32, a_base: u32, b_base: u32,
  c_base: u32, flags: u32, cin: u32, height: u32,
  width: u32, cout: u32, out_h: u32, out_w: u32,
  kh: u32, kw: u32, stride: u32, pad: u32,
  sa_m: u32, sa_k: u32, sb_k: u32, sb_n: u32,
}

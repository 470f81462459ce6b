// The parameters of the direct convolution kernels (conv_direct.wgsl, conv_direct_tiled.wgsl,
// conv_bwd_weight_direct.wgsl); `DirectParams` in src/ops/conv.rs, field for field. pixels is
// used by conv_direct.wgsl alone; y_base is dy's base in the weight gradient.
// The same struct in Rust: src/ops/conv.rs, DirectParams.
struct Params {
  pixels: u32, cin: u32, height: u32, width: u32,
  cout: u32, out_h: u32, out_w: u32, k: u32,
  stride: u32, pad: u32, has_bias: u32, x_base: u32,
  y_base: u32, _p0: u32, _p1: u32, _p2: u32,
}

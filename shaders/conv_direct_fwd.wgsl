// The bindings of the direct forward kernels (conv_direct_tiled.wgsl, conv_direct_rows.wgsl)
// and their weight read. p (ConvParams) is the kernels' own: a
// uniform, or a constant in a specialised kernel.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// Weight of output channel c at flat tap t (of Cin*K*K); 0 for channels past Cout.
fn weight(c: u32, t: u32, taps: u32) -> f32 {
  return select(0.0, w[min(c * taps + t, p.cout * taps - 1u)], c < p.cout);
}

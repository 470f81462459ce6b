// The weights of conv_unrolled.wgsl: one invocation writes one value of
// wt [Cin, KH, KW, C'] from w [Cout, Cin, KH, KW], where C' (Cout rounded up to the kernel's
// blocks of channels) = p.outputs / (Cin KH KW); zero for channels past Cout. So the taps of
// one input channel and kernel position are consecutive, read as vec4s of output channels.
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;
@group(0) @binding(2) var<uniform> p: ConvParams;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.outputs) { return; }
  let taps = p.cin * p.kh * p.kw;
  let channels = p.outputs / taps;
  let co = i % channels;
  let t = i / channels;
  wt[i] = select(0.0, w[min(co, p.cout - 1u) * taps + t], co < p.cout);
}

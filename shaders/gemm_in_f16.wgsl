// The element type of gemm_tiled.wgsl's tiles and products: f16 (adapters with shader-f16).
// Operands saturate at f16's largest value (65504) instead of becoming infinite, as the
// tensor cores' packing does. A K step's products are summed in f16 from zero, then added to
// the f32 accumulators, so that no f16 sum runs more than BK terms.
alias S = f16;

fn to_s(v: vec4<f32>) -> vec4<S> { return vec4<S>(clamp(v, vec4(-65504.0), vec4(65504.0))); }

fn step_start(acc: vec4<f32>) -> vec4<S> { return vec4<S>(); }

fn step_end(acc: vec4<f32>, sum: vec4<S>) -> vec4<f32> { return acc + vec4<f32>(sum); }

// The element type of gemm_tiled.wgsl's tiles and products: f32, any adapter. A K step's
// products are added straight to the accumulators.
alias S = f32;

fn to_s(v: vec4<f32>) -> vec4<S> { return v; }

fn step_start(acc: vec4<f32>) -> vec4<S> { return acc; }

fn step_end(acc: vec4<f32>, sum: vec4<S>) -> vec4<f32> { return sum; }

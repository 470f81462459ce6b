// The bindings of a matrix product's output, which gemm_store.wgsl writes: the bias, C, and
// the epilogue's slopes and residual, after the operands a and b at 0 and 1.
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> slope: array<f32>;
@group(0) @binding(5) var<storage, read> residual: array<f32>;

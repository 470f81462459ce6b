// The f32 operands of a matrix product, which the users' read_a and read_b read.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;

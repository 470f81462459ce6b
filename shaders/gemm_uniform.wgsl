// The parameters of a generic (not specialised) gemm.wgsl kernel, read at run time.
@group(0) @binding(6) var<uniform> p: Params;

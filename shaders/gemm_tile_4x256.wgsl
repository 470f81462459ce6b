// gemm_f32.wgsl's thin tile for products of at most 4 rows (the weight gradient of a convolution
// with 3 output channels): 4x256 outputs, one row of 256 invocations of 4x1 each, K steps of
// 16. The 64x64 tile would spend 61 of every 64 products on rows that do not exist.
const BM = 4u;
const BN = 256u;
const BK = 16u;
const TX = 256u;
const TY = 1u;

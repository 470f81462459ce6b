// gemm_tiled.wgsl's thin tile for products of at most 4 rows (the gradients of a convolution
// from or to 3 channels): 4x256 outputs, one row of 64 invocations of 4x4 each, K
// steps of 8. The 64x64 tile would spend 61 of every 64 products on rows that do not exist.
const BM = 4u;
const BN = 256u;
const BK = 8u;

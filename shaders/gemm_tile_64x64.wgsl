// gemm_tiled.wgsl's general tile: 64x64 outputs, 16x16 invocations of 4x4 each, K steps of 16.
const BM = 64u;
const BN = 64u;
const BK = 16u;

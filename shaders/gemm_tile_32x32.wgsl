// gemm_tiled.wgsl's small tile, for products whose 64x64 tiles would be too few to fill a GPU
// and whose K cannot be split (a forward with the next layers fused into its store, or K too
// short): 32x32 outputs, 8x8 invocations of 4x4 each, K steps of 16.
const BM = 32u;
const BN = 32u;
const BK = 16u;

// gemm_tiled.wgsl's short tile for products of at most 16 rows (a linear layer at a batch of
// 16 or fewer: the discriminator's): 16x256 outputs, 4 rows of 64 invocations of 4x4 each,
// K steps of 8. The 64x64 tile would leave three quarters of its rows empty.
const BM = 16u;
const BN = 256u;
const BK = 8u;

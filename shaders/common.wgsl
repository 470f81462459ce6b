// Prepended to every kernel (see src/ops/mod.rs).

// Flat index of a 1-D kernel with 256 invocations per workgroup whose dispatch is spread over
// x and y when it needs more than the adapter's workgroups per dimension.
fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * 256u; }

// Sum of one value per invocation over a workgroup of 256, by halving. Every invocation must
// call it (it has barriers); all get the total.
var<workgroup> partial: array<f32, 256>;
fn workgroup_sum(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

// Per-channel reductions over a [N, C, HW] tensor: element j (0 <= j < N * HW) of channel c.
// One workgroup per channel; invocation lid takes j = lid + 256 i for i = 0, 1, ..., sixteen
// at a time (j, j + 256, ..., j + 3840: four vec4s of loads, `SPAN` apart), so that sixteen
// loads are in flight (a 24x24 batch of 16 is 36 elements per invocation: three rounds of
// memory latency instead of nine with four, or 36 with one), always in the same order.
const SPAN = 4096u;
fn nchw_at(j: u32, c: u32, channels: u32, hw: u32) -> u32 {
  return ((j / hw) * channels + c) * hw + j % hw;
}

// 1 for each of j, j + 256, j + 512, j + 768 below len, else 0.
fn lanes(j: u32, len: u32) -> vec4<f32> {
  return vec4<f32>(vec4(j) + vec4(0u, 256u, 512u, 768u) < vec4(len));
}

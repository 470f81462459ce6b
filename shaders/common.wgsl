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
// They walk j four elements apart per invocation with four accumulators, so that four loads
// are in flight (one at a time left most of an H100 idle), always in the same order.
fn nchw_at(j: u32, c: u32, channels: u32, hw: u32) -> u32 {
  return ((j / hw) * channels + c) * hw + j % hw;
}

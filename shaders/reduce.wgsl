// Sums. `sum_partial`: workgroup g adds a[g*span .. (g+1)*span) into out[g]; run again on the
// partial sums until one value is left. `channel_sum`: for a of layout [N, C, HW],
// out[c] = alpha * sum over n and hw of a[n, c, hw] (+ out[c] when accumulate is 1);
// one workgroup per channel.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: ReduceParams;

@compute @workgroup_size(256)
fn sum_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let g = wg.x + wg.y * nwg.x;
  let start = g * p.span;
  let end = min(start + p.span, p.n);
  var acc = 0.0;
  for (var i = start + lid; i < end; i += 256u) { acc += a[i]; }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u && start < p.n) { out[g] = p.alpha * total; }
}

@compute @workgroup_size(256)
fn channel_sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let len = p.batch * p.hw;
  var acc = vec4(0.0);
  var j = lid;
  for (; j + 768u < len; j += 1024u) {
    acc += vec4(a[nchw_at(j, c, p.channels, p.hw)], a[nchw_at(j + 256u, c, p.channels, p.hw)],
                a[nchw_at(j + 512u, c, p.channels, p.hw)], a[nchw_at(j + 768u, c, p.channels, p.hw)]);
  }
  for (; j < len; j += 256u) { acc.x += a[nchw_at(j, c, p.channels, p.hw)]; }
  let total = workgroup_sum((acc.x + acc.y) + (acc.z + acc.w), lid);
  if (lid == 0u) {
    let prev = select(0.0, out[c], p.accumulate == 1u);
    out[c] = prev + p.alpha * total;
  }
}

// out[out_base + i] = sum over s < batch of a[s * n + i] (+ that element of out when
// accumulate is 1): adds up the K slices of a split matrix product.
@compute @workgroup_size(256)
fn sum_slices(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let o = p.out_base + i;
  var acc = select(0.0, out[o], p.accumulate == 1u);
  for (var s = 0u; s < p.batch; s++) { acc += a[s * p.n + i]; }
  out[o] = acc;
}

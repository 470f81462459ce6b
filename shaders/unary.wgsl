// Elementwise ops with one input: out[i] = f(a[i]), for i in 0..n.
// Layout: flat; each tensor may be bound as a window of at most the adapter's binding size,
// `base` is the global index of element 0 of the window (used by ops that need it; here none).
// One invocation per element; workgroups spread over x and y (index below) for large n.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Elementwise;

// out = alpha * a + beta
@compute @workgroup_size(256)
fn affine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.alpha * a[i] + p.beta;
}

@compute @workgroup_size(256)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = max(a[i], 0.0);
}

// alpha is the negative slope (0.2 in SRGAN's discriminator).
@compute @workgroup_size(256)
fn leaky_relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let x = a[i];
  out[i] = select(p.alpha * x, x, x > 0.0);
}

@compute @workgroup_size(256)
fn tanh_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = tanh(a[i]);
}

// Written with exp of a non-positive number only, so large |x| gives 0 or 1, never NaN.
@compute @workgroup_size(256)
fn sigmoid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let x = a[i];
  let e = exp(-abs(x));
  out[i] = select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

// out = alpha * a[0]: broadcasts a scalar (the backward of a sum).
@compute @workgroup_size(256)
fn broadcast(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.alpha * a[0];
}

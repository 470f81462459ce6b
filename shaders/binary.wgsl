// Elementwise ops with two inputs: out[i] = f(a[i], b[i]), for i in 0..n. Same layout and
// indexing as unary.wgsl. Backward kernels of activations live here: they read the forward
// input or output as `a` and the upstream gradient as `b`.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Elementwise;

// out = alpha * a + beta * b: add (1, 1), subtract (1, -1).
@compute @workgroup_size(256)
fn axpby(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.alpha * a[i] + p.beta * b[i];
}

@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = a[i] * b[i];
}

// out = alpha * a * b[0]: scales by a scalar that lives on the GPU (an upstream gradient).
@compute @workgroup_size(256)
fn mul_scalar(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.alpha * a[i] * b[0];
}

// a = x, b = dy. ReLU and LeakyReLU pass the gradient where x > 0, else scale it by alpha
// (0 for ReLU). The derivative at exactly 0 is taken as alpha, as PyTorch does.
@compute @workgroup_size(256)
fn leaky_relu_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = select(p.alpha * b[i], b[i], a[i] > 0.0);
}

// a = y = tanh(x), b = dy: d tanh = 1 - y^2.
@compute @workgroup_size(256)
fn tanh_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let y = a[i];
  out[i] = b[i] * (1.0 - y * y);
}

// a = y = sigmoid(x), b = dy: d sigmoid = y (1 - y).
@compute @workgroup_size(256)
fn sigmoid_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let y = a[i];
  out[i] = b[i] * y * (1.0 - y);
}

// Binary cross-entropy of logit a against target b, per element:
//   -[b log s(a) + (1-b) log(1-s(a))] = max(a,0) - a b + log(1 + exp(-|a|)),
// the second form never overflows, whatever the size of the logit.
@compute @workgroup_size(256)
fn bce_logits(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let x = a[i];
  out[i] = max(x, 0.0) - x * b[i] + log(1.0 + exp(-abs(x)));
}

// d/da of the above: sigmoid(a) - b.
@compute @workgroup_size(256)
fn bce_logits_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let x = a[i];
  let e = exp(-abs(x));
  let s = select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
  out[i] = s - b[i];
}

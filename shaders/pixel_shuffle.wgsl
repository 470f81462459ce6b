// Pixel shuffle (depth to space) by r, PyTorch's channel order:
//   y[n, c, h*r + i, w*r + j] = x[n, c*r*r + i*r + j, h, w]
// x is [N, C*r*r, H, W], y is [N, C, H*r, W*r]. Both directions are gathers, one invocation
// per element written, so no two invocations touch the same element. Its backward is the
// inverse permutation (space to depth), `unshuffle` below.
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: ShuffleParams;

// Flat index in x of the element that lands at flat index `o` of y.
fn x_index(o: u32) -> u32 {
  let ow = p.width * p.r;
  let oh = p.height * p.r;
  let xo = o % ow;
  let yo = (o / ow) % oh;
  let c = (o / (ow * oh)) % p.channels;
  let n = o / (ow * oh * p.channels);
  let cin = c * p.r * p.r + (yo % p.r) * p.r + (xo % p.r);
  return ((n * p.channels * p.r * p.r + cin) * p.height + yo / p.r) * p.width + xo / p.r;
}

@compute @workgroup_size(256)
fn shuffle(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.n) { return; }
  dst[o] = src[x_index(o)];
}

// src is dy of shape y, dst is dx of shape x: dx[x_index(o)] = dy[o], written as a gather by
// inverting x_index.
@compute @workgroup_size(256)
fn unshuffle(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let w = i % p.width;
  let h = (i / p.width) % p.height;
  let cin = (i / (p.width * p.height)) % (p.channels * p.r * p.r);
  let n = i / (p.width * p.height * p.channels * p.r * p.r);
  let c = cin / (p.r * p.r);
  let yo = h * p.r + (cin / p.r) % p.r;
  let xo = w * p.r + cin % p.r;
  dst[i] = src[((n * p.channels + c) * p.height * p.r + yo) * p.width * p.r + xo];
}

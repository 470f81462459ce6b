// For a convolution's forward at inference, the layers that follow it, so their values make
// no pass through memory of their own: a residual added, PReLU with one slope per channel,
// pixel shuffle x2 (output channel m becomes channel m / 4, sub-pixel m % 4, and the slope
// is that of channel m / 4), tanh. v has the bias added already.
fn store_epilogue(m: u32, index: u32, v: f32) {
  var out = v;
  if ((p.flags & FLAG_RESIDUAL) != 0u) { out += residual[index]; }
  let shuffle = (p.flags & FLAG_SHUFFLE) != 0u;
  if ((p.flags & FLAG_PRELU) != 0u) {
    let s = slope[select(m, m / 4u, shuffle)];
    out = select(out * s, out, out > 0.0);
  }
  if ((p.flags & FLAG_TANH) != 0u) { out = tanh(out); }
  if (shuffle) {
    c[shuffled(index)] = out;
    return;
  }
  c[index] = out;
}

// Where element `index` of a convolution's output [images, Cout, OH, OW] (from c_base) goes
// after pixel shuffle x2: [images, Cout / 4, 2 OH, 2 OW]. The max(.., 1u) are for the users
// that are no convolution (their sizes are 0): a specialised kernel has them as constants,
// and a constant division by zero does not compile even where it is never run.
fn shuffled(index: u32) -> u32 {
  let out_w = max(p.out_w, 1u);
  let ohw = max(p.out_h * p.out_w, 1u);
  let i = index - p.c_base;
  let plane = i / ohw;
  let ch = plane % max(p.cout, 1u);
  let q = i % ohw;
  let sub = ch % 4u;
  let y = 2u * (q / out_w) + sub / 2u;
  let x = 2u * (q % out_w) + sub % 2u;
  return p.c_base + (plane - ch + (ch / 4u) * 4u) * ohw + y * 2u * out_w + x;
}

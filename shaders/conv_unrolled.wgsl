// Convolution forward for software adapters (a CPU runs the shader): one invocation computes
// PIXELS consecutive output pixels of one row for 4 QUADS output channels (QUADS vec4s), of
// image wg.z, channels from 4 QUADS wg.y. Its entry point `main`, with those sizes unrolled,
// is written by src/ops/conv/unrolled.rs (read there why); these are its bindings and helpers.
// Layout: x [images, Cin, H, W] from element p.x_base; w rearranged by
// conv_unrolled_weights.wgsl into [Cin, KH, KW, row_quads()] vec4s of output channels (zero
// past Cout); y [images, Cout, OH, OW] from p.y_base.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: ConvParams;

// The vec4s of output channels in one tap's row of w: Cout rounded up to whole blocks.
fn row_quads() -> u32 {
  return (p.cout + 4u * QUADS - 1u) / (4u * QUADS) * QUADS;
}

// Where an invocation works: its image, output row, first output column and first vec4 of
// output channels; `valid` is false past the last row.
struct Place { image: u32, oy: u32, ox0: u32, quad0: u32, valid: bool }

fn place(i: u32, wg: vec3<u32>) -> Place {
  let segments = (p.out_w + PIXELS - 1u) / PIXELS;
  return Place(wg.z, i / segments, (i % segments) * PIXELS, wg.y * QUADS, i / segments < p.out_h);
}

// One row of the input window: where it starts in x, its first column, whether it lies in
// the image.
struct Row { start: u32, ix0: i32, inside: bool }

fn input_row(at: Place, ci: u32, ky: u32) -> Row {
  let iy = i32(at.oy * p.stride + ky) - i32(p.pad);
  let inside = iy >= 0 && iy < i32(p.height);
  let plane = p.x_base + (at.image * p.cin + ci) * p.height * p.width;
  let start = plane + u32(clamp(iy, 0, i32(p.height) - 1)) * p.width;
  return Row(start, i32(at.ox0 * p.stride) - i32(p.pad), inside);
}

// Input j of the row, zero outside the image. The load is clamped into the image and its
// value dropped rather than skipped: a branch would split the lanes running together.
fn input(r: Row, j: i32) -> f32 {
  let ix = r.ix0 + j;
  let ok = r.inside && ix >= 0 && ix < i32(p.width);
  return select(0.0, x[r.start + u32(clamp(ix, 0, i32(p.width) - 1))], ok);
}

// Index in w of tap (ci, ky, kx = 0) for the invocation's first vec4 of channels.
fn weight_row(at: Place, ci: u32, ky: u32) -> u32 {
  return (ci * p.kh + ky) * p.kw * row_quads() + at.quad0;
}

// Writes the sums v of output pixel `pixel` of the invocation's row, channels 4 (quad0 +
// quad) to 4 (quad0 + quad) + 3, those that exist, with the bias. Straight code, no loop:
// it is written out for every accumulator, and the compiler's time grows with it.
fn store(at: Place, pixel: u32, quad: u32, v: vec4<f32>) {
  let ox = at.ox0 + pixel;
  let co = (at.quad0 + quad) * 4u;
  if (ox >= p.out_w || co >= p.cout) { return; }
  let plane = p.out_h * p.out_w;
  let i = p.y_base + ((at.image * p.cout + co) * p.out_h + at.oy) * p.out_w + ox;
  var s = v;
  if ((p.flags & FLAG_BIAS) != 0u) {
    s += vec4<f32>(bias[co], bias[min(co + 1u, p.cout - 1u)], bias[min(co + 2u, p.cout - 1u)],
                   bias[min(co + 3u, p.cout - 1u)]);
  }
  y[i] = s.x;
  if (co + 1u < p.cout) { y[i + plane] = s.y; }
  if (co + 2u < p.cout) { y[i + 2u * plane] = s.z; }
  if (co + 3u < p.cout) { y[i + 3u * plane] = s.w; }
}

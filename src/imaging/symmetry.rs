//! The eight symmetries of a square (the four rotations, each also mirrored) acting on images:
//! what self-ensemble upscaling averages over.

use super::Planes;

/// One symmetry: transpose or not, then reverse the order of the rows or not (a mirror
/// top-bottom), then reverse the order of the columns or not (a mirror left-right). The eight
/// combinations are the eight symmetries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symmetry {
    pub transpose: bool,
    pub flip_rows: bool,
    pub flip_columns: bool,
}

const fn symmetry(transpose: bool, flip_rows: bool, flip_columns: bool) -> Symmetry {
    Symmetry {
        transpose,
        flip_rows,
        flip_columns,
    }
}

impl Symmetry {
    /// All eight, the identity first.
    pub const ALL: [Symmetry; 8] = [
        symmetry(false, false, false), // the identity
        symmetry(false, false, true),  // mirrored left-right
        symmetry(false, true, false),  // mirrored top-bottom
        symmetry(false, true, true),   // turned 180 degrees
        symmetry(true, false, false),  // transposed: mirrored on the main diagonal
        symmetry(true, false, true),   // turned 90 degrees clockwise
        symmetry(true, true, false),   // turned 90 degrees anticlockwise
        symmetry(true, true, true),    // mirrored on the other diagonal
    ];

    /// `p` moved by this symmetry (a transposed image has its height and width swapped).
    pub fn apply(self, p: &Planes) -> Planes {
        let (h, w) = self.size(p);
        let mut out = Planes::new(p.channels, h, w);
        add_gathered(&mut out, p, |y, x| {
            let y = if self.flip_rows { h - 1 - y } else { y };
            let x = if self.flip_columns { w - 1 - x } else { x };
            if self.transpose {
                (x, y)
            } else {
                (y, x)
            }
        });
        out
    }

    /// The inverse of `apply`.
    pub fn undo(self, p: &Planes) -> Planes {
        let (h, w) = self.size(p);
        let mut out = Planes::new(p.channels, h, w);
        self.add_undone(&mut out, p);
        out
    }

    /// Adds `undo(p)` to `sum` without making it: self-ensemble sums eight of them, and a 4x
    /// result can take gigabytes.
    pub fn add_undone(self, sum: &mut Planes, p: &Planes) {
        assert_eq!(self.size(p), (sum.height, sum.width), "sizes do not match");
        // Undoes the flips (in `p`'s own height and width), then the transpose.
        add_gathered(sum, p, |y, x| {
            let (y, x) = if self.transpose { (x, y) } else { (y, x) };
            let y = if self.flip_rows { p.height - 1 - y } else { y };
            let x = if self.flip_columns {
                p.width - 1 - x
            } else {
                x
            };
            (y, x)
        });
    }

    /// Height and width of `p` moved by this symmetry (or by its inverse: the same).
    fn size(self, p: &Planes) -> (usize, usize) {
        if self.transpose {
            (p.width, p.height)
        } else {
            (p.height, p.width)
        }
    }
}

/// Adds to each pixel (y, x) of `out` the pixel `from(y, x)` of `p`, in every channel.
fn add_gathered(out: &mut Planes, p: &Planes, from: impl Fn(usize, usize) -> (usize, usize)) {
    let (h, w) = (out.height, out.width);
    for c in 0..p.channels {
        for y in 0..h {
            for x in 0..w {
                let (sy, sx) = from(y, x);
                out.data[(c * h + y) * w + x] += p.at(c, sy, sx);
            }
        }
    }
}

//! The eight symmetries of a square (the identity, three rotations, four reflections) acting on
//! images: what self-ensemble upscaling averages over.

use super::Planes;

/// One symmetry: transpose or not, then reverse the rows' order or not, then reverse each
/// row or not. The eight combinations are the eight symmetries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symmetry {
    pub transpose: bool,
    pub flip_rows: bool,
    pub flip_columns: bool,
}

impl Symmetry {
    /// All eight, the identity first.
    pub const ALL: [Symmetry; 8] = {
        let mut all = [Symmetry {
            transpose: false,
            flip_rows: false,
            flip_columns: false,
        }; 8];
        let mut i = 0;
        while i < 8 {
            all[i] = Symmetry {
                transpose: i & 4 != 0,
                flip_rows: i & 2 != 0,
                flip_columns: i & 1 != 0,
            };
            i += 1;
        }
        all
    };

    /// `p` moved by this symmetry (a transposed image has its height and width swapped).
    pub fn apply(self, p: &Planes) -> Planes {
        let (h, w) = self.size(p);
        gather(p, h, w, |y, x| {
            let y = if self.flip_rows { h - 1 - y } else { y };
            let x = if self.flip_columns { w - 1 - x } else { x };
            if self.transpose {
                (x, y)
            } else {
                (y, x)
            }
        })
    }

    /// The inverse of `apply`: undoes the flips, then the transpose.
    pub fn undo(self, p: &Planes) -> Planes {
        let (h, w) = self.size(p);
        gather(p, h, w, |y, x| {
            let (y, x) = if self.transpose { (x, y) } else { (y, x) };
            let y = if self.flip_rows { p.height - 1 - y } else { y };
            let x = if self.flip_columns {
                p.width - 1 - x
            } else {
                x
            };
            (y, x)
        })
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

/// An h x w image whose pixel (y, x) is `p`'s pixel `from(y, x)`, in every channel.
fn gather(p: &Planes, h: usize, w: usize, from: impl Fn(usize, usize) -> (usize, usize)) -> Planes {
    let mut out = Planes::new(p.channels, h, w);
    for c in 0..p.channels {
        for y in 0..h {
            for x in 0..w {
                let (sy, sx) = from(y, x);
                out.data[(c * h + y) * w + x] = p.at(c, sy, sx);
            }
        }
    }
    out
}

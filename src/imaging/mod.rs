//! Images on the CPU: reading and writing files, bicubic resizing, quality metrics.

pub mod io;
pub mod metrics;
pub mod resize;
pub mod symmetry;
pub mod text;

pub use io::{load, save, Picture};

/// A planar float image: `channels` planes of `height` x `width`, values in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct Planes {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Planes {
    pub fn new(channels: usize, height: usize, width: usize) -> Planes {
        Planes {
            channels,
            height,
            width,
            data: vec![0.0; channels * height * width],
        }
    }

    pub fn at(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[(c * self.height + y) * self.width + x]
    }

    pub fn plane(&self, c: usize) -> &[f32] {
        &self.data[c * self.height * self.width..][..self.height * self.width]
    }

    /// The rectangle [y0, y0 + h) x [x0, x0 + w).
    pub fn crop(&self, y0: usize, x0: usize, h: usize, w: usize) -> Planes {
        let mut out = Planes::new(self.channels, h, w);
        for c in 0..self.channels {
            for y in 0..h {
                let src = &self.data[(c * self.height + y0 + y) * self.width + x0..][..w];
                out.data[(c * h + y) * w..][..w].copy_from_slice(src);
            }
        }
        out
    }

    /// Writes `src` with its top left corner at (y0, x0).
    pub fn paste(&mut self, src: &Planes, y0: usize, x0: usize) {
        for c in 0..self.channels {
            for y in 0..src.height {
                let row = &src.data[(c * src.height + y) * src.width..][..src.width];
                self.data[(c * self.height + y0 + y) * self.width + x0..][..src.width]
                    .copy_from_slice(row);
            }
        }
    }

    /// Rounds every value to the nearest of 256 levels, as saving to an 8-bit file does.
    pub fn quantize(&self) -> Planes {
        let data = self
            .data
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() / 255.0)
            .collect();
        Planes { data, ..*self }
    }
}

//! Labels in pictures (`compare`'s column names and scores): the public-domain 8x8 bitmap
//! font of the `font8x8` crate, each dot drawn as a `scale` x `scale` square.

use super::Planes;

/// The width of `text` in pixels.
pub fn width(text: &str, scale: usize) -> usize {
    text.chars().count() * 8 * scale
}

/// Draws `text` (ASCII; other characters as '?') with its top-left corner at (y, x), in
/// `color`; what falls outside the image is left out.
pub fn draw(image: &mut Planes, text: &str, (y, x): (usize, usize), scale: usize, color: [f32; 3]) {
    for (i, ch) in text.chars().enumerate() {
        let code = if ch.is_ascii() {
            ch as usize
        } else {
            '?' as usize
        };
        let glyph = font8x8::legacy::BASIC_LEGACY[code];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                // Bit 0 is the leftmost dot.
                if bits >> col & 1 == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (py, px) = (y + row * scale + dy, x + (i * 8 + col) * scale + dx);
                        if py < image.height && px < image.width {
                            for (c, v) in color.iter().enumerate().take(image.channels) {
                                image.data[(c * image.height + py) * image.width + px] = *v;
                            }
                        }
                    }
                }
            }
        }
    }
}

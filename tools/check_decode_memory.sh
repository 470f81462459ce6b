#!/usr/bin/env bash
# A scripted check that decoding stays within what an image needs: a 1.9 KB lossless WebP that
# declares 7000x7000 (49 Mpixel, under the 50 Mpixel default) is read by `upscale`, which then
# refuses the --outscale asked (so no upscaling starts); the peak memory of the process is
# printed. The decoded picture needs 147 MB in 8 bits and 588 MB as f32 planes.
#   pip install pillow; tools/check_decode_memory.sh [path/to/srgan-wgpu]
set -euo pipefail
program=${1:-target/release/srgan-wgpu}
dir=$(mktemp -d)
python3 -c "
from PIL import Image
Image.new('RGB', (7000, 7000), (120, 30, 200)).save('$dir/bomb.webp', lossless=True)"
ls -l "$dir/bomb.webp"
/usr/bin/time -f "peak memory %M kB, %e s" "$program" upscale "$dir/bomb.webp" \
  -o "$dir/out.png" --outscale 100 || true
rm -rf "$dir"

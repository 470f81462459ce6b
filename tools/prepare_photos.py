#!/usr/bin/env python3
"""Make the training and validation folders of the shipped models from BSDS400 and the
Debian photographs (both fetched by tools/fetch_photos.sh), the way DIV2K-style sets are made.

    tools/fetch_photos.sh DIR
    pip install pillow
    python3 tools/prepare_photos.py --bsds DIR/bsds400 --photos DIR/photos --out DIR/prepared

Writes OUT/train and OUT/val. Deterministic: the same inputs give the same files. OUT/val (26
images) is the held-out set that the shipped models' schedules were chosen on; it is still
made, so that their recipe repeats. Make new choices on the validation set of
docs/VALIDATION.md (tools/fetch_validation.sh: 145 crops in four categories).

- Debian photos of at least 1.5 Mpixel are downscaled by 2, 3 or 4 (the largest factor that
  keeps the short side at 640 px or more; Lanczos, antialiased), which removes most of their
  JPEG noise, then cut into tiles of at most 480x480 so that `train`, which draws photos
  uniformly, draws pixels about uniformly too. Smaller photos are left out: they are JPEGs at
  their original size, with visible compression artifacts.
- Every 8th eligible photo (in name order) is held out: its centre 480x480 tile goes to val.
- Every 20th BSDS image (in name order) is held out for val; the rest go to train unchanged.
- Images that are, or may be, in Set5 or Set14 (the reported sets) are left out entirely.
- Tiles are written as JPEG quality 95 with full-resolution colour (4:4:4), to keep the set
  small (it is copied to wherever training runs); that noise is far below the models' errors.
"""
import argparse
import os
import shutil

from PIL import Image

# Set14 holds baboon and monarch (opencv's butterfly.jpg may be a crop of it); Set5 holds the
# 256x256 butterfly that opencv's dnn_superres example ships. The astronaut is the README's
# demo picture.
EXCLUDE = ("baboon", "butterfly", "astronaut")
MIN_PIXELS = 1_500_000
TILE = 480
HOLD_OUT_PHOTO = 8
HOLD_OUT_BSDS = 20


def starts(n, size):
    """Starts of tiles of `size` covering n pixels; the last is moved in to end at the border."""
    s = list(range(0, max(n - size, 0) + 1, size))
    if s[-1] + size < n:
        s.append(n - size)
    return s


def tiles(width, height, size):
    """Top-left corners of tiles of `size` covering the image; the last row and column are
    moved in to end at the border."""
    return [(x, y) for y in starts(height, size) for x in starts(width, size)]


def save(img, path):
    img.save(path, quality=95, subsampling=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bsds", required=True)
    ap.add_argument("--photos", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    train, val = os.path.join(a.out, "train"), os.path.join(a.out, "val")
    for d in (train, val):
        os.makedirs(d, exist_ok=True)

    bsds = sorted(f for f in os.listdir(a.bsds) if f.lower().endswith((".jpg", ".png")))
    for i, f in enumerate(bsds):
        dest = val if i % HOLD_OUT_BSDS == 0 else train
        shutil.copy(os.path.join(a.bsds, f), os.path.join(dest, "bsds_" + f))

    eligible = []
    for f in sorted(os.listdir(a.photos)):
        if any(x in f.lower() for x in EXCLUDE):
            continue
        with Image.open(os.path.join(a.photos, f)) as img:
            if img.width * img.height >= MIN_PIXELS:
                eligible.append(f)
    counts = {"train": 0, "val": 0}
    for i, f in enumerate(eligible):
        img = Image.open(os.path.join(a.photos, f)).convert("RGB")
        factor = max(2, min(4, min(img.size) // 640))
        small = img.resize((img.width // factor, img.height // factor), Image.LANCZOS)
        if min(small.size) < TILE:
            continue
        stem = "deb_" + os.path.splitext(f)[0][:60]
        if i % HOLD_OUT_PHOTO == 0:
            x, y = (small.width - TILE) // 2, (small.height - TILE) // 2
            save(small.crop((x, y, x + TILE, y + TILE)), os.path.join(val, stem + ".jpg"))
            counts["val"] += 1
            continue
        for x, y in tiles(small.width, small.height, TILE):
            tile = small.crop((x, y, x + TILE, y + TILE))
            save(tile, os.path.join(train, f"{stem}_{y}_{x}.jpg"))
            counts["train"] += 1
    print(f"{len(eligible)} photos: {counts['train']} training tiles, {counts['val']} held out; "
          f"BSDS: {len(bsds) - len(range(0, len(bsds), HOLD_OUT_BSDS))} train, "
          f"{len(range(0, len(bsds), HOLD_OUT_BSDS))} val")


if __name__ == "__main__":
    main()

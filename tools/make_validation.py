#!/usr/bin/env python3
"""Cut the validation set's crops (docs/VALIDATION.md) from the photographs that
tools/validation.tsv names, inside unpacked Debian packages. tools/fetch_validation.sh
downloads and unpacks the packages, then runs this:

    pip install pillow numpy
    python3 tools/make_validation.py --packages X --list tools/validation.tsv --out OUT

X holds one folder per package, as `dpkg-deb -x PKG.deb X/PKG` makes it. Writes
OUT/CATEGORY/ID_N.png, N = 1 .. the row's `crops`, and prints the crops per category and a
fingerprint of their pixels. Deterministic: the same photographs give the same files.

Where the crops of a photograph lie (one rule for all; the list fixes the rest):
- the photograph is converted to RGB and, where `scale` is set, resized by it (Lanczos);
- each 192x192 tile on a grid of stride 24 inside `roi` gets a detail score, the mean of
  |dY/dx| + |dY/dy| over it (Y = BT.601 luma, 0..255), so that crops land on texture and
  edges rather than on sky;
- for urban and text, the score is multiplied by f², f = the tile's share of that gradient at
  pixels whose gradient lies within 15° of horizontal or vertical: foliage and grass (f near
  1/3) then lose against walls, windows and letters (f 0.6 to 0.9);
- tiles are taken best first (ties: smaller y, then smaller x), each one overlapping none
  taken before, until the photograph has its `crops` tiles.
"""
import argparse
import csv
import hashlib
import io
import os

import numpy as np
from PIL import Image

import rcc_extract

CATEGORIES = ("nature", "people", "urban", "text")
STRAIGHT = ("urban", "text")  # scored with the straight-edge share
SIZE = 192  # LR 48x48 at x4
STRIDE = SIZE // 8
STRAIGHT_DEGREES = 15


def read_list(path):
    """The rows of tools/validation.tsv as dicts; comment lines start with '#'."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


class Packages:
    """The files of unpacked packages, including those inside .rcc bundles (read once each)."""

    def __init__(self, root):
        self.root = root
        self.bundles = {}

    def read(self, package, path):
        if "::" in path:
            bundle, inner = path.split("::")
            key = (package, bundle)
            if key not in self.bundles:
                self.bundles[key] = rcc_extract.files(os.path.join(self.root, package, bundle))
            return self.bundles[key][inner]
        with open(os.path.join(self.root, package, path), "rb") as f:
            return f.read()


def detail(img, roi, straight):
    """(score, y, x) of every tile inside roi, best first."""
    a = np.asarray(img, dtype=np.float64)
    y = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]
    gx, gy = np.zeros_like(y), np.zeros_like(y)
    gx[:, :-1] = np.diff(y, axis=1)
    gy[:-1, :] = np.diff(y, axis=0)
    ax, ay = np.abs(gx), np.abs(gy)
    g = ax + ay
    hv = g * (np.minimum(ax, ay) <= np.tan(np.radians(STRAIGHT_DEGREES)) * np.maximum(ax, ay))

    # Integral images: a tile's sum is four lookups.
    def integral(v):
        return np.pad(v.cumsum(0).cumsum(1), ((1, 0), (1, 0)))

    def tile_sum(ii, ty, tx):
        return ii[ty + SIZE, tx + SIZE] - ii[ty, tx + SIZE] - ii[ty + SIZE, tx] + ii[ty, tx]

    ig, ihv = integral(g), integral(hv)
    x0, y0, x1, y1 = roi
    x1, y1 = min(x1, img.width), min(y1, img.height)
    out = []
    for ty in range(y0, y1 - SIZE + 1, STRIDE):
        for tx in range(x0, x1 - SIZE + 1, STRIDE):
            s = tile_sum(ig, ty, tx)
            score = s / (SIZE * SIZE)
            if straight:
                score *= (tile_sum(ihv, ty, tx) / s) ** 2 if s > 0 else 0.0
            out.append((score, ty, tx))
    # Rounded so that the order does not hang on the last bits of a float sum.
    out.sort(key=lambda t: (-round(t[0], 6), t[1], t[2]))
    return out


def pick(tiles, n):
    chosen = []
    for score, ty, tx in tiles:
        if all(abs(ty - cy) >= SIZE or abs(tx - cx) >= SIZE for cy, cx in chosen):
            chosen.append((ty, tx))
            if len(chosen) == n:
                break
    return chosen


def crops(row, data):
    """The row's crops as (n, PIL image)."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    roi = tuple(int(v) for v in row["roi"].split(",")) if row["roi"] else None
    scale = float(row["scale"] or 1)
    if scale != 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        roi = tuple(round(v * scale) for v in roi) if roi else None
    roi = roi or (0, 0, img.width, img.height)
    n = int(row["crops"])
    chosen = pick(detail(img, roi, row["category"] in STRAIGHT), n)
    if len(chosen) < n:
        raise SystemExit(f"{row['id']}: room for {len(chosen)} crops, the list asks for {n}")
    return [(i + 1, img.crop((tx, ty, tx + SIZE, ty + SIZE))) for i, (ty, tx) in enumerate(chosen)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packages", required=True, help="folder of unpacked packages")
    ap.add_argument("--list", required=True, help="tools/validation.tsv")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = read_list(a.list)
    for c in CATEGORIES:
        d = os.path.join(a.out, c)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):  # crops of an earlier list
            if f.endswith(".png"):
                os.remove(os.path.join(d, f))
    packages = Packages(a.packages)
    counts = dict.fromkeys(CATEGORIES, 0)
    fingerprint = {}
    for row in rows:
        data = packages.read(row["package"], row["path"])
        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            raise SystemExit(f"{row['id']}: {row['package']} {row['path']} is not the file "
                             f"the list names (sha256 differs): is the package version "
                             f"{row['version']}?")
        for n, crop in crops(row, data):
            name = f"{row['category']}/{row['id']}_{n}.png"
            crop.save(os.path.join(a.out, name), optimize=True)
            fingerprint[name] = hashlib.sha256(crop.tobytes()).hexdigest()
            counts[row["category"]] += 1
    # Over the pixels, not the PNG bytes: another zlib may compress the same crop otherwise.
    whole = hashlib.sha256("".join(f"{k} {v}\n" for k, v in sorted(fingerprint.items()))
                           .encode()).hexdigest()
    print(", ".join(f"{c} {counts[c]}" for c in CATEGORIES) +
          f": {sum(counts.values())} crops of {SIZE}x{SIZE} in {a.out}")
    print(f"pixel fingerprint {whole[:16]}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Cut the photographs of a list such as tools/training_photos.tsv into training tiles, the way
tools/prepare_photos.py cuts the Debian photographs of the shipped models' set.

    python3 tools/make_training_photos.py --packages UNPACKED --list tools/training_photos.tsv --out OUT

UNPACKED/PACKAGE/ holds each package unpacked (`dpkg-deb -x`); tools/fetch_training_photos.sh
does all of it. A package that is not there (another version was downloaded) is left out, and
named at the end. A listed path is a file, or `FILE@OFFSET+LENGTH`, a photograph stored inside
one (a JPEG stream embedded in a PDF, one of the images of an Enlightenment wallpaper bundle):
those bytes of the file. The photograph's bytes must have the list's sha256. It is converted to
RGB, resized by its `scale` (Lanczos), then, if it still has 1.5 Mpixel or more, downscaled
again as in prepare_photos.py: by 2, or by 3 or 4 where the short side stays at 640 px or more.
It is then cut into tiles of at most 480x480 (a side shorter than 480 stays whole), written as
OUT/CATEGORY/PACKAGE__NAME_SHA_Y_X.jpg (NAME: the file's, SHA: the first 6 digits of the
photograph's sha256), JPEG quality 95, 4:4:4. None is held out: choices are made on the
validation set of docs/VALIDATION.md. Deterministic.
"""
import argparse
import hashlib
import io
import os
import re
import sys

from PIL import Image

from prepare_photos import MIN_PIXELS, TILE, save, starts


def rows(path):
    lines = [l.rstrip("\n") for l in open(path, encoding="utf-8") if not l.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, l.split("\t"))) for l in lines[1:] if l]


def split_range(path):
    """(the package's file, (offset, length) or None) of a listed path, `FILE` or
    `FILE@OFFSET+LENGTH`."""
    m = re.fullmatch(r"(.*)@(\d+)\+(\d+)", path)
    return (m[1], (int(m[2]), int(m[3]))) if m else (path, None)


def photo_bytes(root, path):
    """The bytes of a listed photograph: the whole file, or its byte range."""
    file, span = split_range(path)
    with open(os.path.join(root, file), "rb") as f:
        if span is None:
            return f.read()
        f.seek(span[0])
        return f.read(span[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packages", required=True)
    ap.add_argument("--list", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    counts, pixels, missing = {}, {}, set()
    for r in rows(a.list):
        if not os.path.isdir(os.path.join(a.packages, r["package"])):
            missing.add(r["package"])
            continue
        root = os.path.join(a.packages, r["package"])
        data = photo_bytes(root, r["path"])
        if hashlib.sha256(data).hexdigest() != r["sha256"]:
            sys.exit(f"{os.path.join(root, r['path'])}: its sha256 is not the list's")
        img = Image.open(io.BytesIO(data))
        # A palette with transparency goes through RGBA, as Pillow asks.
        img = (img.convert("RGBA") if img.mode == "P" else img).convert("RGB")
        scale = float(r["scale"])
        if scale != 1:
            size = (round(img.width * scale), round(img.height * scale))
            img = img.resize(size, Image.LANCZOS)
        if img.width * img.height >= MIN_PIXELS:
            factor = max(2, min(4, min(img.size) // 640))
            img = img.resize((img.width // factor, img.height // factor), Image.LANCZOS)
        category = r["category"]
        os.makedirs(os.path.join(a.out, category), exist_ok=True)
        # Two files of one package may share a name: the hash tells them apart.
        name = os.path.splitext(os.path.basename(split_range(r["path"])[0]))[0][:60]
        stem = os.path.join(a.out, category, f"{r['package']}__{name}_{r['sha256'][:6]}")
        tw, th = min(TILE, img.width), min(TILE, img.height)
        for y in starts(img.height, th):
            for x in starts(img.width, tw):
                save(img.crop((x, y, x + tw, y + th)), f"{stem}_{y}_{x}.jpg")
                counts[category] = counts.get(category, 0) + 1
        pixels[category] = pixels.get(category, 0) + img.width * img.height
    for c in sorted(counts):
        print(f"{c}: {counts[c]} tiles, {pixels[c] / 1e6:.1f} Mpixel")
    if missing:
        print(f"left out, not unpacked: the photographs of {', '.join(sorted(missing))}")


if __name__ == "__main__":
    main()

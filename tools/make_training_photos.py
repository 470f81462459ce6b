#!/usr/bin/env python3
"""Cut the photographs of tools/training_photos.tsv into training tiles, the way
tools/prepare_photos.py cuts the Debian photographs of the shipped models' set.

    python3 tools/make_training_photos.py --packages UNPACKED --list tools/training_photos.tsv --out OUT

UNPACKED/PACKAGE/ holds each package unpacked (`dpkg-deb -x`); tools/fetch_training_photos.sh
does all of it. A listed path is a file, or a photograph inside one (`unpacked_file`): a JPEG
stream of a PDF (`FILE::jpeg`, the stream whose sha256 the list gives), or a byte range
(`FILE@OFFSET+LENGTH`, e.g. one of the JPEG images that an Enlightenment wallpaper bundle holds). A package that is not there (another version was downloaded) is left out, and
named at the end. Each file's sha256 must match the list. A photograph is converted to RGB,
resized by its `scale` (Lanczos), then, if it still has 1.5 Mpixel or more, downscaled again
as in prepare_photos.py: by 2, or by 3 or 4 where the short side stays at 640 px or more. It is then cut into tiles of at most 480x480 (a side shorter than 480 stays whole),
written as OUT/CATEGORY/PACKAGE__NAME_SHA_Y_X.jpg (SHA: the first 6 digits of the
file's sha256), JPEG quality 95, 4:4:4. None is held out:
choices are made on the validation set of docs/VALIDATION.md. Deterministic.
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


def unpacked_file(path):
    """The file of the package that a listed path names (the part before `::jpeg` or `@`)."""
    return re.sub(r"(::jpeg|@\d+\+\d+)$", "", path)


def pdf_jpegs(data):
    """The bytes of each JPEG (DCTDecode) stream of a PDF, in file order."""
    for m in re.finditer(rb"/DCTDecode", data):
        # The stream starts after the keyword `stream` and its end of line, within the object's
        # dictionary, which is short; its bytes run to `endstream`, less the end of line.
        s = data.find(b"stream", m.end())
        if s < 0 or s - m.end() > 2000:
            continue
        s += 6
        s += 2 if data[s : s + 2] == b"\r\n" else 1
        e = data.find(b"endstream", s)
        if data[s : s + 2] == b"\xff\xd8" and e > 0:
            yield data[s:e].rstrip(b"\r\n")


def photo_bytes(root, path, sha256):
    """The bytes of a listed photograph, or None where nothing in that file has that sha256."""
    data = open(os.path.join(root, unpacked_file(path)), "rb").read()
    if path.endswith("::jpeg"):
        candidates = pdf_jpegs(data)
    elif re.search(r"@\d+\+\d+$", path):
        offset, length = map(int, path.rsplit("@", 1)[1].split("+"))
        candidates = [data[offset : offset + length]]
    else:
        candidates = [data]
    return next((c for c in candidates if hashlib.sha256(c).hexdigest() == sha256), None)


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
        data = photo_bytes(root, r["path"], r["sha256"])
        if data is None:
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
        name = os.path.splitext(os.path.basename(unpacked_file(r["path"])))[0][:60]
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

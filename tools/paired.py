#!/usr/bin/env python3
"""Compare two models scored on the same images: paired differences and their standard errors,
per category and pooled, so that a choice is made on the difference and its noise together.

    srgan-wgpu eval OUT/validation --model A --csv a.csv
    srgan-wgpu eval OUT/validation --model B --csv b.csv
    python3 tools/paired.py a.csv b.csv

For each category (an image's folder in the CSV, as `eval` writes it for the validation set:
nature/..., people/...) and for all images together, and for each metric both files have
(PSNR, SSIM, LPIPS where measured): n, the mean of A and of B, the mean of B - A over the
images and its standard error, sd(B - A) / sqrt(n). Each image is compared with itself, so
what varies between images (some are harder for every model) cancels out; the standard error
is that of the mean difference. '*' marks a difference larger than two standard errors, the
rule docs/VALIDATION.md gives for calling a difference real. Higher PSNR and SSIM are better,
lower LPIPS. Standard library only.
"""
import argparse
import csv
import math
import posixpath
import sys

METRICS = ("psnr", "ssim", "lpips")
DIGITS = {"psnr": 3, "ssim": 4, "lpips": 4}


def read(path):
    """{image: row} of an `eval --csv` file."""
    with open(path, newline="", encoding="utf-8") as f:
        return {r["image"]: r for r in csv.DictReader(f)}


def category(image):
    # eval writes names relative to the folder it was given, with '/' or '\' between parts.
    folder = posixpath.dirname(image.replace("\\", "/"))
    return folder.split("/")[-1] if folder else ""


def paired(a, b):
    """(n, mean of a, mean of b, mean of b - a, its standard error)."""
    n = len(a)
    d = [y - x for x, y in zip(a, b)]
    mean = sum(d) / n
    se = math.sqrt(sum((v - mean) ** 2 for v in d) / (n - 1) / n) if n > 1 else float("nan")
    return n, sum(a) / n, sum(b) / n, mean, se


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", help="eval --csv of model A")
    ap.add_argument("b", help="eval --csv of model B")
    args = ap.parse_args()
    a, b = read(args.a), read(args.b)
    if a.keys() != b.keys():
        only = sorted(a.keys() - b.keys())[:3] + sorted(b.keys() - a.keys())[:3]
        sys.exit(f"the two files score different images (for example {', '.join(only)})")
    # Both files must have seen the same HR and LR images, or the pairing means nothing.
    for k in a:
        if abs(float(a[k]["bicubic_psnr"]) - float(b[k]["bicubic_psnr"])) > 1e-3:
            sys.exit(f"{k}: bicubic PSNR differs between the files: another HR image, or "
                     f"another --lr-resize")
    images = sorted(a)
    cats = sorted({category(k) for k in images})
    groups = [(c, [k for k in images if category(k) == c]) for c in cats if c]
    if len(groups) != 1 or len(groups[0][1]) != len(images):
        groups.append(("all", images))
    metrics = [m for m in METRICS if all(a[k].get(m) and b[k].get(m) for k in images)]

    print(f"A = {args.a}\nB = {args.b}")
    print("difference = B - A; * where |B - A| > 2 standard errors; "
          "higher PSNR and SSIM, lower LPIPS are better")
    print(f"{'images':<8} {'n':>4}  {'metric':<6} {'A':>9} {'B':>9} {'B - A':>9} {'s.e.':>8}")
    for name, keys in groups:
        for m in metrics:
            n, ma, mb, d, se = paired([float(a[k][m]) for k in keys],
                                      [float(b[k][m]) for k in keys])
            p = DIGITS[m]
            mark = " *" if abs(d) > 2 * se else ""
            print(f"{name:<8} {n:>4}  {m:<6} {ma:>9.{p}f} {mb:>9.{p}f} {d:>+9.{p}f} "
                  f"{se:>8.{p}f}{mark}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Validation PSNR against training step, from the log.csv of one or more training runs, as
an SVG picture (no dependencies).

    python3 tools/plot_curve.py OUT.svg MAIN/log.csv [OTHER/log.csv ...] [--upto STEP]

The first log is drawn in black, the others (e.g. the runs of a learning-rate sweep) in
colours; each is labelled by its folder name. Rows past --upto (written after the last
checkpoint by a run that was stopped) are left out.
"""
import csv
import os
import sys

W, H, L, R, T, B = 820, 420, 70, 250, 20, 50
COLOURS = ["#000000", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"]


def points(path, upto):
    out = []
    with open(path) as f:
        for row in csv.DictReader(f):
            step = int(row["step"])
            if row.get("val_psnr") and step <= upto:
                out.append((step, float(row["val_psnr"])))
    return out


def main():
    args = sys.argv[1:]
    upto = 1 << 62
    if "--upto" in args:
        i = args.index("--upto")
        upto = int(args[i + 1])
        del args[i:i + 2]
    out, logs = args[0], args[1:]
    series = [(os.path.basename(os.path.dirname(os.path.abspath(p))), points(p, upto)) for p in logs]
    xs = [x for _, s in series for x, _ in s]
    ys = [y for _, s in series for _, y in s]
    x1 = max(xs)
    y0, y1 = int(min(ys) * 4) / 4, int(max(ys) * 4 + 1) / 4
    sx = lambda x: L + (W - L - R) * x / x1
    sy = lambda y: H - B - (H - T - B) * (y - y0) / (y1 - y0)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    y = y0
    while y <= y1 + 1e-9:
        svg.append(f'<line x1="{L}" x2="{W - R}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{L - 8}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
        y += 0.25
    step = 10000
    for x in range(0, x1 + 1, step):
        svg.append(f'<text x="{sx(x):.1f}" y="{H - B + 18}" text-anchor="middle">{x // 1000}k</text>')
    svg.append(f'<text x="{(L + W - R) / 2}" y="{H - 10}" text-anchor="middle">training step</text>')
    svg.append(f'<text x="16" y="{(T + H - B) / 2}" transform="rotate(-90 16 {(T + H - B) / 2})" '
               'text-anchor="middle">validation PSNR, dB (Y)</text>')
    for k, (name, s) in enumerate(series):
        c = COLOURS[k % len(COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s)
        svg.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="{2 if k == 0 else 1.2}"/>')
        svg.append(f'<text x="{W - R + 10}" y="{T + 16 * (k + 1)}" fill="{c}">{name}</text>')
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()

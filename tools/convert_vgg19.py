#!/usr/bin/env python3
"""Converts torchvision's ImageNet VGG19 to the safetensors file the VGG content losses need
(`train srgan --content-loss vgg22|vgg54`, default path weights/vgg19.safetensors).

    pip install torch torchvision numpy
    python3 tools/convert_vgg19.py weights/vgg19.safetensors

Keeps `features.{i}.weight` and `.bias` of the 16 convolutions under torchvision's own names
and layouts (OIHW), which src/models/vgg.rs reads as they are. The weights download from
PyTorch's servers on first use (torchvision's cache), which this project's machines cannot
reach; run it where they can and copy the file over. About 80 MB.
"""
import sys

import numpy as np

from safetensors_io import save


def main(dst):
    import torchvision

    model = torchvision.models.vgg19(weights=torchvision.models.VGG19_Weights.IMAGENET1K_V1)
    tensors = {f"features.{k}": v.detach().cpu().numpy().astype(np.float32)
               for k, v in model.features.state_dict().items()}
    save(dst, tensors, {"model": "vgg19", "source": "torchvision IMAGENET1K_V1"})
    print(f"wrote {dst}: {len(tensors)} tensors")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

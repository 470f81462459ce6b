#!/usr/bin/env python3
"""The shipped generator as a PyTorch module, with the same state_dict names, so that
weights/srresnet.safetensors (or any generator this project trains) loads with strict=True:

    pip install torch safetensors pillow numpy
    python3 tools/srresnet_torch.py weights/srresnet.safetensors in.png out.png

Input RGB in [0, 1], output in [-1, 1] (tanh), as in the paper. `blocks`, `channels`,
`bn_eps` and `tanh` come from the file's metadata.
"""
import sys

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c, eps=eps)
        self.prelu = nn.PReLU(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c, eps=eps)

    def forward(self, x):
        return x + self.bn2(self.conv2(self.prelu(self.bn1(self.conv1(x)))))


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, 4 * c, 3, padding=1)
        self.prelu = nn.PReLU(c)

    def forward(self, x):
        return self.prelu(nn.functional.pixel_shuffle(self.conv(x), 2))


class SRResNet(nn.Module):
    def __init__(self, blocks=16, channels=64, bn_eps=1e-5, tanh=True):
        super().__init__()
        c = channels
        self.conv_input = nn.Conv2d(3, c, 9, padding=4)
        self.prelu_input = nn.PReLU(c)
        self.blocks = nn.Sequential(*[Block(c, bn_eps) for _ in range(blocks)])
        self.conv_mid = nn.Conv2d(c, c, 3, padding=1)
        self.bn_mid = nn.BatchNorm2d(c, eps=bn_eps)
        self.upsample = nn.Sequential(Upsample(c), Upsample(c))
        self.conv_output = nn.Conv2d(c, 3, 9, padding=4)
        self.tanh = tanh

    def forward(self, lr):
        skip = self.prelu_input(self.conv_input(lr))
        x = skip + self.bn_mid(self.conv_mid(self.blocks(skip)))
        y = self.conv_output(self.upsample(x))
        return torch.tanh(y) if self.tanh else y


def load(path):
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    model = SRResNet(int(meta.get("blocks", 16)), int(meta.get("channels", 64)),
                     float(meta.get("bn_eps", 1e-5)), meta.get("tanh", "true") == "true")
    model.load_state_dict(load_file(path), strict=True)
    return model.eval()


if __name__ == "__main__":
    import numpy as np
    from PIL import Image
    weights, src, dst = sys.argv[1:4]
    lr = torch.from_numpy(np.asarray(Image.open(src).convert("RGB"), np.float32) / 255)
    with torch.no_grad():
        sr = load(weights)(lr.permute(2, 0, 1)[None])[0]
    out = ((sr.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(out).save(dst)

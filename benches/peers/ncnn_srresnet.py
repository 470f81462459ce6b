#!/usr/bin/env python3
"""ncnn's times for the inference workloads of `srgan-wgpu bench --networks`, on the same GPU.

    pip install ncnn numpy
    python3 benches/peers/ncnn_srresnet.py [--reps 20]

ncnn is Tencent's Vulkan inference engine, the one behind Real-ESRGAN-ncnn-vulkan and
waifu2x-ncnn-vulkan. This builds the SRResNet generator (16 residual blocks, 64 channels,
batch norm folded into the convolutions as any inference engine runs it; random weights) as
an ncnn model and times `infer_64_to_256_e2e_ms` and `infer_256_to_1024_e2e_ms`: a host array
in, the 4x result out as a host array, median ms after a warm-up, with fp32 storage and
arithmetic and with fp16. Prints a table, then one JSON object as its last line.
"""
import argparse
import json
import os
import tempfile
import time

import ncnn
import numpy as np


class Model:
    """An ncnn .param text and .bin weights, written layer by layer."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.layers, self.blobs, self.weights = [], set(), []

    def layer(self, kind, name, inputs, outputs, params=""):
        head = f"{kind:<16} {name:<16} {len(inputs)} {len(outputs)}"
        self.layers.append(" ".join([head, *inputs, *outputs, params]).rstrip())
        self.blobs.update(inputs)
        self.blobs.update(outputs)
        return outputs[0] if len(outputs) == 1 else outputs

    def conv(self, name, x, c_in, c_out, k):
        w = self.rng.normal(0, (c_in * k * k) ** -0.5, (c_out, c_in, k, k)).astype(np.float32)
        b = self.rng.normal(0, 0.01, c_out).astype(np.float32)
        # A 4-byte tag 0 says the weights that follow are plain float32; the bias has none.
        self.weights += [np.zeros(1, np.uint32).tobytes(), w.tobytes(), b.tobytes()]
        return self.layer("Convolution", name, [x], [name],
                          f"0={c_out} 1={k} 3=1 4={k // 2} 5=1 6={w.size}")

    def prelu(self, name, x, c):
        self.weights.append(np.full(c, 0.2, np.float32).tobytes())
        return self.layer("PReLU", name, [x], [name], f"0={c}")

    def split(self, name, x):
        return self.layer("Split", name, [x], [f"{name}_a", f"{name}_b"])

    def add(self, name, a, b):
        return self.layer("BinaryOp", name, [a, b], [name], "0=0")

    def save(self, folder):
        with open(os.path.join(folder, "srresnet.param"), "w") as f:
            f.write(f"7767517\n{len(self.layers)} {len(self.blobs)}\n")
            f.write("\n".join(self.layers) + "\n")
        with open(os.path.join(folder, "srresnet.bin"), "wb") as f:
            f.write(b"".join(self.weights))


def srresnet(folder, blocks=16, c=64):
    m = Model()
    x = m.layer("Input", "data", [], ["data"], "0=0 1=0 2=3")
    x = m.prelu("prelu_input", m.conv("conv_input", x, 3, c, 9), c)
    skip, x = m.split("long_skip", x)
    for i in range(blocks):
        short, h = m.split(f"skip{i}", x)
        h = m.prelu(f"prelu{i}", m.conv(f"conv{i}a", h, c, c, 3), c)
        x = m.add(f"add{i}", short, m.conv(f"conv{i}b", h, c, c, 3))
    x = m.add("add_mid", skip, m.conv("conv_mid", x, c, c, 3))
    for j in range(2):
        x = m.conv(f"up{j}", x, c, 4 * c, 3)
        x = m.layer("PixelShuffle", f"shuffle{j}", [x], [f"shuffle{j}"], "0=2")
        x = m.prelu(f"prelu_up{j}", x, c)
    x = m.conv("conv_output", x, c, 3, 9)
    m.layer("TanH", "output", [x], ["output"])
    m.save(folder)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    folder = tempfile.mkdtemp()
    srresnet(folder)
    result = {"ncnn_gpus": ncnn.get_gpu_count()}
    rng = np.random.default_rng(1)
    for fp16 in (False, True):
        net = ncnn.Net()
        net.opt.use_vulkan_compute = True
        net.opt.use_fp16_packed = fp16
        net.opt.use_fp16_storage = fp16
        net.opt.use_fp16_arithmetic = fp16
        assert net.load_param(os.path.join(folder, "srresnet.param")) == 0
        assert net.load_model(os.path.join(folder, "srresnet.bin")) == 0
        for side in (64, 256):
            image = rng.random((3, side, side), dtype=np.float32)

            def run():
                ex = net.create_extractor()
                ex.input("data", ncnn.Mat(image))
                status, out = ex.extract("output")
                assert status == 0
                return np.array(out)

            assert run().shape == (3, 4 * side, 4 * side)
            for _ in range(3):
                run()
            times = []
            for _ in range(args.reps):
                start = time.perf_counter()
                run()
                times.append((time.perf_counter() - start) * 1e3)
            name = f"infer_{side}_to_{4 * side}_e2e_ms_{'fp16' if fp16 else 'fp32'}"
            result[name] = round(sorted(times)[len(times) // 2], 3)
    print(f"ncnn, median ms of {args.reps}")
    print(f"{'workload':<28}{'fp32':>10}{'fp16':>10}")
    for side in (64, 256):
        w = f"infer_{side}_to_{4 * side}_e2e_ms"
        print(f"{w:<28}{result[w + '_fp32']:>10.2f}{result[w + '_fp16']:>10.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

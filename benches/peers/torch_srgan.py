#!/usr/bin/env python3
"""PyTorch's times for the workloads of `srgan-wgpu bench --networks`, on the same GPU.

    pip install torch          # with CUDA; safetensors is not needed here
    python3 benches/peers/torch_srgan.py [--compile] [--reps 20]

Workloads, under the names `bench --networks` prints (median milliseconds of wall-clock time
around the work and a device synchronize, after a warm-up; weights are random):

  infer_64_to_256_gpu_ms, infer_256_to_1024_gpu_ms   the generator on one LR image already on
                                                     the GPU, batch 1, no gradients
  infer_64_to_256_e2e_ms, infer_256_to_1024_e2e_ms   the same from a host array to a host array
  srresnet_step_b16_ms   one Adam step of the generator on pixel MSE, 16 HR crops of 96x96
  srgan_step_b16_ms      one discriminator step, then one generator step on the VGG19 φ5,4
                         content loss plus 1e-3 times the adversarial loss

Modes: fp32 (strict float32: TF32 off), tf32 (PyTorch's default on tensor cores), amp (fp16
autocast, channels_last, gradient scaling: PyTorch's fastest eager mode), and with --compile
also compile (amp with every network through torch.compile, CUDA graphs for inference; it
compiles for a few minutes first). The generator is tools/srresnet_torch.py's, which loads this
project's weight files; the discriminator and VGG19 follow the paper as src/models does.
Prints a table of times and one of the GPU memory each workload held at its peak, then one
JSON object as its last line.
"""
import argparse
import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from srresnet_torch import SRResNet  # noqa: E402

WORKLOADS = ["infer_64_to_256_gpu_ms", "infer_64_to_256_e2e_ms", "infer_256_to_1024_gpu_ms",
             "infer_256_to_1024_e2e_ms", "srresnet_step_b16_ms", "srgan_step_b16_ms"]


def discriminator(crop=96):
    """Figure 4, bottom: 8 convolutions (the first without batch norm), 2 dense layers."""
    layers, c_in = [], 3
    for i, (c, stride) in enumerate([(64, 1), (64, 2), (128, 1), (128, 2), (256, 1), (256, 2),
                                     (512, 1), (512, 2)]):
        layers.append(nn.Conv2d(c_in, c, 3, stride, 1))
        if i > 0:
            layers.append(nn.BatchNorm2d(c))
        layers.append(nn.LeakyReLU(0.2))
        c_in = c
    side = crop // 16
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512 * side * side, 1024),
                         nn.LeakyReLU(0.2), nn.Linear(1024, 1))


def vgg19_54():
    """VGG19's features up to φ5,4: the output of the 16th convolution, before its ReLU."""
    plan = [64, 64, "pool", 128, 128, "pool", 256, 256, 256, 256, "pool",
            512, 512, 512, 512, "pool", 512, 512, 512, 512]
    layers, c_in = [], 3
    for v in plan:
        if v == "pool":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c_in, v, 3, 1, 1), nn.ReLU()]
            c_in = v
    return nn.Sequential(*layers[:-1])


def median_ms(work, reps, peaks=None, name=None):
    """Median wall-clock ms of `work`; with `peaks`, also records under `name` the most GPU
    memory PyTorch's tensors held at once while it ran (weights and optimizer state included),
    in MiB, as `bench --networks` reports its own."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    for _ in range(3):
        work()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        work()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    if peaks is not None:
        peaks[name] = torch.cuda.max_memory_allocated() / 2**20
    return sorted(times)[len(times) // 2]


def measure(mode, reps, peaks):
    dev = "cuda"
    fast = mode != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = fast
    torch.backends.cudnn.allow_tf32 = fast
    torch.backends.cudnn.benchmark = True
    half = mode in ("amp", "compile")
    layout = torch.channels_last if half else torch.contiguous_format
    autocast = lambda: torch.autocast("cuda", torch.float16, enabled=half)  # noqa: E731
    g = SRResNet().to(dev, memory_format=layout)
    d = discriminator().to(dev, memory_format=layout)
    vgg = vgg19_54().to(dev, memory_format=layout).eval().requires_grad_(False)
    infer = g
    if mode == "compile":
        infer = torch.compile(g, mode="reduce-overhead")
        g, d, vgg = torch.compile(g), torch.compile(d), torch.compile(vgg)
    times = {}
    g.eval()
    for side in (64, 256):
        x = torch.rand(1, 3, side, side, device=dev).to(memory_format=layout)
        host = torch.rand(1, 3, side, side).pin_memory()
        name = f"infer_{side}_to_{4 * side}"
        with torch.no_grad(), autocast():
            times[f"{name}_gpu_ms"] = median_ms(
                lambda: infer(x).clone(), reps, peaks, f"{name}_gpu_ms")
            times[f"{name}_e2e_ms"] = median_ms(
                lambda: infer(host.to(dev).to(memory_format=layout)).float().cpu(), reps,
                peaks, f"{name}_e2e_ms")
    g.train()
    opt_g = torch.optim.Adam(g.parameters(), 1e-4)
    opt_d = torch.optim.Adam(d.parameters(), 1e-4)
    scaler_g = torch.amp.GradScaler("cuda", enabled=half)
    scaler_d = torch.amp.GradScaler("cuda", enabled=half)
    lr = torch.rand(16, 3, 24, 24, device=dev).to(memory_format=layout)
    hr = (torch.rand(16, 3, 96, 96, device=dev) * 2 - 1).to(memory_format=layout)
    real, fake = torch.ones(16, 1, device=dev), torch.zeros(16, 1, device=dev)
    bce = nn.BCEWithLogitsLoss()

    def update(opt, scaler, loss):
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    def srresnet_step():
        opt_g.zero_grad(set_to_none=True)
        with autocast():
            loss = (g(lr).float() - hr).pow(2).mean()
        update(opt_g, scaler_g, loss)

    def srgan_step():
        with autocast():
            sr = g(lr)
        opt_d.zero_grad(set_to_none=True)
        with autocast():
            loss_d = bce(d(hr).float(), real) + bce(d(sr.detach()).float(), fake)
        update(opt_d, scaler_d, loss_d)
        opt_g.zero_grad(set_to_none=True)
        with autocast():
            features = lambda img: vgg((img + 1) / 2).float() / 12.75  # noqa: E731
            content = (features(sr) - features(hr)).pow(2).mean()
            loss_g = content + 1e-3 * bce(d(sr).float(), real)
        update(opt_g, scaler_g, loss_g)

    times["srresnet_step_b16_ms"] = median_ms(
        srresnet_step, reps, peaks, "srresnet_step_b16_ms")
    times["srgan_step_b16_ms"] = median_ms(srgan_step, reps, peaks, "srgan_step_b16_ms")
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--compile", action="store_true", help="also amp through torch.compile")
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    modes = ["fp32", "tf32", "amp"] + (["compile"] if args.compile else [])
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    peaks = {}
    for mode in modes:
        peaks[mode] = {}
        for name, ms in measure(mode, args.reps, peaks[mode]).items():
            result[f"{name}_{mode}"] = round(ms, 3)
            result[f"{name}_{mode}_peak_mib"] = round(peaks[mode][name])
        print(f"{mode} done", file=sys.stderr, flush=True)
    print(f"{result['device']} | PyTorch {result['torch']} | median ms of {args.reps}")
    print(f"{'workload':<28}" + "".join(f"{m:>10}" for m in modes))
    for w in WORKLOADS:
        print(f"{w:<28}" + "".join(f"{result[f'{w}_{m}']:>10.2f}" for m in modes))
    print("GPU memory at peak, MiB (torch.cuda.max_memory_allocated)")
    for w in WORKLOADS:
        print(f"{w:<28}" + "".join(f"{result[f'{w}_{m}_peak_mib']:>10}" for m in modes))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Averages generator files of one training run, tensor by tensor (Polyak averaging of
checkpoints, as in stochastic weight averaging): F32 tensors are averaged, others (batch norm's
step counters) are taken from the first file, and so is the metadata.

    python3 tools/average_generators.py OUT.safetensors A.safetensors B.safetensors [...]

Only files of one run, late in it, make sense: averaging works where the weights lie in one
basin. Score the result on a validation set before keeping it. `train --ema` keeps an
exponential moving average of the generator's weights as the run goes instead.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "I64": "<i8"}


def read(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        tensors[name] = (info["dtype"], np.frombuffer(data[start:end], DTYPES[info["dtype"]]).reshape(info["shape"]))
    return tensors, meta


def write(path, tensors, meta):
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, (dtype, array) in tensors.items():
        raw = np.ascontiguousarray(array, DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main(out, paths):
    files = [read(p) for p in paths]
    first, meta = files[0]
    for tensors, _ in files[1:]:
        if tensors.keys() != first.keys() or any(tensors[k][1].shape != first[k][1].shape for k in first):
            sys.exit("the files are not the same model")
    averaged = {}
    for name, (dtype, array) in first.items():
        if dtype == "F32":
            array = np.mean([t[name][1].astype(np.float64) for t, _ in files], axis=0).astype(np.float32)
        averaged[name] = (dtype, array)
    meta = dict(meta, averaged_from=", ".join(paths))
    write(out, averaged, meta)
    print(f"wrote {out}: the mean of {len(paths)} files")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])

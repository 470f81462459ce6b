"""Minimal safetensors writer (the format is a JSON header and raw little-endian data), so the
conversion scripts need only numpy and their source format's reader."""
import json
import struct

import numpy as np


def save(path, tensors, metadata):
    """tensors: dict name -> numpy array (written as F32); metadata: dict str -> str."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)

#!/usr/bin/env python3
"""Read the files inside a Qt resource bundle (.rcc, format 1 to 3), the way gcompris-qt-data
ships its photographs. tools/make_validation.py imports it; run alone, it extracts bundles:

    python3 tools/rcc_extract.py OUT FILE.rcc...      # OUT/<bundle name>/<path inside>

A bundle is a header, a tree of nodes (folders and files), a name table (UTF-16) and a data
area; a file's bytes are stored plain or zlib-compressed (Qt 6's zstd is not supported: no
bundle here uses it). Standard library only.
"""
import os
import struct
import sys
import zlib

FLAG_ZLIB, FLAG_DIRECTORY, FLAG_ZSTD = 1, 2, 4


def files(path):
    """{path inside the bundle, without a leading '/': its bytes} for every file of it."""
    with open(path, "rb") as f:
        d = f.read()
    if d[:4] != b"qres":
        raise ValueError(f"{path}: not a Qt resource bundle")
    version, tree, data, names = struct.unpack(">IIII", d[4:20])
    # Format 2 added an 8-byte modification time to every node.
    node_size = 22 if version >= 2 else 14

    def name(offset):
        n = struct.unpack(">H", d[names + offset:names + offset + 2])[0]
        start = names + offset + 6  # after the length and a 4-byte hash
        return d[start:start + 2 * n].decode("utf-16-be")

    out = {}

    def walk(i, prefix):
        b = tree + i * node_size
        name_offset, flags = struct.unpack(">IH", d[b:b + 6])
        here = prefix + (name(name_offset) if i else "")
        if flags & FLAG_DIRECTORY:
            count, first = struct.unpack(">II", d[b + 6:b + 14])
            for c in range(first, first + count):
                walk(c, here + "/")
            return
        offset = struct.unpack(">I", d[b + 10:b + 14])[0]
        size = struct.unpack(">I", d[data + offset:data + offset + 4])[0]
        blob = d[data + offset + 4:data + offset + 4 + size]
        if flags & FLAG_ZLIB:
            blob = zlib.decompress(blob[4:])  # after Qt's 4-byte uncompressed length
        elif flags & FLAG_ZSTD:
            raise ValueError(f"{path}: {here} is zstd-compressed, which this reader lacks")
        out[here.lstrip("/")] = blob

    walk(0, "")
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: rcc_extract.py OUT FILE.rcc...")
    for bundle in sys.argv[2:]:
        base = os.path.join(sys.argv[1], os.path.splitext(os.path.basename(bundle))[0])
        for inner, blob in files(bundle).items():
            p = os.path.join(base, inner)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(blob)


if __name__ == "__main__":
    main()

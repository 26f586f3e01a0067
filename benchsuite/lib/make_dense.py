#!/usr/bin/env python3
"""Build the 'dense' corpus: files that are one long line of distinct generic-secret
assignments (`api_key="<32 random base62>";` repeated), the input that once made keyhound hold
every finding with its own context (0.99 GB of memory for one 10 MiB file).

No network, no randomness from outside: the content is a fixed function of the seed, so every
machine measures the same bytes. Idempotent: files of the right size are kept.

usage: make_dense.py DIR [FILES] [MIB_PER_FILE]     (default 8 files of 10 MiB: 81 MB)
"""
import os
import random
import string
import sys

ALPHABET = string.ascii_letters + string.digits


def build(path, size, seed):
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        token = "".join(rng.choice(ALPHABET) for _ in range(32))
        out += f'api_key="{token}";'.encode()
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(out[:size])
    os.replace(tmp, path)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    size = (int(sys.argv[3]) if len(sys.argv) > 3 else 10) * 1024 * 1024
    os.makedirs(root, exist_ok=True)
    for i in range(files):
        path = os.path.join(root, f"dense-{i}.env")
        if os.path.exists(path) and os.path.getsize(path) == size:
            continue
        build(path, size, seed=i)
    print(f"[dense] {files} files of {size} bytes in {root}", flush=True)


if __name__ == "__main__":
    main()

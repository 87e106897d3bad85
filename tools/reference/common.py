"""Shared helpers for the vgen reference-fixture generators.

- deterministic torch setup (seed, one thread, deterministic algorithms)
- a deterministic safetensors writer (the official writer emits __metadata__ in
  hash-map order, which changes from run to run; ours sorts keys)
- manifest fragments: each generator records the files it wrote; gen_manifest.py
  merges the fragments into tests/fixtures/manifest.json
"""
import json
import os
import random
import struct
from importlib import metadata as importlib_metadata

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, "tests", "fixtures")
GENERATOR = "tools/reference/make_fixtures.sh"

PACKAGES = ["torch", "diffusers", "transformers", "tokenizers", "sentencepiece",
            "safetensors", "numpy", "protobuf", "ftfy", "accelerate", "huggingface-hub"]


def versions():
    out = {}
    for p in PACKAGES:
        try:
            out[p] = importlib_metadata.version(p)
        except importlib_metadata.PackageNotFoundError:
            out[p] = "absent"
    return out


def setup(seed=0):
    """Call first in every generator."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    seed_all(seed)
    torch.set_grad_enabled(False)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def fix_path(*parts):
    p = os.path.join(FIX, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def rel(path):
    return os.path.relpath(path, FIX).replace(os.sep, "/")


# --------------------------------------------------------------------------- safetensors

_ST_DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def _tensor_bytes(t):
    t = t.detach().to("cpu").contiguous()
    if t.numel() == 0:
        return b""
    return t.reshape(-1).view(torch.uint8).numpy().tobytes()


def save_safetensors(path, tensors, component, description="", extra_meta=None):
    """Write a safetensors file byte-deterministically.

    Tensor data is ordered by (element size descending, name) so every tensor is
    naturally aligned once the header is padded to 8 bytes; the header lists tensors
    in that order and __metadata__ keys sorted. Metadata: strings only, no timestamps.
    """
    meta = {"generator": GENERATOR, "component": component}
    if description:
        meta["description"] = description
    for k, v in versions().items():
        meta["version." + k] = v
    if extra_meta:
        for k, v in extra_meta.items():
            meta[k] = v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(",", ":"))
    names = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n))
    header = {"__metadata__": {k: meta[k] for k in sorted(meta)}}
    blobs = []
    off = 0
    for n in names:
        t = tensors[n]
        if t.dtype not in _ST_DTYPES:
            raise TypeError(f"{n}: dtype {t.dtype} unsupported")
        b = _tensor_bytes(t)
        header[n] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hb = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    return path


def write_json(path, obj, indent=1):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent, sort_keys=False)
        f.write("\n")


def f32(t):
    return t.detach().to(torch.float32).contiguous().clone()


# --------------------------------------------------------------------------- manifest

class Manifest:
    def __init__(self, component):
        self.component = component
        self.entries = []

    def add(self, path, what, tolerance_class, tensors=None, **extra):
        e = {"path": rel(path), "component": self.component, "what": what,
             "tolerance_class": tolerance_class}
        if tensors:
            e["tensors"] = tensors
        e.update(extra)
        self.entries.append(e)

    def write(self):
        d = os.environ.get("VGEN_REF_TMP")
        if not d:
            raise SystemExit("VGEN_REF_TMP is not set: run tools/reference/make_fixtures.sh")
        os.makedirs(os.path.join(d, "manifest"), exist_ok=True)
        with open(os.path.join(d, "manifest", self.component + ".json"), "w") as f:
            json.dump(self.entries, f, ensure_ascii=False, indent=1)


def stats(name, t):
    t = t.float()
    print(f"  {name:40s} {tuple(t.shape)!s:28s} mean {t.mean().item():+.4f} std {t.std().item() if t.numel() > 1 else 0:.4f} "
          f"absmax {t.abs().max().item():.4f}")

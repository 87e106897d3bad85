"""Noise fixtures: torch CPU-generator randn bit patterns (what WanPipeline's prepare_latents draws).

Writes tests/fixtures/noise/randn.safetensors and cases.json (the case list in reading order).
torch uses different code paths for fewer than 16 elements (scalar Box-Muller) and for >= 16 (vectorised, in
chunks of 16 with a scalar tail recomputation when the size is not a multiple of 16), so the shapes cover both.
"""
import json
import os
import shutil
import sys

import torch

from common import FIX, Manifest, save_safetensors, setup, write_json

SEEDS = [0, 1, 42, 1234, 123456789, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1]
SHAPES = [[1], [2], [3], [7], [15], [16], [17], [20], [31], [32], [33], [47], [100], [2, 3, 5], [1, 16, 2, 4, 6],
          [1, 16, 5, 8, 12]]
SEQUENCES = [  # same generator, successive calls
    [[16], [16]], [[7], [7]], [[7], [16]], [[16], [7]], [[17], [33]], [[1, 16, 2, 4, 6], [1, 16, 2, 4, 6]],
    [[3], [20], [5]],
]


def shape_str(s):
    return "x".join(str(d) for d in s)


def main():
    setup(5)
    base = os.path.join(FIX, "noise")
    if os.path.isdir(base):
        shutil.rmtree(base)
    t = {}
    cases = []
    for seed in SEEDS:
        for shape in SHAPES:
            g = torch.Generator("cpu").manual_seed(seed)
            name = f"randn.seed{seed}.{shape_str(shape)}"
            t[name] = torch.randn(shape, generator=g, dtype=torch.float32)
            cases.append({"tensor": name, "seed": seed, "seed_str": str(seed), "shape": shape, "call": "randn", "call_index": 0})
    for seed in [0, 42, 2**63 - 1]:
        for si, seq in enumerate(SEQUENCES):
            g = torch.Generator("cpu").manual_seed(seed)
            for ci, shape in enumerate(seq):
                name = f"seq{si}.seed{seed}.call{ci}.{shape_str(shape)}"
                t[name] = torch.randn(shape, generator=g, dtype=torch.float32)
                cases.append({"tensor": name, "seed": seed, "seed_str": str(seed), "shape": shape, "call": "randn", "call_index": ci,
                              "sequence": si})
    # uniform draws as a debugging aid for the RNG layers (mt19937 -> float)
    for seed in [0, 42]:
        for shape in [[7], [20]]:
            g = torch.Generator("cpu").manual_seed(seed)
            name = f"rand.seed{seed}.{shape_str(shape)}"
            t[name] = torch.rand(shape, generator=g, dtype=torch.float32)
            cases.append({"tensor": name, "seed": seed, "seed_str": str(seed), "shape": shape, "call": "rand", "call_index": 0})
    p = save_safetensors(os.path.join(base, "randn.safetensors"), t, "noise",
                         "torch.randn(shape, generator=torch.Generator('cpu').manual_seed(seed), dtype=float32)")
    pc = os.path.join(base, "cases.json")
    write_json(pc, {"about": "each case: a fresh torch.Generator('cpu').manual_seed(seed) (seed_str: the same seed as a string, exact for parsers that read JSON numbers as doubles); calls with the same "
                             "'sequence' id share one generator in call_index order",
                    "cases": cases})
    print(f"noise: {len(cases)} tensors")
    m = Manifest("noise")
    m.add(p, "torch CPU generator randn (float32) for seeds 0..2^64-1 and shapes with <16, =16, >16, non-multiple-"
          "of-16 element counts, a latent-like [1,16,5,8,12]; successive calls on one generator; a few torch.rand",
          "exact", tensors={
              "randn.seed{S}.{shape}": "F32 [shape] torch.randn with a fresh generator seeded S",
              "seq{K}.seed{S}.call{C}.{shape}": "F32 [shape] C-th successive randn call on one generator",
              "rand.seed{S}.{shape}": "F32 [shape] torch.rand (uniform [0,1)) with a fresh generator",
          })
    m.add(pc, "list of the noise cases (tensor name, seed, shape, call, sequence)", "exact")
    m.write()


if __name__ == "__main__":
    sys.exit(main())

"""Numerics fixtures: float8_e4m3fn / bfloat16 / float16 conversions exactly as torch does them on CPU.

Writes tests/fixtures/numerics/conversions.safetensors.
"""
import os
import shutil
import sys

import numpy as np
import torch

from common import FIX, Manifest, save_safetensors, setup


def bits_to_f32(bits):
    return torch.from_numpy(np.array(bits, dtype=np.uint32).view(np.float32).copy())


def f32_bits(x):
    return x.contiguous().view(torch.int32)


def e4m3_inputs(g):
    v = [0.0, -0.0, 1.0, -1.0, 448.0, -448.0, 0.5, 2.0, 0.001953125, -0.001953125]
    sub = 2.0 ** -9  # smallest e4m3 subnormal
    v += [k * sub for k in range(1, 8)] + [-k * sub for k in range(1, 8)]
    v += [(k + 0.5) * sub for k in range(0, 8)]            # ties between subnormals (and 0 / min normal)
    v += [-(k + 0.5) * sub for k in range(0, 8)]
    v += [0.25 * sub, 0.75 * sub, 0.49 * sub, 0.51 * sub, 2.0 ** -6, 2.0 ** -6 * 1.0625, 2.0 ** -6 * 0.9375]
    # ties between normals: 1 + (2k+1)/16 lies halfway between 1 + k/8 and 1 + (k+1)/8
    for e in [-6, -3, 0, 1, 4, 7, 8]:
        for k in range(8):
            v.append((1.0 + (2 * k + 1) / 16.0) * 2.0 ** e)
            v.append(-(1.0 + (2 * k + 1) / 16.0) * 2.0 ** e)
            v.append((1.0 + (2 * k + 1) / 16.0 + 1e-3) * 2.0 ** e)
            v.append((1.0 + (2 * k + 1) / 16.0 - 1e-3) * 2.0 ** e)
    # around and beyond the max (448 = 1.75 * 2^8; 480 would be the next step)
    v += [416.0, 432.0, 440.0, 447.0, 448.5, 449.0, 455.0, 463.0, 463.99, 464.0, 464.01, 470.0, 479.0, 479.99,
          480.0, 481.0, 500.0, 512.0, 1000.0, 1e6, 3.4e38, -449.0, -464.0, -480.0, -1e6]
    v += [float("inf"), float("-inf"), float("nan"), -float("nan")]
    x = torch.tensor(v, dtype=torch.float32)
    # NaNs with payloads, f32 subnormals, smallest/largest floats
    x = torch.cat([x, bits_to_f32([0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF, 0x00000001, 0x807FFFFF,
                                   0x00800000, 0x7F7FFFFF])])
    # random values over many magnitudes
    mag = torch.exp2(torch.empty(3000).uniform_(-14.0, 10.0, generator=g))
    sign = torch.where(torch.rand(3000, generator=g) < 0.5, -1.0, 1.0)
    return torch.cat([x, (sign * mag).to(torch.float32)])


def half_inputs(g, kind):
    """Inputs for f32 -> bf16 / f16, built from bit patterns."""
    bits = [0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000,
            0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FFFFFFF, 0xFF800001, 0x7FA00000,  # NaNs (quiet, signalling)
            0x00000001, 0x00400000, 0x007FFFFF, 0x00800000, 0x80000001,           # f32 subnormals / min normal
            0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x7F7FC000]            # near f32 max (bf16 overflow)
    # bf16 ties: low 16 bits exactly 0x8000, upper half even and odd; plus one ulp either side
    for hi in [0x3F80, 0x3F81, 0x4049, 0x404A, 0xC2F6, 0xC2F7, 0x0001, 0x0002, 0x7F7E, 0x7F7F]:
        for lo in [0x7FFF, 0x8000, 0x8001, 0x0000, 0xFFFF]:
            bits.append((hi << 16) | lo)
    x = bits_to_f32(bits)
    if kind == "f16":
        # f16 specials: max 65504, overflow threshold 65520 (tie to inf), subnormals 2^-24.., ties
        v = [65504.0, 65505.0, 65519.0, 65519.99, 65520.0, 65536.0, 1e5, -65520.0, 6.1035156e-05, 2.0 ** -14,
             2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25, 2.0 ** -26, 3 * 2.0 ** -25, 5 * 2.0 ** -25, 1e-8, -1e-8,
             1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -11 + 2.0 ** -20, 2048.0 + 1.0, 2048.0 + 3.0,
             0.1, 0.2, 0.3, 1.0 / 3.0, 3.14159265]
        x = torch.cat([x, torch.tensor(v, dtype=torch.float32)])
    mag = torch.exp2(torch.empty(3000).uniform_(-30.0 if kind == "f16" else -140.0,
                                                 18.0 if kind == "f16" else 127.0, generator=g))
    sign = torch.where(torch.rand(3000, generator=g) < 0.5, -1.0, 1.0)
    rnd = (sign * mag).to(torch.float32)
    # and random raw bit patterns (all classes, including NaN payloads)
    rbits = torch.randint(0, 2**32, (2000,), generator=g, dtype=torch.int64).numpy().astype(np.uint32)
    return torch.cat([x, rnd, bits_to_f32(rbits)])


def main():
    setup(6)
    base = os.path.join(FIX, "numerics")
    if os.path.isdir(base):
        shutil.rmtree(base)
    g = torch.Generator("cpu").manual_seed(6001)
    t = {}
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    t["e4m3.codes"] = codes
    t["e4m3.decoded"] = codes.view(torch.float8_e4m3fn).to(torch.float32)
    xi = e4m3_inputs(g)
    t["e4m3.enc.in"] = xi
    t["e4m3.enc.in_bits"] = f32_bits(xi)
    t["e4m3.enc.bits"] = xi.to(torch.float8_e4m3fn).view(torch.uint8)
    # the fp8 "scaled" path used by gen_dit.py: (w / scale).to(e4m3), scale = amax/448
    w = torch.randn(64, 48, generator=g) * 0.05
    scale = (w.abs().max() / 448.0).to(torch.float32)
    t["e4m3.scaled.w"] = w
    t["e4m3.scaled.scale"] = scale.reshape(())
    t["e4m3.scaled.bits"] = (w / scale).to(torch.float8_e4m3fn).view(torch.uint8)
    for kind, dt in (("bf16", torch.bfloat16), ("f16", torch.float16)):
        x = half_inputs(g, kind)
        t[f"{kind}.enc.in"] = x
        t[f"{kind}.enc.in_bits"] = f32_bits(x)
        t[f"{kind}.enc.bits"] = x.to(dt).view(torch.int16)
        t[f"{kind}.enc.back"] = x.to(dt).to(torch.float32)
    dec = t["e4m3.decoded"]
    print(f"numerics: e4m3 max {dec[~dec.isnan()].max().item()}, nan codes "
          f"{[int(c) for c in codes[dec.isnan()]]}; encode inputs {len(xi)}")
    p = save_safetensors(os.path.join(base, "conversions.safetensors"), t, "numerics",
                         "float8_e4m3fn / bfloat16 / float16 conversions as torch (CPU) performs them")
    m = Manifest("numerics")
    m.add(p, "fp8 e4m3fn decode table (256 codes) and f32->e4m3fn/bf16/f16 encodings by torch .to(): zeros, "
          "subnormals, round-half-even ties, 448..480 and beyond, inf/NaN (incl. payloads), random magnitudes and "
          "random bit patterns", "exact", tensors={
              "e4m3.codes": "U8 [256] 0..255", "e4m3.decoded": "F32 [256] code.view(float8_e4m3fn).float() "
                                                                  "(0x7F/0xFF are NaN)",
              "e4m3.enc.in / .in_bits": "F32 [N] inputs / the same as I32 bit patterns",
              "e4m3.enc.bits": "U8 [N] input.to(float8_e4m3fn) bits (torch: RNE, no saturation: |x| > 464 -> NaN, |x| = 464 -> 448 (tie to even), inf -> NaN)",
              "e4m3.scaled.w / .scale / .bits": "F32 [64,48] weight, F32 [] amax/448, U8 [64,48] (w/scale) e4m3 bits",
              "bf16.enc.in / .in_bits": "F32 [N] inputs (specials, ties, random, random bit patterns) / I32 bits",
              "bf16.enc.bits": "I16 [N] input.to(bfloat16) bits (RNE, NaN kept NaN)",
              "bf16.enc.back": "F32 [N] bf16 value widened back to f32",
              "f16.enc.in / .in_bits / .bits / .back": "same for float16 (overflow to inf at >= 65520)",
          })
    m.write()


if __name__ == "__main__":
    sys.exit(main())

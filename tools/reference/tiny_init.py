"""Seeded, non-degenerate random initialisation for the tiny models.

Library inits leave norm weights at 1 and biases at 0, so a C implementation that
forgot a norm weight or a bias would still pass. Here every parameter gets a random
value: weights ~ N(0, gain/sqrt(fan_in)), norm gains ~ 1 + N(0, 0.2^2), biases and norm
shifts ~ N(0, 0.1^2), embeddings ~ N(0, 1). A generator seeded per model keeps the values
independent of how many random numbers were drawn before.
"""
import math

import torch


def init_module(model, seed, gain=1.0, overrides=None):
    """overrides: list of (substring, fn(name, shape, generator) -> tensor) applied first-match."""
    g = torch.Generator("cpu").manual_seed(seed)
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        t = None
        for sub, fn in overrides or []:
            if sub in name:
                t = fn(name, tuple(p.shape), g)
                break
        if t is None:
            t = default_value(name, tuple(p.shape), g, gain)
        with torch.no_grad():
            p.copy_(t.to(p.dtype))
    return model


def default_value(name, shape, g, gain=1.0):
    leaf = name.rsplit(".", 1)[-1]
    is_norm = "norm" in name.lower() or leaf == "gamma"
    if is_norm and leaf in ("weight", "gamma"):
        return 1.0 + 0.2 * torch.randn(shape, generator=g)
    if leaf == "bias" or (is_norm and leaf == "beta"):
        return 0.1 * torch.randn(shape, generator=g)
    if len(shape) >= 2:
        fan_in = math.prod(shape[1:])
        return gain * torch.randn(shape, generator=g) / math.sqrt(fan_in)
    return torch.randn(shape, generator=g) / math.sqrt(max(shape[0], 1))

"""VAE fixtures: a tiny random AutoencoderKLWan (Wan2.1 structure, base_dim 8) and decoder outputs.

Writes tests/fixtures/vae/tiny/:
  diffusers/config.json, diffusers/diffusion_pytorch_model.safetensors   (save_pretrained)
  io.safetensors  normalized latents, the denormalized latents vae.decode receives, decoded video (fp32) for
                  1, 2 and 5 latent frames; intermediates (hooks) for the 2-frame case
"""
import os
import shutil
import sys

import torch

from common import FIX, Manifest, f32, save_safetensors, setup, stats
from tiny_init import init_module

LATENTS_MEAN = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715, 0.5517,
                -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
LATENTS_STD = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652, 1.5579,
               1.6382, 1.1253, 2.8251, 1.9160]
CFG = dict(base_dim=8, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
           temperal_downsample=[False, True, True], dropout=0.0, latents_mean=LATENTS_MEAN, latents_std=LATENTS_STD)
LAT_HW = (4, 6)  # -> 32 x 48 pixels
FRAMES = [1, 2, 5]
HOOK_FRAMES = 2


def denormalize(latents, vae):
    """Exactly WanPipeline.__call__: latents / (1/std) + mean, in the VAE dtype."""
    z = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean).view(1, z, 1, 1, 1).to(latents.device, latents.dtype)
    inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, z, 1, 1, 1).to(latents.device, latents.dtype)
    return latents / inv_std + mean


class Hooks:
    def __init__(self, vae):
        self.parts = {}
        self.handles = []
        dec = vae.decoder
        mods = [("post_quant_conv", vae.post_quant_conv), ("decoder.conv_in", dec.conv_in),
                ("decoder.mid_block", dec.mid_block),
                ("decoder.conv_out", dec.conv_out)]
        mods += [(f"decoder.up_blocks.{i}", b) for i, b in enumerate(dec.up_blocks)]
        for name, mod in mods:
            self.handles.append(mod.register_forward_hook(
                lambda m, i, o, name=name: self.parts.setdefault(name, []).append(o.detach().clone())))

    def result(self):
        for h in self.handles:
            h.remove()
        # the decoder runs one latent frame at a time; concatenating the chunks along time gives the
        # whole-sequence tensors
        return {k: torch.cat(v, dim=2)[0] for k, v in self.parts.items()}


def main():
    setup(3)
    from diffusers import AutoencoderKLWan

    base = os.path.join(FIX, "vae", "tiny")
    if os.path.isdir(base):
        shutil.rmtree(base)
    ddir = os.path.join(base, "diffusers")
    vae = AutoencoderKLWan(**CFG).eval()
    # conv_out gets a smaller gain so that few pixels hit the [-1,1] clamp
    init_module(vae, 3001, overrides=[
        ("decoder.conv_out.weight", lambda n, s, g: 0.8 * torch.randn(s, generator=g) / (s[1] * 27) ** 0.5),
        ("decoder.conv_out.bias", lambda n, s, g: 0.05 * torch.randn(s, generator=g)),
    ])
    vae.save_pretrained(ddir, safe_serialization=True)
    vae = AutoencoderKLWan.from_pretrained(ddir, torch_dtype=torch.float32).eval()

    g = torch.Generator("cpu").manual_seed(3101)
    io = {"latents_mean": torch.tensor(LATENTS_MEAN), "latents_std": torch.tensor(LATENTS_STD)}
    doc = {"latents_mean": "F32 [16] vae.config.latents_mean (the real Wan2.1 values)",
           "latents_std": "F32 [16] vae.config.latents_std (the real Wan2.1 values)"}
    for T in FRAMES:
        lat = torch.randn((1, 16, T) + LAT_HW, generator=g, dtype=torch.float32)
        z = denormalize(lat, vae)
        hk = Hooks(vae) if T == HOOK_FRAMES else None
        video = vae.decode(z, return_dict=False)[0]
        io[f"t{T}.latent_normalized"] = f32(lat)
        io[f"t{T}.latent_denorm"] = f32(z)
        io[f"t{T}.video"] = f32(video)
        clamped = (video.abs() >= 1.0).float().mean().item()
        stats(f"t{T}.video (clamped {clamped:.3f})", video)
        assert video.shape == (1, 3, 1 + 4 * (T - 1), LAT_HW[0] * 8, LAT_HW[1] * 8), video.shape
        assert clamped < 0.2 and video.std() > 0.1
        if hk is not None:
            for k, v in hk.result().items():
                io[f"t{T}.{k}"] = f32(v)
                stats(f"t{T}.{k}", v)
        doc[f"t{T}.latent_normalized"] = f"F32 [1,16,{T},4,6] latent in the DiT's (normalized) space, randn"
        doc[f"t{T}.latent_denorm"] = (f"F32 [1,16,{T},4,6] what vae.decode receives: latent_normalized / "
                                     "(1/latents_std) + latents_mean, as WanPipeline computes it")
        doc[f"t{T}.video"] = f"F32 [1,3,{1 + 4 * (T - 1)},32,48] vae.decode output, clamped to [-1,1]"
    T = HOOK_FRAMES
    doc.update({
        f"t{T}.post_quant_conv": "F32 [16,T,4,6] post_quant_conv(z) (1x1x1 causal conv, whole sequence)",
        f"t{T}.decoder.conv_in": "F32 [32,T,4,6] conv_in output",
        f"t{T}.decoder.mid_block": "F32 [32,T,4,6] after res, attn, res",
        f"t{T}.decoder.up_blocks.0": "F32 [16,1+2(T-1),8,12] after 3 res + upsample3d (C/2 channels)",
        f"t{T}.decoder.up_blocks.1": "F32 [16,1+4(T-1),16,24] after res(16->32, shortcut) + 2 res + upsample3d",
        f"t{T}.decoder.up_blocks.2": "F32 [8,1+4(T-1),32,48] after 3 res + upsample2d",
        f"t{T}.decoder.up_blocks.3": "F32 [8,1+4(T-1),32,48] after 3 res (no upsample)",
        f"t{T}.decoder.conv_out": "F32 [3,1+4(T-1),32,48] conv_out output before clamp",
    })
    io_path = save_safetensors(os.path.join(base, "io.safetensors"), io, "vae", "tiny Wan VAE decode",
                               {"config": CFG})
    m = Manifest("vae")
    m.add(os.path.join(ddir, "config.json"), "AutoencoderKLWan config: base_dim 8, z_dim 16, dim_mult [1,2,4,4], "
          "num_res_blocks 2, no attn_scales, temperal_downsample [F,T,T], real latents_mean/std", "exact")
    m.add(os.path.join(ddir, "diffusion_pytorch_model.safetensors"),
          "AutoencoderKLWan weights (encoder + decoder), diffusers layout, fp32, random seeded", "exact")
    m.add(io_path, "decode of 1, 2 and 5 latent frames (4x6 -> 32x48 px) + per-stage decoder intermediates for 2 "
          "frames (decoder runs frame by frame with its causal cache; hooks concatenated over time)", "f32",
          tensor_tolerance={"latents_*": "exact", "*.latent_normalized": "exact"},
          tensors=doc)
    m.write()


if __name__ == "__main__":
    sys.exit(main())

"""DiT fixtures: tiny random WanTransformer3DModel configs, four checkpoint layouts, inputs/outputs/intermediates.

Writes tests/fixtures/dit/<name>/:
  diffusers/config.json, diffusers/diffusion_pytorch_model.safetensors   (save_pretrained)
  wan_original.safetensors        original Wan2.1 key names, fp32                      (tiny_a only)
  comfyui.safetensors             original names under "model.diffusion_model.", fp32   (tiny_a only)
  comfyui_fp8_scaled.safetensors  original names; block linears F8_E4M3 + per-tensor scale_weight; scaled_fp8
                                  marker (tiny_a only)
  io.safetensors                  inputs, outputs (fp32, bf16), intermediates from forward hooks
"""
import os
import shutil
import sys

import torch

from common import FIX, Manifest, f32, save_safetensors, setup, stats
from tiny_init import init_module
from wan_keys import BLOCK_LINEAR_RE, COMFY_PREFIX, state_dict_to_original

SEQ = 512
CONFIGS = {
    # dim 64 (2 heads x 32); text_dim 64 = the tiny UMT5 d_model, so the pipeline fixture can use it
    "tiny_a": dict(cfg=dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=32, in_channels=16,
                            out_channels=16, text_dim=64, freq_dim=256, ffn_dim=160, num_layers=2,
                            cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024),
                   latent=(1, 16, 2, 8, 12), timestep=937, ctx_len=23, seed=2001, layouts=True),
    # dim 96 (3 heads x 32), text_dim 48 != dim, odd latent sizes: F=3, H=6, W=10 -> 3x3x5 = 45 tokens
    "tiny_b": dict(cfg=dict(patch_size=(1, 2, 2), num_attention_heads=3, attention_head_dim=32, in_channels=16,
                            out_channels=16, text_dim=48, freq_dim=256, ffn_dim=192, num_layers=2,
                            cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024),
                   latent=(1, 16, 3, 6, 10), timestep=421, ctx_len=7, seed=2002, layouts=False),
}


def make_model(cfg, seed):
    from diffusers import WanTransformer3DModel
    model = WanTransformer3DModel(**cfg).eval()
    init_module(model, seed, overrides=[
        # modulation tables: N(0, 0.5^2) so shift/scale/gate visibly matter
        ("scale_shift_table", lambda n, s, g: 0.5 * torch.randn(s, generator=g)),
    ])
    return model


class Hooks:
    """Collects module outputs during one forward; names -> tensors (batch index 0 dropped)."""

    def __init__(self, model):
        self.out = {}
        self.handles = []
        nb = len(model.blocks)

        def reg(mod, fn):
            self.handles.append(mod.register_forward_hook(fn))

        def rope(m, i, o):
            cos, sin = o
            self.out["rope.cos"] = cos[0, :, 0, :].detach().clone()
            self.out["rope.sin"] = sin[0, :, 0, :].detach().clone()

        def patch(m, i, o):
            self.out["patch_embed.tokens"] = o.flatten(2).transpose(1, 2)[0].detach().clone()

        def tproj(m, i, o):
            self.out["timesteps_proj"] = o[0].detach().clone()

        def cond(m, i, o):
            temb, tp, ehs, _ = o
            self.out["temb"] = temb[0].detach().clone()
            self.out["timestep_proj"] = tp[0].detach().clone()
            self.out["text_embed"] = ehs[0].detach().clone()

        reg(model.rope, rope)
        reg(model.patch_embedding, patch)
        reg(model.condition_embedder.timesteps_proj, tproj)
        reg(model.condition_embedder, cond)
        for bi in range(nb):
            def blk(m, i, o, bi=bi):
                self.out[f"block.{bi}.out"] = o[0].detach().clone()

            def sa(m, i, o, bi=bi):
                self.out[f"block.{bi}.attn1.out"] = o[0].detach().clone()

            def ca(m, i, o, bi=bi):
                self.out[f"block.{bi}.attn2.out"] = o[0].detach().clone()

            def ff(m, i, o, bi=bi):
                self.out[f"block.{bi}.ffn.out"] = o[0].detach().clone()
            reg(model.blocks[bi], blk)
            reg(model.blocks[bi].attn1, sa)
            reg(model.blocks[bi].attn2, ca)
            reg(model.blocks[bi].ffn, ff)

        def norm_out(m, i, o):
            self.out["head.norm_out.in"] = i[0][0].detach().clone()
            self.out["head.norm_out.out"] = o[0].detach().clone()

        def proj_out(m, i, o):
            self.out["head.modulated"] = i[0][0].detach().clone()
            self.out["head.proj_out"] = o[0].detach().clone()
        reg(model.norm_out, norm_out)
        reg(model.proj_out, proj_out)

    def remove(self):
        for h in self.handles:
            h.remove()


def make_inputs(spec, text_dim, seed):
    g = torch.Generator("cpu").manual_seed(seed)
    x = torch.randn(spec["latent"], generator=g, dtype=torch.float32)
    ctx = torch.zeros(1, SEQ, text_dim)
    ctx[0, :spec["ctx_len"]] = torch.randn(spec["ctx_len"], text_dim, generator=g)
    t = torch.tensor([spec["timestep"]], dtype=torch.int64)  # the pipeline passes scheduler timesteps (int64)
    return x, t, ctx


def run(model, x, t, ctx, dtype=None):
    hk = Hooks(model)
    if dtype is not None:
        x, ctx = x.to(dtype), ctx.to(dtype)  # WanPipeline: latents.to(transformer_dtype), prompt_embeds.to(...)
    out = model(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
    hk.remove()
    return out, hk.out


def quantize_fp8_scaled(orig_sd):
    """ComfyUI 'scaled fp8': W ~= W8.float() * scale_weight, scale = amax/448 (per tensor, F32 0-d)."""
    out = {}
    deq = {}
    for k, v in orig_sd.items():
        if BLOCK_LINEAR_RE.match(k):
            scale = (v.abs().max() / 448.0).to(torch.float32)
            w8 = (v / scale).to(torch.float8_e4m3fn)
            out[k] = w8
            out[k[: -len(".weight")] + ".scale_weight"] = scale.reshape(())
            deq[k] = w8.to(torch.float32) * scale
        else:
            out[k] = v
            deq[k] = v
    # ComfyUI reads the fp8 dtype from this marker's dtype; an empty F8_E4M3 tensor (nelement()==2 would mean
    # "full precision matmul" there, so it must not have 2 elements)
    out["scaled_fp8"] = torch.empty(0, dtype=torch.float8_e4m3fn)
    return out, deq


def main():
    setup(2)
    from diffusers import WanTransformer3DModel
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    m = Manifest("dit")
    for name, spec in CONFIGS.items():
        print(f"dit {name}")
        base = os.path.join(FIX, "dit", name)
        if os.path.isdir(base):
            shutil.rmtree(base)
        ddir = os.path.join(base, "diffusers")
        model = make_model(spec["cfg"], spec["seed"])
        model.save_pretrained(ddir, safe_serialization=True)
        m32 = WanTransformer3DModel.from_pretrained(ddir, torch_dtype=torch.float32).eval()
        sd = {k: v.detach().clone().contiguous() for k, v in m32.state_dict().items()}

        text_dim = spec["cfg"]["text_dim"]
        x, t, ctx = make_inputs(spec, text_dim, spec["seed"] + 100)
        out32, h32 = run(m32, x, t, ctx)
        # bf16 as WanPipeline loads it: from_pretrained(torch_dtype=bf16) keeps time_embedder, scale_shift_table
        # and norm1/2/3 in fp32 (_keep_in_fp32_modules)
        m16 = WanTransformer3DModel.from_pretrained(ddir, torch_dtype=torch.bfloat16).eval()
        out16, h16 = run(m16, x, t, ctx, torch.bfloat16)
        m16all = WanTransformer3DModel.from_pretrained(ddir, torch_dtype=torch.float32).eval().to(torch.bfloat16)
        out16all, _ = run(m16all, x, t, ctx, torch.bfloat16)

        io = {"in.latent": x, "in.timestep": t, "in.context": ctx, "out.fp32": f32(out32),
              "out.bf16": out16.to(torch.bfloat16).contiguous(), "out.bf16_all": out16all.contiguous()}
        for k, v in h32.items():
            io["fp32." + k] = f32(v)
        for k, v in h16.items():
            if k.startswith("block.") and k.endswith(".out") and k.count(".") == 2 or k in ("temb", "timestep_proj",
                                                                                              "text_embed"):
                io["bf16." + k] = v.contiguous()
        stats("out.fp32", out32)
        stats("out.bf16 - out.fp32", out16.float() - out32)
        for k in ["fp32.patch_embed.tokens", "fp32.text_embed", "fp32.block.0.out", "fp32.head.norm_out.in"]:
            stats(k, io[k])
        assert out32.std() > 0.1 and (out32 - out32.mean()).abs().max() > 0.1, "degenerate output"

        tensors_doc = {
            "in.latent": f"F32 [1,16,F,H,W]={list(spec['latent'])} latent input",
            "in.timestep": "I64 [1] timestep (int64 as the pipeline passes scheduler.timesteps)",
            "in.context": f"F32 [1,512,text_dim={text_dim}] encoder_hidden_states, rows >= {spec['ctx_len']} zero",
            "out.fp32": "F32 [1,16,F,H,W] model output, fp32 model",
            "out.bf16": "BF16 [1,16,F,H,W] from_pretrained(torch_dtype=bf16) (keeps time_embedder, "
                        "scale_shift_table, norm1/2/3 fp32), inputs cast to bf16 as WanPipeline does",
            "out.bf16_all": "BF16 [1,16,F,H,W] model.to(bfloat16) (everything bf16), inputs cast to bf16",
            "fp32.rope.cos / fp32.rope.sin": "F32 [L,head_dim] diffusers WanRotaryPosEmbed output (computed in "
                                             "float64, stored float32; repeat-interleaved pairs; t|h|w split "
                                             "12|10|10 for head_dim 32)",
            "fp32.patch_embed.tokens": "F32 [L,dim] patch_embedding output flattened f-major (L=F*H/2*W/2)",
            "fp32.timesteps_proj": "F32 [256] sinusoidal embedding (cos first)",
            "fp32.temb": "F32 [dim] time_embedder output",
            "fp32.timestep_proj": "F32 [6*dim] time_proj(SiLU(temb)) before unflatten",
            "fp32.text_embed": "F32 [512,dim] text_embedder output (zero rows give the bias path)",
            "fp32.block.N.attn1.out / attn2.out / ffn.out": "F32 [L,dim] sub-block outputs (before gate/residual)",
            "fp32.block.N.out": "F32 [L,dim] residual stream after block N",
            "fp32.head.norm_out.in": "F32 [L,dim] input of norm_out (= last block output)",
            "fp32.head.norm_out.out": "F32 [L,dim] LayerNorm without affine",
            "fp32.head.modulated": "F32 [L,dim] norm_out*(1+scale)+shift, proj_out input",
            "fp32.head.proj_out": "F32 [L,64] proj_out output before unpatchify",
            "bf16.temb / bf16.timestep_proj / bf16.text_embed / bf16.block.N.out": "same points, bf16 model "
                                                                                   "(temb is fp32 there)",
        }
        m.add(os.path.join(ddir, "config.json"), f"{name}: WanTransformer3DModel config ({spec['cfg']['num_layers']} "
              f"layers, {spec['cfg']['num_attention_heads']} heads x 32, ffn {spec['cfg']['ffn_dim']}, "
              f"text_dim {text_dim})", "exact")
        m.add(os.path.join(ddir, "diffusion_pytorch_model.safetensors"),
              f"{name}: diffusers-layout weights, fp32 (random, seeded, non-degenerate)", "exact")

        extra_meta = {"config": spec["cfg"], "latent_shape": list(spec["latent"]), "timestep": str(spec["timestep"])}
        if spec["layouts"]:
            orig = state_dict_to_original(sd)
            back = convert_wan_transformer_to_diffusers(dict(orig))
            assert set(back) == set(sd), set(back) ^ set(sd)
            assert all(torch.equal(back[k], sd[k]) for k in sd)
            comfy = {COMFY_PREFIX + k: v for k, v in orig.items()}
            back2 = convert_wan_transformer_to_diffusers(dict(comfy))
            assert set(back2) == set(sd)
            p_orig = save_safetensors(os.path.join(base, "wan_original.safetensors"), orig, "dit",
                                      f"{name} weights, original Wan2.1 names, fp32")
            p_comfy = save_safetensors(os.path.join(base, "comfyui.safetensors"), comfy, "dit",
                                       f"{name} weights, ComfyUI names (model.diffusion_model. prefix), fp32")
            # diffusers' own single-file loader must read the ComfyUI file back to the same weights
            msf = WanTransformer3DModel.from_single_file(p_comfy, config=ddir, torch_dtype=torch.float32)
            sfd = msf.state_dict()
            assert set(sfd) == set(sd) and all(torch.equal(sfd[k], sd[k]) for k in sd), "from_single_file mismatch"
            q, deq = quantize_fp8_scaled(orig)
            p_fp8 = save_safetensors(os.path.join(base, "comfyui_fp8_scaled.safetensors"), q, "dit",
                                     f"{name} weights, original names, block linears scaled fp8 e4m3fn")
            # the diffusers model with the dequantized weights
            deq_d = convert_wan_transformer_to_diffusers(dict(deq))
            mq = WanTransformer3DModel.from_pretrained(ddir, torch_dtype=torch.float32).eval()
            mq.load_state_dict(deq_d, strict=True)
            outq, _ = run(mq, x, t, ctx)
            io["out.fp8_dequant.fp32"] = f32(outq)
            stats("out.fp8_dequant - out.fp32", outq - out32)
            tensors_doc["out.fp8_dequant.fp32"] = ("F32 [1,16,F,H,W] fp32 diffusers model loaded with the "
                                                   "dequantized (W8*scale_weight) weights of comfyui_fp8_scaled")
            n_q = sum(1 for k in orig if BLOCK_LINEAR_RE.match(k))
            m.add(p_orig, f"{name}: same weights under the original Wan2.1 names (reverse of diffusers' "
                  "convert_wan_transformer_to_diffusers, checked to round-trip)", "exact")
            m.add(p_comfy, f"{name}: same weights, original names prefixed 'model.diffusion_model.' (ComfyUI)",
                  "exact")
            m.add(p_fp8, f"{name}: ComfyUI-style scaled fp8: {n_q} block linear weights F8_E4M3 with 0-d F32 "
                  "'<layer>.scale_weight' (W = W8*scale, scale = amax/448), other tensors F32, 'scaled_fp8' marker "
                  "= empty F8_E4M3 tensor [0]", "exact")

        io_path = save_safetensors(os.path.join(base, "io.safetensors"), io, "dit",
                                   f"{name} inputs, outputs and intermediates", extra_meta)
        m.add(io_path, f"{name}: inputs, fp32/bf16 outputs and forward-hook intermediates", "f32",
              tensors=tensors_doc,
              tensor_tolerance={"in.*": "exact", "out.bf16*": "bf16", "bf16.*": "bf16"})
    m.write()


if __name__ == "__main__":
    sys.exit(main())

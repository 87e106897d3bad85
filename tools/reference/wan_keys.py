"""DiT key names: diffusers WanTransformer3DModel <-> original Wan2.1 (and ComfyUI) names.

to_original() is our own reverse map; gen_dit.py checks that diffusers'
convert_wan_transformer_to_diffusers() maps its output back to the exact diffusers state dict.
"""
import re

COMFY_PREFIX = "model.diffusion_model."

_GLOBAL = {
    "condition_embedder.time_embedder.linear_1.": "time_embedding.0.",
    "condition_embedder.time_embedder.linear_2.": "time_embedding.2.",
    "condition_embedder.text_embedder.linear_1.": "text_embedding.0.",
    "condition_embedder.text_embedder.linear_2.": "text_embedding.2.",
    "condition_embedder.time_proj.": "time_projection.1.",
    "patch_embedding.": "patch_embedding.",
    "proj_out.": "head.head.",
}

_BLOCK = [  # (diffusers suffix regex, original suffix)
    (r"attn1\.to_q\.(weight|bias)", r"self_attn.q.\1"),
    (r"attn1\.to_k\.(weight|bias)", r"self_attn.k.\1"),
    (r"attn1\.to_v\.(weight|bias)", r"self_attn.v.\1"),
    (r"attn1\.to_out\.0\.(weight|bias)", r"self_attn.o.\1"),
    (r"attn1\.norm_q\.weight", r"self_attn.norm_q.weight"),
    (r"attn1\.norm_k\.weight", r"self_attn.norm_k.weight"),
    (r"attn2\.to_q\.(weight|bias)", r"cross_attn.q.\1"),
    (r"attn2\.to_k\.(weight|bias)", r"cross_attn.k.\1"),
    (r"attn2\.to_v\.(weight|bias)", r"cross_attn.v.\1"),
    (r"attn2\.to_out\.0\.(weight|bias)", r"cross_attn.o.\1"),
    (r"attn2\.norm_q\.weight", r"cross_attn.norm_q.weight"),
    (r"attn2\.norm_k\.weight", r"cross_attn.norm_k.weight"),
    (r"norm2\.(weight|bias)", r"norm3.\1"),  # diffusers norm2 (affine, before cross-attn) is the original norm3
    (r"ffn\.net\.0\.proj\.(weight|bias)", r"ffn.0.\1"),
    (r"ffn\.net\.2\.(weight|bias)", r"ffn.2.\1"),
    (r"scale_shift_table", r"modulation"),
]

# original names of the 2-D linear weights inside blocks (the ones fp8 "scaled" files quantize)
BLOCK_LINEAR_RE = re.compile(r"^blocks\.\d+\.(self_attn|cross_attn)\.[qkvo]\.weight$|^blocks\.\d+\.ffn\.[02]\.weight$")


def to_original(name):
    if name == "scale_shift_table":
        return "head.modulation"
    m = re.match(r"^blocks\.(\d+)\.(.*)$", name)
    if m:
        n, rest = m.groups()
        for pat, rep in _BLOCK:
            if re.fullmatch(pat, rest):
                return f"blocks.{n}." + re.sub(pat, rep, rest)
        raise KeyError(name)
    for k, v in _GLOBAL.items():
        if name.startswith(k):
            return v + name[len(k):]
    raise KeyError(name)


def state_dict_to_original(sd):
    out = {}
    for k, v in sd.items():
        ok = to_original(k)
        assert ok not in out, ok
        out[ok] = v
    return out

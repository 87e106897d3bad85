"""Pipeline fixture: WanPipeline end to end on the tiny components (all fp32, CPU).

Components are loaded from the other fixtures (tokenizer/, umt5/tiny/, dit/tiny_a/diffusers/, vae/tiny/diffusers/,
scheduler/unipc_shift3/), so run after gen_tokenizer, gen_umt5, gen_dit, gen_vae and gen_schedulers.
Writes tests/fixtures/pipeline/tiny/{call.json, io.safetensors}.
"""
import os
import shutil
import sys

import numpy as np
import torch

from common import FIX, Manifest, f32, save_safetensors, setup, stats, write_json

COMPONENTS = {
    "tokenizer": "tokenizer",
    "text_encoder": "umt5/tiny",
    "transformer": "dit/tiny_a/diffusers",
    "vae": "vae/tiny/diffusers",
    "scheduler": "scheduler/unipc_shift3",
}
CALL = dict(
    prompt="A red fox running through a snowy forest at dawn, cinematic lighting, slow motion. Un renard roux 🦊",
    negative_prompt="Bright tones, overexposed, static, blurred details, subtitles, worst quality, 色调艳丽，过曝",
    height=32, width=48, num_frames=5, num_inference_steps=3, guidance_scale=5.0, max_sequence_length=512,
)
SEED = 42


def load_pipe():
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import AutoTokenizer, UMT5EncoderModel
    p = {k: os.path.join(FIX, v) for k, v in COMPONENTS.items()}
    pipe = WanPipeline(
        tokenizer=AutoTokenizer.from_pretrained(p["tokenizer"]),
        text_encoder=UMT5EncoderModel.from_pretrained(p["text_encoder"], torch_dtype=torch.float32).eval(),
        transformer=WanTransformer3DModel.from_pretrained(p["transformer"], torch_dtype=torch.float32).eval(),
        vae=AutoencoderKLWan.from_pretrained(p["vae"], torch_dtype=torch.float32).eval(),
        scheduler=UniPCMultistepScheduler.from_pretrained(p["scheduler"]),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def main():
    setup(7)
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean
    base = os.path.join(FIX, "pipeline", "tiny")
    if os.path.isdir(base):
        shutil.rmtree(base)
    pipe = load_pipe()

    calls = []

    def pre_hook(mod, args, kwargs):
        calls.append({"hidden_states": kwargs["hidden_states"].detach().clone(),
                      "timestep": kwargs["timestep"].detach().clone(),
                      "encoder_hidden_states": kwargs["encoder_hidden_states"].detach().clone()})

    def post_hook(mod, args, kwargs, out):
        calls[-1]["out"] = out[0].detach().clone()

    h1 = pipe.transformer.register_forward_pre_hook(pre_hook, with_kwargs=True)
    h2 = pipe.transformer.register_forward_hook(post_hook, with_kwargs=True)
    step_latents = []

    def on_step(p, i, t, kw):
        step_latents.append(kw["latents"].detach().clone())
        return {}

    out_lat = pipe(**CALL, generator=torch.Generator("cpu").manual_seed(SEED), output_type="latent",
                   callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=["latents"]).frames
    h1.remove()
    h2.remove()
    out_np = pipe(**CALL, generator=torch.Generator("cpu").manual_seed(SEED), output_type="np").frames
    frames = np.asarray(out_np, dtype=np.float32)              # [1, F, H, W, 3] in [0, 1]
    frames_u8 = (frames * 255).round().astype("uint8")         # diffusers numpy_to_pil conversion

    # prompt embeddings as the pipeline computes them
    pe, ne = pipe.encode_prompt(prompt=CALL["prompt"], negative_prompt=CALL["negative_prompt"],
                                do_classifier_free_guidance=True, max_sequence_length=512,
                                device=torch.device("cpu"))
    steps = CALL["num_inference_steps"]
    assert len(calls) == 2 * steps, len(calls)
    assert torch.equal(calls[0]["encoder_hidden_states"], pe) and torch.equal(calls[1]["encoder_hidden_states"], ne)
    F = (CALL["num_frames"] - 1) // 4 + 1
    shape = (1, 16, F, CALL["height"] // 8, CALL["width"] // 8)
    init = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(SEED), dtype=torch.float32)
    assert torch.equal(calls[0]["hidden_states"], init)
    assert torch.equal(step_latents[-1], out_lat)

    # re-decode the final latents by hand to expose the VAE input and raw output
    vae = pipe.vae
    mean = torch.tensor(vae.config.latents_mean).view(1, 16, 1, 1, 1)
    inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, 16, 1, 1, 1)
    z = out_lat / inv_std + mean
    video = vae.decode(z, return_dict=False)[0]
    frames_chk = (video / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 4, 1).numpy()
    assert np.array_equal(frames_chk, frames), np.abs(frames_chk - frames).max()

    tok = pipe.tokenizer
    ids = {}
    for name, text in (("prompt", CALL["prompt"]), ("negative_prompt", CALL["negative_prompt"])):
        enc = tok(prompt_clean(text), padding="max_length", max_length=512, truncation=True,
                  add_special_tokens=True, return_attention_mask=True, return_tensors="pt")
        ids[name] = enc
    t = {
        "prompt.input_ids": ids["prompt"].input_ids[0].to(torch.int32),
        "prompt.attention_mask": ids["prompt"].attention_mask[0].to(torch.int32),
        "negative_prompt.input_ids": ids["negative_prompt"].input_ids[0].to(torch.int32),
        "negative_prompt.attention_mask": ids["negative_prompt"].attention_mask[0].to(torch.int32),
        "prompt_embeds": f32(pe), "negative_prompt_embeds": f32(ne),
        "latents.init": f32(init),
        "timesteps": torch.stack([c["timestep"] for c in calls[::2]]).reshape(-1),
        "sigmas": pipe.scheduler.sigmas.to(torch.float32),
        "latents.final": f32(out_lat),
        "vae.input": f32(z), "vae.output": f32(video),
        "frames.f32": torch.from_numpy(frames.copy()), "frames.u8": torch.from_numpy(frames_u8.copy()),
    }
    for i in range(steps):
        t[f"step{i}.noise_pred_cond"] = f32(calls[2 * i]["out"])
        t[f"step{i}.noise_pred_uncond"] = f32(calls[2 * i + 1]["out"])
        t[f"step{i}.latents_in"] = f32(calls[2 * i]["hidden_states"])
        t[f"step{i}.latents_out"] = f32(step_latents[i])
    stats("latents.final", out_lat)
    stats("frames.f32", torch.from_numpy(frames))
    call = dict(CALL, seed=SEED, generator="torch.Generator('cpu').manual_seed(seed)",
                prompt_clean=prompt_clean(CALL["prompt"]), negative_prompt_clean=prompt_clean(CALL["negative_prompt"]),
                components={k: v for k, v in COMPONENTS.items()}, dtypes="all components float32",
                latent_shape=list(shape))
    cpath = os.path.join(base, "call.json")
    write_json(cpath, call)
    p = save_safetensors(os.path.join(base, "io.safetensors"), t, "pipeline", "WanPipeline end-to-end, tiny",
                         {"call": call})
    m = Manifest("pipeline")
    m.add(cpath, "WanPipeline call arguments, seed and the fixture paths of its components", "exact")
    m.add(p, "WanPipeline(tiny tokenizer, UMT5, DiT tiny_a, VAE, UniPC shift 3): 3 steps, CFG 5.0, seed 42, "
          "32x48, 5 frames; embeddings, per-step latents and noise predictions, final latents, frames",
          "f32", tensor_tolerance={"*.input_ids": "exact", "*.attention_mask": "exact", "latents.init": "exact",
                                   "timesteps": "exact", "sigmas": "scheduler_1e-6", "frames.u8": "uint8_psnr40"},
          tensors={
              "{prompt,negative_prompt}.input_ids / .attention_mask": "I32 [512] after prompt_clean, padded",
              "prompt_embeds / negative_prompt_embeds": "F32 [1,512,64] encode_prompt output (rows >= n zero)",
              "latents.init": "F32 [1,16,2,4,6] randn from Generator('cpu').manual_seed(42); exact",
              "timesteps": "I64 [3] scheduler timesteps used", "sigmas": "F32 [4] scheduler sigmas",
              "step{i}.latents_in": "F32 [1,16,2,4,6] transformer input at step i",
              "step{i}.noise_pred_cond / _uncond": "F32 [1,16,2,4,6] transformer outputs (CFG: u + 5 (c - u))",
              "step{i}.latents_out": "F32 [1,16,2,4,6] scheduler.step output",
              "latents.final": "F32 [1,16,2,4,6] output_type='latent'",
              "vae.input": "F32 [1,16,2,4,6] latents / (1/std) + mean", "vae.output": "F32 [1,3,5,32,48] decode",
              "frames.f32": "F32 [1,5,32,48,3] output_type='np' frames in [0,1]",
              "frames.u8": "U8 [1,5,32,48,3] (frames*255).round() as diffusers' numpy_to_pil; uint8_psnr40",
          })
    m.write()


if __name__ == "__main__":
    sys.exit(main())

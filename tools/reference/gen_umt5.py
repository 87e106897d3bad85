"""UMT5 encoder fixtures: a tiny random UMT5EncoderModel (HF layout, sharded) + hidden states.

Writes tests/fixtures/umt5/tiny/:
  config.json, model-0000N-of-0000M.safetensors, model.safetensors.index.json   (save_pretrained, sharded)
  io.safetensors   prompts tokenized/padded to 512 as WanPipeline does; encoder outputs in fp32 and bf16
"""
import os
import shutil
import sys
from types import SimpleNamespace

import torch

from common import FIX, Manifest, f32, save_safetensors, setup, stats, write_json
from tiny_init import init_module

SEQ = 512
D_MODEL = 64

PROMPTS = [
    "",
    "A red fox running through a snowy forest, cinematic lighting, slow motion.",
    "Un chat dort paisiblement sur le rebord de la fenêtre. 一只小猫在窗台上睡觉，窗外下着小雨。 고양이 🐱 &amp; café",
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
    "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
    "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走",
    None,  # long prompt, filled in below (> 512 tokens, truncated)
]


def long_prompt():
    words = ("The camera slowly pans across a quiet harbor at dawn while fishing boats drift past and gulls "
             "circle above the water, light mist over the pier, cinematic, 35mm film, golden hour. ")
    return words * 30


def vocab_size_for(n_tokens):
    # the real umt5-xxl embeds 256384 rows for a 256300-token tokenizer: round up to a multiple of 128
    return (n_tokens + 127) // 128 * 128


def main():
    setup(1)
    from transformers import AutoTokenizer, UMT5Config, UMT5EncoderModel
    from diffusers import WanPipeline
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean

    tok_dir = os.path.join(FIX, "tokenizer")
    tok = AutoTokenizer.from_pretrained(tok_dir)
    out_dir = os.path.join(FIX, "umt5", "tiny")
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)

    cfg = UMT5Config(
        vocab_size=vocab_size_for(len(tok)), d_model=D_MODEL, d_kv=16, d_ff=160, num_layers=2, num_decoder_layers=2,
        num_heads=4, relative_attention_num_buckets=32, relative_attention_max_distance=128, dropout_rate=0.0,
        layer_norm_epsilon=1e-6, feed_forward_proj="gated-gelu", is_encoder_decoder=False, use_cache=False,
        tie_word_embeddings=True, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        tokenizer_class="T5Tokenizer", scalable_attention=False,
    )
    model = UMT5EncoderModel(cfg).eval()
    init_module(model, seed=1001, overrides=[
        ("relative_attention_bias", lambda n, s, g: 0.5 * torch.randn(s, generator=g)),
    ])
    model.save_pretrained(out_dir, max_shard_size="400KB", safe_serialization=True)
    shards = sorted(f for f in os.listdir(out_dir) if f.endswith(".safetensors"))
    assert len(shards) >= 2 and os.path.exists(os.path.join(out_dir, "model.safetensors.index.json")), shards

    # reload exactly as a pipeline would
    m32 = UMT5EncoderModel.from_pretrained(out_dir, torch_dtype=torch.float32).eval()
    m16 = UMT5EncoderModel.from_pretrained(out_dir, torch_dtype=torch.bfloat16).eval()  # keeps 'wo' in fp32
    m16_all = UMT5EncoderModel.from_pretrained(out_dir, torch_dtype=torch.float32).eval().to(torch.bfloat16)
    wo_dtype = m16.encoder.block[0].layer[1].DenseReluDense.wo.weight.dtype

    prompts = list(PROMPTS)
    prompts[-1] = long_prompt()
    cleaned = [prompt_clean(p) for p in prompts]
    enc = tok(cleaned, padding="max_length", max_length=SEQ, truncation=True, add_special_tokens=True,
              return_attention_mask=True, return_tensors="pt")
    ids, mask = enc.input_ids, enc.attention_mask
    full_len = [len(tok(c)["input_ids"]) for c in cleaned]
    assert full_len[-1] > SEQ, full_len
    seq_lens = mask.sum(1)

    def pipe_embeds(te):
        fake = SimpleNamespace(tokenizer=tok, text_encoder=te, _execution_device=torch.device("cpu"))
        return WanPipeline._get_t5_prompt_embeds(fake, prompt=prompts, num_videos_per_prompt=1,
                                                 max_sequence_length=SEQ, device=torch.device("cpu"), dtype=None)

    raw32 = m32(input_ids=ids, attention_mask=mask).last_hidden_state
    pad32 = pipe_embeds(m32)
    raw16 = m16(input_ids=ids, attention_mask=mask).last_hidden_state
    pad16 = pipe_embeds(m16)
    raw16_all = m16_all(input_ids=ids, attention_mask=mask).last_hidden_state

    # consistency with the pipeline's own code path
    for b in range(len(prompts)):
        n = int(seq_lens[b])
        assert torch.equal(pad32[b, :n], raw32[b, :n]) and torch.all(pad32[b, n:] == 0)
        assert torch.equal(pad16[b, :n], raw16[b, :n]) and torch.all(pad16[b, n:] == 0)

    # per-layer hidden states for prompt 1 (fp32) to localise mismatches
    hs = m32(input_ids=ids[1:2], attention_mask=mask[1:2], output_hidden_states=True).hidden_states
    rel = torch.arange(-600, 601)
    attn0 = m32.encoder.block[0].layer[0].SelfAttention
    buckets = attn0._relative_position_bucket(rel)

    tensors = {
        "input_ids": ids.to(torch.int32), "attention_mask": mask.to(torch.int32), "seq_lens": seq_lens.to(torch.int32),
        "full_token_counts": torch.tensor(full_len, dtype=torch.int32),
        "fp32.raw": f32(raw32), "fp32.padded": f32(pad32),
        "bf16.raw": raw16.to(torch.bfloat16).contiguous(), "bf16.padded": pad16.to(torch.bfloat16).contiguous(),
        "bf16_all.raw": raw16_all.to(torch.bfloat16).contiguous(),
        "rel_pos": rel.to(torch.int32), "rel_bucket": buckets.to(torch.int32),
    }
    for i, h in enumerate(hs):
        tensors[f"fp32.p1.hidden.{i}"] = f32(h[0])
    for k in ["fp32.raw", "bf16.raw", "fp32.p1.hidden.0"]:
        stats(k, tensors[k])
    io_path = os.path.join(out_dir, "io.safetensors")
    save_safetensors(io_path, tensors, "umt5", "tiny UMT5 encoder inputs/outputs",
                     {"prompts": prompts, "prompts_clean": cleaned, "max_sequence_length": str(SEQ),
                      "bf16_wo_dtype": str(wo_dtype)})
    write_json(os.path.join(out_dir, "prompts.json"), {"prompts": prompts, "prompts_clean": cleaned})

    m = Manifest("umt5")
    m.add(os.path.join(out_dir, "config.json"), "UMT5Config of the tiny encoder (d_model 64, 2 layers, 4 heads x 16, "
          "d_ff 160, gated-gelu, 32 buckets, max distance 128)", "exact")
    for s in shards:
        m.add(os.path.join(out_dir, s), "UMT5EncoderModel weights shard (HF layout, fp32)", "exact")
    m.add(os.path.join(out_dir, "model.safetensors.index.json"), "HF shard index (weight_map)", "exact")
    m.add(os.path.join(out_dir, "prompts.json"), "the 5 prompts of io.safetensors, raw and prompt_clean()ed",
          "exact")
    B = len(prompts)
    tol = {"input_ids": "exact", "attention_mask": "exact", "seq_lens": "exact", "full_token_counts": "exact",
           "rel_*": "exact", "bf16.*": "bf16", "bf16_all.*": "bf16"}
    m.add(io_path, f"{B} prompts (empty, English, multilingual+emoji+entity, Chinese negative prompt, >512 tokens "
          "truncated) tokenized as WanPipeline (prompt_clean, pad/truncate to 512) and encoded", "f32",
          tensor_tolerance=tol, tensors={
              "input_ids": f"I32 [B={B},512] padded token ids",
              "attention_mask": f"I32 [B,512] 1 for tokens, 0 for padding",
              "seq_lens": "I32 [B] number of real tokens (incl. </s>)",
              "full_token_counts": "I32 [B] token count before truncation",
              "fp32.raw": "F32 [B,512,64] last_hidden_state, fp32 model (rows past seq_len are NOT zero)",
              "fp32.padded": "F32 [B,512,64] WanPipeline _get_t5_prompt_embeds: rows [0,n) of raw, rest zero",
              "bf16.raw": "BF16 [B,512,64] last_hidden_state, from_pretrained(torch_dtype=bf16): all bf16 except "
                          "the FFN 'wo' kept fp32 (_keep_in_fp32_modules); tolerance bf16",
              "bf16.padded": "BF16 [B,512,64] pipeline-style zero-padded bf16 output; tolerance bf16",
              "bf16_all.raw": "BF16 [B,512,64] model.to(bfloat16) (wo also bf16); tolerance bf16",
              "fp32.p1.hidden.{0,1,2}": "F32 [512,64] prompt 1 (output_hidden_states): token embeddings, after "
                                         "layer 0, after layer 1 + final_layer_norm (= fp32.raw[1])",
              "rel_pos": "I32 [1201] relative positions key-query, -600..600",
              "rel_bucket": "I32 [1201] UMT5 bidirectional bucket (32 buckets, max distance 128) of rel_pos",
          })
    m.write()


if __name__ == "__main__":
    sys.exit(main())

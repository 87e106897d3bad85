"""Tokenizer fixtures: a tiny T5-style SentencePiece Unigram model + slow/fast ids.

Writes tests/fixtures/tokenizer/:
  spiece.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json  (save_pretrained of the
      T5TokenizerFast converted from the slow T5Tokenizer, i.e. transformers' own conversion)
  cases.json   every test prompt with slow ids, fast ids (</s> appended, no padding/truncation), the
      WanPipeline-cleaned text and the fast ids of the cleaned text.
"""
import io
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm

from common import FIX, Manifest, fix_path, setup, write_json
from corpus import corpus_lines
from prompts import all_prompts

VOCAB_SIZE = 3000
EXTRA_IDS = 100


def train_spm(out_path):
    lines = corpus_lines()
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="unigram",
        vocab_size=VOCAB_SIZE,
        normalization_rule_name="nmt_nfkc",
        byte_fallback=False,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        character_coverage=1.0,
        num_threads=1,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        max_sentence_length=100000,
        add_dummy_prefix=True,
        remove_extra_whitespaces=True,
        split_digits=False,
        minloglevel=2,
    )
    with open(out_path, "wb") as f:
        f.write(model.getvalue())


def main():
    setup(0)
    from transformers import T5Tokenizer, T5TokenizerFast
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean

    out_dir = os.path.join(FIX, "tokenizer")
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    tmp = tempfile.mkdtemp(prefix="vgen-spm-")
    sp_path = os.path.join(tmp, "spiece.model")
    train_spm(sp_path)

    slow = T5Tokenizer(vocab_file=sp_path, extra_ids=EXTRA_IDS, legacy=True)
    # add_prefix_space=True: the slow tokenizer's default. Left as None, transformers 4.57 hands None to the
    # converter, which then writes Metaspace(prepend_scheme="never") and the fast tokenizer stops matching the slow
    # one (and google/umt5-xxl's tokenizer.json, which prepends "▁" always).
    fast = T5TokenizerFast(vocab_file=sp_path, extra_ids=EXTRA_IDS, from_slow=True, legacy=True, add_prefix_space=True)
    # save_pretrained of the fast tokenizer writes tokenizer.json plus spiece.model (it can still save the slow one)
    fast.save_pretrained(out_dir)
    for junk in ["added_tokens.json"]:
        p = os.path.join(out_dir, junk)
        if os.path.exists(p):
            os.remove(p)
    shutil.rmtree(tmp)
    # Drop add_prefix_space from tokenizer_config.json: with it present, AutoTokenizer ignores tokenizer.json and
    # re-converts from spiece.model on every load. google/umt5-xxl's config has no such key; without it the fast
    # tokenizer is read from tokenizer.json (Metaspace prepend_scheme "always") as in the real repos.
    cfg_path = os.path.join(out_dir, "tokenizer_config.json")
    with open(cfg_path, encoding="utf-8") as f:
        cfg = json.load(f)
    cfg.pop("add_prefix_space", None)
    with open(cfg_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(cfg, indent=2, sort_keys=True, ensure_ascii=False) + "\n")

    # reload from disk exactly as the pipeline would (AutoTokenizer -> T5TokenizerFast from tokenizer.json)
    from transformers import AutoTokenizer
    fast_disk = AutoTokenizer.from_pretrained(out_dir)
    slow_disk = T5Tokenizer.from_pretrained(out_dir, legacy=True)
    assert type(fast_disk).__name__ == "T5TokenizerFast", type(fast_disk)
    assert len(fast_disk) == len(slow_disk) == VOCAB_SIZE + EXTRA_IDS, (len(fast_disk), len(slow_disk))

    cases = []
    disagree = []
    for cat, text in all_prompts():
        s_ids = slow_disk(text, add_special_tokens=True)["input_ids"]
        f_ids = fast_disk(text, add_special_tokens=True)["input_ids"]
        clean = prompt_clean(text)
        c_ids = fast_disk(clean, add_special_tokens=True)["input_ids"]
        c = {"category": cat, "prompt": text, "slow": s_ids, "fast": f_ids,
             "slow_eq_fast": s_ids == f_ids, "clean": clean, "clean_fast": c_ids}
        cases.append(c)
        if s_ids != f_ids:
            disagree.append(len(cases) - 1)
    n_long = sum(1 for c in cases if len(c["fast"]) > 512)
    print(f"tokenizer: {len(cases)} prompts, {len(disagree)} slow!=fast, {n_long} longer than 512 tokens")
    for i in disagree:
        c = cases[i]
        print(f"  slow!=fast [{i}] {c['category']}: {c['prompt']!r}"[:160])
    doc = {
        "about": "ids from T5Tokenizer (slow, sentencepiece) and T5TokenizerFast (tokenizers, from tokenizer.json) "
                 "with add_special_tokens=True (</s> appended), no padding, no truncation. 'clean' is "
                 "diffusers.pipelines.wan.pipeline_wan.prompt_clean(prompt) (ftfy.fix_text, html.unescape twice, "
                 "strip, collapse \\s+); 'clean_fast' are the fast ids of 'clean', which is what WanPipeline "
                 "tokenizes (before padding/truncation to 512).",
        "vocab_size": len(fast_disk), "pad_id": 0, "eos_id": 1, "unk_id": 2,
        "num_cases": len(cases), "slow_fast_disagreements": disagree,
        "cases": cases,
    }
    write_json(os.path.join(out_dir, "cases.json"), doc, indent=None)

    m = Manifest("tokenizer")
    m.add(os.path.join(out_dir, "spiece.model"),
          f"SentencePiece Unigram model ({VOCAB_SIZE} pieces, nmt_nfkc, pad0 eos1 unk2, no bos, no byte fallback) "
          "trained on tools/reference/corpus.py", "exact")
    m.add(os.path.join(out_dir, "tokenizer.json"),
          f"tokenizers JSON from transformers' T5 slow->fast conversion (+{EXTRA_IDS} <extra_id_N> added tokens)",
          "exact")
    m.add(os.path.join(out_dir, "tokenizer_config.json"), "tokenizer_config.json as save_pretrained writes it", "exact")
    m.add(os.path.join(out_dir, "special_tokens_map.json"), "special_tokens_map.json as save_pretrained writes it",
          "exact")
    m.add(os.path.join(out_dir, "cases.json"),
          f"{len(cases)} prompts (ascii, accents, CJK, emoji, HTML entities, odd whitespace, control chars, "
          f">512-token prompts, empty) with slow and fast ids; {len(disagree)} slow!=fast (indices listed)",
          "exact", json_fields={"cases[].prompt": "raw prompt", "cases[].slow": "T5Tokenizer ids incl. </s>",
                                "cases[].fast": "T5TokenizerFast ids incl. </s>",
                                "cases[].clean": "WanPipeline prompt_clean(prompt)",
                                "cases[].clean_fast": "fast ids of clean (what WanPipeline feeds, before pad/trunc)"})
    m.write()


if __name__ == "__main__":
    sys.exit(main())

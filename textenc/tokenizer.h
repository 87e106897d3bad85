/* tokenizer.h - the T5 / UMT5 tokenizer (SentencePiece Unigram) that WanPipeline runs, in C.
 *
 * It reproduces transformers' T5TokenizerFast (tokenizers 0.22.1) from either file of a tokenizer/ directory:
 *   tokenizer.json  read as tokenizers reads it (Unigram model, normalizer, pre-tokenizer, TemplateProcessing,
 *                   added tokens);
 *   spiece.model    converted as transformers' T5Converter converts it to that same fast tokenizer.
 * When both are present tokenizer.json is used. Encoding: special tokens (<pad>, </s>, <unk>, <extra_id_N>, ...)
 * are matched whole in the raw text; the rest is normalized (precompiled charsmap, strip, collapse of spaces),
 * split on '▁' (Metaspace) and segmented by Unigram Viterbi; </s> is appended. docs/tokenizer.md has the details
 * and the known differences from sentencepiece (the "slow" tokenizer).
 *
 * A loaded tokenizer is immutable: share it between threads freely. */
#ifndef VGEN_TEXTENC_TOKENIZER_H
#define VGEN_TEXTENC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct vgen_tokenizer vgen_tokenizer;

/* T5Tokenizer's default number of <extra_id_N> sentinel tokens appended after the spiece.model pieces. */
#define VGEN_TOKENIZER_T5_EXTRA_IDS 100

/* Loads a tokenizer/ directory (tokenizer.json, else spiece.model, whose extra_ids come from the directory's
 * tokenizer_config.json when it has an "extra_ids" number, else 100), or one of those files (a file whose first
 * non-blank byte is '{' is read as tokenizer.json, any other as spiece.model).
 * Errors: VGEN_ERR_NOT_FOUND (no such path, or a directory with neither file), VGEN_ERR_IO, VGEN_ERR_MALFORMED,
 * VGEN_ERR_UNSUPPORTED (e.g. a BPE model: the message names the type and the file), VGEN_ERR_OUT_OF_MEMORY. */
int vgen_tokenizer_load(const char *dir_or_file, vgen_tokenizer **out, vgen_err *err);

/* The same from the bytes of a tokenizer.json / a spiece.model (extra_ids: the <extra_id_N> count, 0..10000). */
int vgen_tokenizer_load_json_buffer(const uint8_t *data, size_t n, vgen_tokenizer **out, vgen_err *err);
int vgen_tokenizer_load_spm_buffer(const uint8_t *data, size_t n, int extra_ids, vgen_tokenizer **out,
                                   vgen_err *err);

/* Frees *t and sets it to NULL; safe on NULL. */
void vgen_tokenizer_free(vgen_tokenizer **t);

/* Token ids of text[0..len) (UTF-8; text may be NULL when len is 0), </s> included, no padding or truncation.
 * *ids is malloc'd (free() it; never NULL on success), *n its length (>= 1: the empty text gives just </s>).
 * Errors: VGEN_ERR_INVALID_ARGUMENT (invalid UTF-8: the message names the byte offset), VGEN_ERR_OUT_OF_MEMORY. */
int vgen_tokenizer_encode(const vgen_tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n,
                          vgen_err *err);

/* What WanPipeline feeds the text encoder: tokenizer(text, padding="max_length", max_length=max_len,
 * truncation=True, add_special_tokens=True). text is NUL-terminated. ids[max_len] gets the ids cut to
 * max_len - (number of template ids, 1 for T5) and then </s>, padded with the pad id (<pad>, 0 for T5);
 * mask[max_len] gets 1 for tokens and 0 for padding; *n_tokens the number of tokens (the 1s in mask).
 * Errors: as vgen_tokenizer_encode; VGEN_ERR_INVALID_ARGUMENT if max_len is smaller than the template's ids, or
 * the tokenizer has no <pad>. */
int vgen_tokenizer_encode_padded(const vgen_tokenizer *t, const char *text, size_t max_len, int32_t *ids,
                                 uint8_t *mask, size_t *n_tokens, vgen_err *err);

/* 1 + the largest id the tokenizer can produce (3100 for the fixture); the text encoder's embedding table must
 * have at least this many rows. */
size_t vgen_tokenizer_vocab_size(const vgen_tokenizer *t);

/* The padding id (-1: none). */
int32_t vgen_tokenizer_pad_id(const vgen_tokenizer *t);

#endif

/* tokenizer_impl.h - the loaded tokenizer and the description both loaders (tokenizer.json, spiece.model) fill
 * in, so encoding has one code path. The pipeline mirrors tokenizers 0.22.1:
 *   added tokens split out of the raw text -> normalizer steps -> pre-tokenizer steps -> Unigram -> template */
#ifndef VGEN_TEXTENC_TOKENIZER_IMPL_H
#define VGEN_TEXTENC_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "spm_charsmap.h"
#include "tokenizer.h"
#include "tokenizer_trie.h"
#include "tokenizer_unigram.h"
#include "utf8.h"

#define VGEN_METASPACE_CHAR 0x2581u /* '▁' */

typedef enum vgen_norm_kind { VGEN_NORM_PRECOMPILED, VGEN_NORM_STRIP, VGEN_NORM_REPLACE } vgen_norm_kind;

typedef struct vgen_norm_step {
    vgen_norm_kind kind;
    vgen_spm_charsmap charsmap;  /* PRECOMPILED */
    int strip_left, strip_right; /* STRIP */
    int regex_spaces;            /* REPLACE: the pattern is the regex " {2,}" (runs of 2+ spaces)... */
    vgen_bytes pattern;          /* ...else this literal, non-empty string */
    vgen_bytes content;          /* REPLACE: what each match becomes */
} vgen_norm_step;

typedef enum vgen_prepend { VGEN_PREPEND_NEVER, VGEN_PREPEND_ALWAYS, VGEN_PREPEND_FIRST } vgen_prepend;
typedef enum vgen_pretok_kind { VGEN_PRETOK_METASPACE, VGEN_PRETOK_WHITESPACE_SPLIT } vgen_pretok_kind;

typedef struct vgen_pretok_step {
    vgen_pretok_kind kind;
    uint32_t replacement; /* METASPACE: the character spaces become */
    vgen_prepend prepend; /* METASPACE */
    int split;            /* METASPACE: split before each replacement character (merged with what follows) */
} vgen_pretok_step;

typedef struct vgen_added_token {
    const uint8_t *content; /* not owned; valid while the loader's input is */
    size_t len;
    int32_t id;             /* assigned by vgen_tok_build as tokenizers does (the JSON "id" is only advisory) */
    int normalized;         /* matched in the normalized text rather than the raw one */
} vgen_added_token;

/* What a loader describes; vgen_tok_build turns it into a vgen_tokenizer and takes the steps it owns. */
typedef struct vgen_tok_spec {
    vgen_unigram_piece *pieces; /* [n_pieces], strings not owned */
    size_t n_pieces;
    int32_t unk_id;             /* -1: none */
    int byte_fallback;
    vgen_norm_step *norm;       /* owned */
    size_t n_norm;
    vgen_pretok_step *pretok;   /* owned */
    size_t n_pretok;
    vgen_added_token *added;    /* owned array, strings not owned */
    size_t n_added;
    int32_t *post;              /* owned template for one sequence: -1 stands for the sequence, else an id */
    size_t n_post;
    const char *what;           /* file name for messages */
} vgen_tok_spec;

struct vgen_tokenizer {
    vgen_unigram model;
    vgen_norm_step *norm;
    size_t n_norm;
    vgen_pretok_step *pretok;
    size_t n_pretok;
    vgen_tok_trie added_raw, added_norm; /* empty tries when there are none */
    int32_t *post;
    size_t n_post, n_special;            /* template length; ids it adds */
    int32_t pad_id;                      /* id of "<pad>" (added tokens, then vocabulary), -1 if none */
    size_t vocab_size;                   /* 1 + the largest id */
};

void vgen_tok_spec_free(vgen_tok_spec *spec);

/* Builds *out from spec (whose owned parts move into *out, or are freed on error; spec is left empty): the
 * Unigram model, the added tokens' ids (content already in the vocabulary: its id, else the next new id, as
 * tokenizers' AddedVocabulary::add_tokens assigns them), the pad id, and the checks that need all of them. */
int vgen_tok_build(vgen_tok_spec *spec, vgen_tokenizer **out, vgen_err *err);

/* The two loaders; what names the file in messages. */
int vgen_tok_load_json_named(const uint8_t *data, size_t n, const char *what, vgen_tokenizer **out, vgen_err *err);
int vgen_tok_load_spm_named(const uint8_t *data, size_t n, int extra_ids, const char *what, vgen_tokenizer **out,
                            vgen_err *err);

void vgen_norm_steps_free(vgen_norm_step *steps, size_t n);

/* Applies the normalizer steps to s[0..n), replacing *out's contents. */
int vgen_tok_normalize(const vgen_norm_step *steps, size_t n_steps, const uint8_t *s, size_t n, vgen_bytes *out);

/* A list of pieces of text, each a range of one buffer. */
typedef struct vgen_piece {
    size_t off, len;
    int first; /* starts at byte 0 of the input (Metaspace prepend_scheme "first") */
} vgen_piece;

typedef struct vgen_pieces {
    vgen_bytes text;
    vgen_piece *p;
    size_t n, cap;
} vgen_pieces;

int vgen_pieces_add(vgen_pieces *ps, const uint8_t *s, size_t len, int first);
void vgen_pieces_free(vgen_pieces *ps);

/* Runs the pre-tokenizer steps over *ps (replaced by the result). */
int vgen_tok_pretokenize(const vgen_pretok_step *steps, size_t n_steps, vgen_pieces *ps);

/* Rust's char::is_whitespace (the White_Space property). */
int vgen_rust_is_whitespace(uint32_t cp);

#endif

/* tokenizer_build.c - turns a loader's vgen_tok_spec into a vgen_tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"

void vgen_tok_spec_free(vgen_tok_spec *spec) {
    free(spec->pieces);
    vgen_norm_steps_free(spec->norm, spec->n_norm);
    free(spec->pretok);
    free(spec->added);
    free(spec->post);
    const char *what = spec->what;
    *spec = (vgen_tok_spec){.unk_id = -1, .what = what};
}

void vgen_tokenizer_free(vgen_tokenizer **pt) {
    if (!pt || !*pt) return;
    vgen_tokenizer *t = *pt;
    vgen_unigram_free(&t->model);
    vgen_norm_steps_free(t->norm, t->n_norm);
    free(t->pretok);
    vgen_tok_trie_free(&t->added_raw);
    vgen_tok_trie_free(&t->added_norm);
    free(t->post);
    free(t);
    *pt = NULL;
}

static int same_content(const vgen_added_token *a, const vgen_added_token *b) {
    return a->len == b->len && memcmp(a->content, b->content, a->len) == 0;
}

/* tokenizers' AddedVocabulary::add_tokens: a token already in the vocabulary keeps its id, any other gets the
 * next id after the vocabulary (or after the largest added id). A repeated content is one token; repeating it
 * with a different "normalized" flag is refused (tokenizers' outcome then depends on the special flags). */
static int assign_added_ids(vgen_tokenizer *t, vgen_tok_spec *spec, vgen_err *err) {
    int64_t max_id = -1;
    for (size_t i = 0; i < spec->n_added; i++) {
        vgen_added_token *a = &spec->added[i];
        a->id = -1;
        for (size_t j = 0; j < i && a->id < 0; j++) {
            if (!same_content(a, &spec->added[j])) continue;
            if (a->normalized != spec->added[j].normalized)
                return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: added token %zu repeats token %zu with another "
                                    "\"normalized\" flag", spec->what, i, j);
            a->id = spec->added[j].id;
        }
        if (a->id < 0) a->id = vgen_tok_trie_find(&t->model.trie, a->content, a->len);
        if (a->id < 0) {
            int64_t next = max_id >= (int64_t)spec->n_pieces ? max_id + 1 : (int64_t)spec->n_pieces;
            if (next > INT32_MAX) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: too many added tokens", spec->what);
            a->id = (int32_t)next;
        }
        if (a->id > max_id) max_id = a->id;
    }
    return VGEN_OK;
}

/* Tries of the added tokens matched in the raw text and in the normalized text (whose keys are normalized). */
static int build_added(vgen_tokenizer *t, const vgen_tok_spec *spec, vgen_err *err) {
    vgen_trie_key *raw = calloc(spec->n_added + 1, sizeof *raw), *norm = calloc(spec->n_added + 1, sizeof *norm);
    vgen_bytes *texts = calloc(spec->n_added + 1, sizeof *texts);
    size_t n_raw = 0, n_norm = 0;
    int rc = raw && norm && texts ? VGEN_OK : VGEN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < spec->n_added && rc == VGEN_OK; i++) {
        const vgen_added_token *a = &spec->added[i];
        if (a->len == 0) continue; /* tokenizers ignores empty tokens */
        if (!a->normalized) {
            raw[n_raw++] = (vgen_trie_key){a->content, a->len, a->id};
            continue;
        }
        rc = vgen_tok_normalize(t->norm, t->n_norm, a->content, a->len, &texts[i]);
        if (rc == VGEN_OK && texts[i].n) norm[n_norm++] = (vgen_trie_key){texts[i].p, texts[i].n, a->id};
    }
    if (rc != VGEN_OK) vgen_err_set(err, rc, "%s: out of memory for the added tokens", spec->what);
    if (rc == VGEN_OK) rc = vgen_tok_trie_build(&t->added_raw, raw, n_raw, err);
    if (rc == VGEN_OK) rc = vgen_tok_trie_build(&t->added_norm, norm, n_norm, err);
    for (size_t i = 0; texts && i < spec->n_added; i++) vgen_bytes_free(&texts[i]);
    free(texts);
    free(raw);
    free(norm);
    return rc;
}

/* The template's ids must exist; vocab_size covers pieces and added tokens; pad is token_to_id("<pad>"). */
static int finish_ids(vgen_tokenizer *t, const vgen_tok_spec *spec, vgen_err *err) {
    size_t max = spec->n_pieces;
    t->pad_id = vgen_tok_trie_find(&t->model.trie, (const uint8_t *)"<pad>", 5);
    for (size_t i = 0; i < spec->n_added; i++) {
        if ((size_t)spec->added[i].id + 1 > max) max = (size_t)spec->added[i].id + 1;
        if (spec->added[i].len == 5 && memcmp(spec->added[i].content, "<pad>", 5) == 0) t->pad_id = spec->added[i].id;
    }
    for (size_t i = 0; i < t->n_post; i++) {
        if (t->post[i] >= 0 && (size_t)t->post[i] >= max)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: post_processor id %d is not in the vocabulary",
                                spec->what, t->post[i]);
        t->n_special += t->post[i] >= 0;
    }
    t->vocab_size = max;
    return VGEN_OK;
}

/* Metaspace's prepend_scheme "first" depends on where a piece started in the original text; vgen tracks that
 * exactly only when Metaspace is the sole pre-tokenizer and no added token is matched after normalization. */
static int check_first(const vgen_tok_spec *spec, vgen_err *err) {
    int first = 0, normalized_added = 0;
    for (size_t i = 0; i < spec->n_pretok; i++)
        first |= spec->pretok[i].kind == VGEN_PRETOK_METASPACE && spec->pretok[i].prepend == VGEN_PREPEND_FIRST;
    for (size_t i = 0; i < spec->n_added; i++) normalized_added |= spec->added[i].normalized;
    if (first && (spec->n_pretok > 1 || normalized_added))
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: Metaspace prepend_scheme \"first\" is only supported as "
                            "the sole pre-tokenizer and without normalized added tokens", spec->what);
    return VGEN_OK;
}

int vgen_tok_build(vgen_tok_spec *spec, vgen_tokenizer **out, vgen_err *err) {
    *out = NULL;
    int rc = check_first(spec, err);
    vgen_tokenizer *t = rc == VGEN_OK ? calloc(1, sizeof *t) : NULL;
    if (rc == VGEN_OK && !t) rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", spec->what);
    if (rc != VGEN_OK) {
        vgen_tok_spec_free(spec);
        return rc;
    }
    t->norm = spec->norm;
    t->n_norm = spec->n_norm;
    t->pretok = spec->pretok;
    t->n_pretok = spec->n_pretok;
    t->post = spec->post;
    t->n_post = spec->n_post;
    spec->norm = NULL;
    spec->pretok = NULL;
    spec->post = NULL;
    rc = vgen_unigram_init(&t->model, spec->pieces, spec->n_pieces, spec->unk_id, spec->byte_fallback, err);
    if (rc != VGEN_OK) vgen_err_prefix(err, "%s", spec->what);
    if (rc == VGEN_OK) rc = assign_added_ids(t, spec, err);
    if (rc == VGEN_OK) rc = finish_ids(t, spec, err);
    if (rc == VGEN_OK) rc = build_added(t, spec, err);
    vgen_tok_spec_free(spec);
    if (rc != VGEN_OK) {
        vgen_tokenizer_free(&t);
        return rc;
    }
    *out = t;
    return VGEN_OK;
}

size_t vgen_tokenizer_vocab_size(const vgen_tokenizer *t) { return t ? t->vocab_size : 0; }

int32_t vgen_tokenizer_pad_id(const vgen_tokenizer *t) { return t ? t->pad_id : -1; }

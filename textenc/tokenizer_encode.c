/* tokenizer_encode.c - text to ids: added tokens, normalizer, pre-tokenizer, Unigram, template, truncation and
 * padding (tokenizers' Tokenizer::encode followed by its post_process, as transformers calls them). */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"

/* Pre-tokenizes one stretch of normalized text and runs the model on each piece. */
static int encode_normalized_part(const vgen_tokenizer *t, const uint8_t *s, size_t n, int first, vgen_ids *ids,
                                  vgen_err *err) {
    vgen_pieces ps = {0};
    int rc = n ? vgen_pieces_add(&ps, s, n, first) : VGEN_OK;
    if (rc == VGEN_OK) rc = vgen_tok_pretokenize(t->pretok, t->n_pretok, &ps);
    if (rc != VGEN_OK) vgen_err_set(err, rc, "out of memory pre-tokenizing %zu bytes", n);
    for (size_t i = 0; i < ps.n && rc == VGEN_OK; i++)
        rc = vgen_unigram_encode(&t->model, ps.text.p + ps.p[i].off, ps.p[i].len, ids, err);
    vgen_pieces_free(&ps);
    return rc;
}

/* Splits s[0..n) around the added tokens of trie (longest match, leftmost first), encoding the text between them
 * with part() (normalized: already normalized text) and pushing the tokens' ids. */
static int split_added(const vgen_tokenizer *t, const vgen_tok_trie *trie, const uint8_t *s, size_t n, int first,
                       int normalized, vgen_ids *ids, vgen_err *err);

/* Normalizes one stretch of raw text, then splits it on the normalized added tokens. */
static int encode_raw_part(const vgen_tokenizer *t, const uint8_t *s, size_t n, int first, vgen_ids *ids,
                           vgen_err *err) {
    if (n == 0) return VGEN_OK;
    vgen_bytes norm = {0};
    int rc = vgen_tok_normalize(t->norm, t->n_norm, s, n, &norm);
    if (rc != VGEN_OK) rc = vgen_err_set(err, rc, "out of memory normalizing %zu bytes", n);
    if (rc == VGEN_OK) rc = split_added(t, &t->added_norm, norm.p, norm.n, first, 1, ids, err);
    vgen_bytes_free(&norm);
    return rc;
}

static int encode_part(const vgen_tokenizer *t, const uint8_t *s, size_t n, int first, int normalized, vgen_ids *ids,
                       vgen_err *err) {
    return normalized ? encode_normalized_part(t, s, n, first, ids, err) : encode_raw_part(t, s, n, first, ids, err);
}

static int split_added(const vgen_tokenizer *t, const vgen_tok_trie *trie, const uint8_t *s, size_t n, int first,
                       int normalized, vgen_ids *ids, vgen_err *err) {
    size_t start = 0, i = 0;
    while (i < n && trie->n_nodes > 1) {
        int32_t id = -1;
        size_t m = vgen_tok_trie_longest(trie, s + i, n - i, &id);
        if (m == 0) {
            i++;
            continue;
        }
        int rc = encode_part(t, s + start, i - start, first && start == 0, normalized, ids, err);
        if (rc == VGEN_OK && vgen_ids_push(ids, id) != VGEN_OK)
            rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory for token ids");
        if (rc != VGEN_OK) return rc;
        i += m;
        start = i;
    }
    return encode_part(t, s + start, n - start, first && start == 0, normalized, ids, err);
}

/* The ids of text without the template. */
static int encode_sequence(const vgen_tokenizer *t, const char *text, size_t len, vgen_ids *ids, vgen_err *err) {
    if (!t || (!text && len)) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tokenizer: NULL argument");
    const uint8_t *s = (const uint8_t *)text;
    int rc = vgen_utf8_check(s, len, "prompt", err);
    if (rc != VGEN_OK) return rc;
    return split_added(t, &t->added_raw, s, len, 1, 0, ids, err);
}

/* Appends the template to *out with the sequence seq[0..n_seq). */
static int apply_template(const vgen_tokenizer *t, const int32_t *seq, size_t n_seq, vgen_ids *out, vgen_err *err) {
    for (size_t i = 0; i < t->n_post; i++) {
        for (size_t k = 0; k < (t->post[i] < 0 ? n_seq : 1); k++) {
            if (vgen_ids_push(out, t->post[i] < 0 ? seq[k] : t->post[i]) != VGEN_OK)
                return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory for token ids");
        }
    }
    return VGEN_OK;
}

int vgen_tokenizer_encode(const vgen_tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n,
                          vgen_err *err) {
    if (ids) *ids = NULL;
    if (n) *n = 0;
    if (!ids || !n) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tokenizer: NULL argument");
    vgen_ids seq = {0}, out = {0};
    int rc = encode_sequence(t, text, len, &seq, err);
    if (rc == VGEN_OK) rc = apply_template(t, seq.p, seq.n, &out, err);
    if (rc == VGEN_OK && !out.p && vgen_ids_push(&out, 0) == VGEN_OK) out.n = 0; /* never NULL on success */
    free(seq.p);
    if (rc == VGEN_OK && !out.p) rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory for token ids");
    if (rc != VGEN_OK) {
        free(out.p);
        return rc;
    }
    *ids = out.p;
    *n = out.n;
    return VGEN_OK;
}

int vgen_tokenizer_encode_padded(const vgen_tokenizer *t, const char *text, size_t max_len, int32_t *ids,
                                 uint8_t *mask, size_t *n_tokens, vgen_err *err) {
    if (n_tokens) *n_tokens = 0;
    if (!t || !text || !ids || !mask || !n_tokens)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tokenizer: NULL argument");
    if (t->pad_id < 0) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tokenizer: no <pad> token to pad with");
    if (max_len < t->n_special)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                            "tokenizer: max_len %zu is shorter than the %zu ids the template adds", max_len,
                            t->n_special);
    vgen_ids seq = {0}, out = {0};
    int rc = encode_sequence(t, text, strlen(text), &seq, err);
    size_t keep = seq.n < max_len - t->n_special ? seq.n : max_len - t->n_special;
    if (rc == VGEN_OK) rc = apply_template(t, seq.p, keep, &out, err);
    if (rc == VGEN_OK) {
        for (size_t i = 0; i < max_len; i++) {
            ids[i] = i < out.n ? out.p[i] : t->pad_id;
            mask[i] = i < out.n;
        }
        *n_tokens = out.n;
    }
    free(seq.p);
    free(out.p);
    return rc;
}

/* tokenizer_pretok.c - pre-tokenizers: Metaspace (tokenizers 0.22.1 pre_tokenizers/metaspace.rs) and
 * WhitespaceSplit, over a list of pieces. */
#include "tokenizer_impl.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"

int vgen_pieces_add(vgen_pieces *ps, const uint8_t *s, size_t len, int first) {
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap : 16, bytes;
        if (!vgen_mul_size(cap, 2, &cap) || !vgen_mul_size(cap, sizeof(vgen_piece), &bytes))
            return VGEN_ERR_OUT_OF_MEMORY;
        vgen_piece *p = realloc(ps->p, bytes);
        if (!p) return VGEN_ERR_OUT_OF_MEMORY;
        ps->p = p;
        ps->cap = cap;
    }
    size_t off = ps->text.n;
    int rc = vgen_bytes_append(&ps->text, s, len);
    if (rc != VGEN_OK) return rc;
    ps->p[ps->n++] = (vgen_piece){off, len, first};
    return VGEN_OK;
}

void vgen_pieces_free(vgen_pieces *ps) {
    vgen_bytes_free(&ps->text);
    free(ps->p);
    *ps = (vgen_pieces){0};
}

/* Splits s[0..n) before every replacement character that does not follow another one
 * (SplitDelimiterBehavior::MergedWithNext), adding the parts to *out. */
static int split_merged_with_next(const uint8_t *s, size_t n, const uint8_t *rep, size_t rep_len, int first,
                                  vgen_pieces *out) {
    size_t start = 0, i = 0;
    int prev_rep = 0;
    while (i < n) {
        int is_rep = rep_len <= n - i && memcmp(s + i, rep, rep_len) == 0;
        if (is_rep && !prev_rep && i > start) {
            int rc = vgen_pieces_add(out, s + start, i - start, first && start == 0);
            if (rc != VGEN_OK) return rc;
            start = i;
        }
        prev_rep = is_rep;
        i += is_rep ? rep_len : vgen_utf8_len(s[i]);
    }
    return n > start ? vgen_pieces_add(out, s + start, n - start, first && start == 0) : VGEN_OK;
}

static int metaspace(const vgen_pretok_step *st, const uint8_t *s, size_t n, int first, vgen_pieces *out) {
    uint8_t rep[4];
    size_t rep_len = vgen_utf8_encode(st->replacement, rep);
    vgen_bytes t = {0};
    int rc = VGEN_OK;
    int prepend = st->prepend == VGEN_PREPEND_ALWAYS || (st->prepend == VGEN_PREPEND_FIRST && first);
    int starts_with_rep = n > 0 && (s[0] == ' ' || (rep_len <= n && memcmp(s, rep, rep_len) == 0));
    if (prepend && n > 0 && !starts_with_rep) rc = vgen_bytes_append(&t, rep, rep_len);
    for (size_t i = 0; i < n && rc == VGEN_OK; i++)
        rc = s[i] == ' ' ? vgen_bytes_append(&t, rep, rep_len) : vgen_bytes_append(&t, s + i, 1);
    if (rc == VGEN_OK) {
        rc = st->split ? split_merged_with_next(t.p, t.n, rep, rep_len, first, out)
                       : (t.n ? vgen_pieces_add(out, t.p, t.n, first) : VGEN_OK);
    }
    vgen_bytes_free(&t);
    return rc;
}

/* Maximal runs of non-whitespace characters (the whitespace is dropped). */
static int whitespace_split(const uint8_t *s, size_t n, int first, vgen_pieces *out) {
    size_t i = 0;
    while (i < n) {
        size_t start = i, next = i;
        while (i < n && !vgen_rust_is_whitespace(vgen_utf8_next(s, n, &next))) i = next;
        if (i > start) {
            int rc = vgen_pieces_add(out, s + start, i - start, first && start == 0);
            if (rc != VGEN_OK) return rc;
        }
        if (i < n) i = next; /* skip the whitespace character that stopped the run */
    }
    return VGEN_OK;
}

static int apply_step(const vgen_pretok_step *st, const vgen_pieces *in, vgen_pieces *out) {
    for (size_t i = 0; i < in->n; i++) {
        const uint8_t *s = in->text.p + in->p[i].off;
        size_t n = in->p[i].len;
        int rc = st->kind == VGEN_PRETOK_METASPACE ? metaspace(st, s, n, in->p[i].first, out)
                                                   : whitespace_split(s, n, in->p[i].first, out);
        if (rc != VGEN_OK) return rc;
    }
    return VGEN_OK;
}

int vgen_tok_pretokenize(const vgen_pretok_step *steps, size_t n_steps, vgen_pieces *ps) {
    for (size_t k = 0; k < n_steps; k++) {
        vgen_pieces out = {0};
        int rc = apply_step(&steps[k], ps, &out);
        if (rc != VGEN_OK) {
            vgen_pieces_free(&out);
            return rc;
        }
        vgen_pieces_free(ps);
        *ps = out;
    }
    return VGEN_OK;
}


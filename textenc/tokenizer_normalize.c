/* tokenizer_normalize.c - the normalizer steps tokenizers applies: Precompiled, Strip and Replace. */
#include "tokenizer_impl.h"

#include <stdlib.h>
#include <string.h>

int vgen_rust_is_whitespace(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

void vgen_norm_steps_free(vgen_norm_step *steps, size_t n) {
    for (size_t i = 0; steps && i < n; i++) {
        vgen_spm_charsmap_free(&steps[i].charsmap);
        vgen_bytes_free(&steps[i].pattern);
        vgen_bytes_free(&steps[i].content);
    }
    free(steps);
}

/* Byte offset where the text stops being whitespace when read backwards from the end. */
static size_t trailing_ws_start(const uint8_t *s, size_t n) {
    size_t end = n;
    while (end > 0) {
        size_t k = end - 1;
        while (k > 0 && (s[k] & 0xC0) == 0x80) k--;
        size_t pos = k;
        if (!vgen_rust_is_whitespace(vgen_utf8_next(s, n, &pos))) break;
        end = k;
    }
    return end;
}

static int strip(const vgen_norm_step *st, const uint8_t *s, size_t n, vgen_bytes *out) {
    size_t a = 0, b = n;
    while (st->strip_left && a < n) {
        size_t pos = a;
        if (!vgen_rust_is_whitespace(vgen_utf8_next(s, n, &pos))) break;
        a = pos;
    }
    if (st->strip_right) b = trailing_ws_start(s, n);
    return vgen_bytes_append(out, s + a, b > a ? b - a : 0);
}

/* Length of the match at s[i], 0 if none: a run of 2+ spaces, or the literal pattern. */
static size_t replace_match(const vgen_norm_step *st, const uint8_t *s, size_t n, size_t i) {
    if (st->regex_spaces) {
        size_t k = i;
        while (k < n && s[k] == ' ') k++;
        return k - i >= 2 ? k - i : 0;
    }
    size_t m = st->pattern.n;
    return m <= n - i && memcmp(s + i, st->pattern.p, m) == 0 ? m : 0;
}

static int replace(const vgen_norm_step *st, const uint8_t *s, size_t n, vgen_bytes *out) {
    for (size_t i = 0; i < n;) {
        size_t m = replace_match(st, s, n, i);
        int rc = m ? vgen_bytes_append(out, st->content.p, st->content.n) : vgen_bytes_append(out, s + i, 1);
        if (rc != VGEN_OK) return rc;
        i += m ? m : 1;
    }
    return VGEN_OK;
}

static int apply_step(const vgen_norm_step *st, const uint8_t *s, size_t n, vgen_bytes *out) {
    switch (st->kind) {
    case VGEN_NORM_PRECOMPILED: return vgen_spm_charsmap_normalize(&st->charsmap, s, n, out);
    case VGEN_NORM_STRIP: return strip(st, s, n, out);
    case VGEN_NORM_REPLACE: return replace(st, s, n, out);
    }
    return VGEN_ERR_INTERNAL;
}

int vgen_tok_normalize(const vgen_norm_step *steps, size_t n_steps, const uint8_t *s, size_t n, vgen_bytes *out) {
    vgen_bytes a = {0}, b = {0};
    int rc = vgen_bytes_append(&a, s, n);
    for (size_t i = 0; i < n_steps && rc == VGEN_OK; i++) {
        b.n = 0;
        rc = apply_step(&steps[i], a.p, a.n, &b);
        vgen_bytes t = a;
        a = b;
        b = t;
    }
    if (rc == VGEN_OK) {
        out->n = 0;
        rc = vgen_bytes_append(out, a.p, a.n);
    }
    vgen_bytes_free(&a);
    vgen_bytes_free(&b);
    return rc;
}

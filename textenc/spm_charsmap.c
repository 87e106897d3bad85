/* spm_charsmap.c - the precompiled charsmap double array and tokenizers' grapheme-wise Precompiled normalizer. */
#include "spm_charsmap.h"

#include <stdlib.h>
#include <string.h>

#include "json_strict.h"
#include "utf8_grapheme.h"

enum { GRAPHEME_WHOLE_MAX = 6 }; /* clusters shorter than this many bytes are looked up whole */

static uint32_t read_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int vgen_spm_charsmap_parse(const uint8_t *blob, size_t n, const char *what, vgen_spm_charsmap *m, vgen_err *err) {
    *m = (vgen_spm_charsmap){0};
    if (n < 4) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: precompiled_charsmap of %zu bytes", what, n);
    size_t units = read_u32le(blob) / 4;
    if (units == 0) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: precompiled_charsmap has an empty trie", what);
    if (units > (n - 4) / 4)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: precompiled_charsmap trie of %zu bytes exceeds its %zu bytes",
                            what, units * 4, n);
    const uint8_t *strings = blob + 4 + units * 4;
    size_t n_strings = n - 4 - units * 4, bad = 0;
    const char *why = NULL;
    if (!vgen_utf8_validate(strings, n_strings, &bad, &why))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: precompiled_charsmap strings: invalid UTF-8 at %zu (%s)",
                            what, bad, why);
    m->units = malloc(units * sizeof *m->units);
    m->strings = malloc(n_strings ? n_strings : 1);
    if (!m->units || !m->strings) {
        vgen_spm_charsmap_free(m);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory for the charsmap", what);
    }
    for (size_t i = 0; i < units; i++) m->units[i] = read_u32le(blob + 4 + 4 * i);
    if (n_strings) memcpy(m->strings, strings, n_strings);
    m->n_units = units;
    m->n_strings = n_strings;
    return VGEN_OK;
}

void vgen_spm_charsmap_free(vgen_spm_charsmap *m) {
    free(m->units);
    free(m->strings);
    *m = (vgen_spm_charsmap){0};
}

/* darts-clone unit accessors, as spm_precompiled's ArrayUnitTrait */
static int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
static uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xFFu); }
static size_t unit_offset(uint32_t u) { return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6); }

/* The value of the first (shortest) key prefixing key[0..n); 1 if found. */
static int first_prefix_value(const vgen_spm_charsmap *m, const uint8_t *key, size_t n, uint32_t *value) {
    size_t pos = unit_offset(m->units[0]); /* 0 ^ offset */
    for (size_t i = 0; i < n && key[i] != 0; i++) {
        pos ^= key[i];
        if (pos >= m->n_units) return 0;
        uint32_t u = m->units[pos];
        if (unit_label(u) != key[i]) return 0;
        pos ^= unit_offset(u);
        if (unit_has_leaf(u)) {
            if (pos >= m->n_units) return 0;
            *value = unit_value(m->units[pos]);
            return 1;
        }
    }
    return 0;
}

int vgen_spm_charsmap_transform(const vgen_spm_charsmap *m, const uint8_t *key, size_t n, const uint8_t **rep,
                                size_t *rep_len) {
    uint32_t value = 0;
    if (!first_prefix_value(m, key, n, &value)) return 0;
    size_t start = value;
    if (start > m->n_strings || (start < m->n_strings && (m->strings[start] & 0xC0) == 0x80)) return 0;
    size_t end = start;
    while (end < m->n_strings && m->strings[end] != 0) end++;
    *rep = m->strings + start;
    *rep_len = end - start;
    return 1;
}

/* One cluster g[0..n): whole if short and matched, else character by character. */
static int normalize_cluster(const vgen_spm_charsmap *m, const uint8_t *g, size_t n, vgen_bytes *out) {
    const uint8_t *rep = NULL;
    size_t rep_len = 0;
    if (n < GRAPHEME_WHOLE_MAX && vgen_spm_charsmap_transform(m, g, n, &rep, &rep_len))
        return vgen_bytes_append(out, rep, rep_len);
    for (size_t i = 0; i < n;) {
        size_t len = vgen_utf8_len(g[i]);
        if (len > n - i) len = n - i;
        int rc = vgen_spm_charsmap_transform(m, g + i, len, &rep, &rep_len) ? vgen_bytes_append(out, rep, rep_len)
                                                                            : vgen_bytes_append(out, g + i, len);
        if (rc != VGEN_OK) return rc;
        i += len;
    }
    return VGEN_OK;
}

int vgen_spm_charsmap_normalize(const vgen_spm_charsmap *m, const uint8_t *s, size_t n, vgen_bytes *out) {
    vgen_grapheme_iter it;
    vgen_grapheme_iter_init(&it, s, n);
    for (;;) {
        size_t start = it.pos, len = vgen_grapheme_next(&it);
        if (len == 0) return VGEN_OK;
        int rc = normalize_cluster(m, s + start, len, out);
        if (rc != VGEN_OK) return rc;
    }
}

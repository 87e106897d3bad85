/* utf8.c - UTF-8 decoding/encoding and growable buffers. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "json_strict.h"

/* Grows a buffer of `size`-byte elements so that `need` fit; 0 on overflow or allocation failure. */
static int grow(void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 1;
    size_t ncap = *cap ? *cap : 16, bytes;
    while (ncap < need) {
        if (!vgen_mul_size(ncap, 2, &ncap)) return 0;
    }
    if (!vgen_mul_size(ncap, size, &bytes)) return 0;
    void *q = realloc(*p, bytes);
    if (!q) return 0;
    *p = q;
    *cap = ncap;
    return 1;
}

int vgen_bytes_append(vgen_bytes *b, const void *s, size_t n) {
    size_t need;
    if (!vgen_add_size(b->n, n, &need) || !vgen_add_size(need, 1, &need)) return VGEN_ERR_OUT_OF_MEMORY;
    if (!grow((void **)&b->p, &b->cap, need, 1)) return VGEN_ERR_OUT_OF_MEMORY;
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return VGEN_OK;
}

int vgen_bytes_append_cp(vgen_bytes *b, uint32_t cp) {
    uint8_t tmp[4];
    return vgen_bytes_append(b, tmp, vgen_utf8_encode(cp, tmp));
}

void vgen_bytes_free(vgen_bytes *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

int vgen_u32s_append(vgen_u32s *v, const uint32_t *cps, size_t n) {
    size_t need;
    if (!vgen_add_size(v->n, n, &need)) return VGEN_ERR_OUT_OF_MEMORY;
    if (!grow((void **)&v->p, &v->cap, need, sizeof(uint32_t))) return VGEN_ERR_OUT_OF_MEMORY;
    if (n) memcpy(v->p + v->n, cps, n * sizeof(uint32_t));
    v->n += n;
    return VGEN_OK;
}

int vgen_u32s_push(vgen_u32s *v, uint32_t cp) { return vgen_u32s_append(v, &cp, 1); }

void vgen_u32s_free(vgen_u32s *v) {
    free(v->p);
    v->p = NULL;
    v->n = v->cap = 0;
}

int vgen_utf8_check(const uint8_t *s, size_t n, const char *what, vgen_err *err) {
    size_t bad = 0;
    const char *why = NULL;
    if (vgen_utf8_validate(s, n, &bad, &why)) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: invalid UTF-8 at byte offset %zu (%s)", what, bad,
                        why);
}

uint32_t vgen_utf8_next(const uint8_t *s, size_t n, size_t *pos) {
    size_t i = *pos, len = vgen_utf8_len(s[i]);
    if (len > n - i) len = n - i; /* cannot happen on valid input; never read past n */
    uint32_t cp = len == 1 ? s[i] : (uint32_t)(s[i] & (0x7Fu >> len));
    for (size_t k = 1; k < len; k++) cp = (cp << 6) | (s[i + k] & 0x3Fu);
    *pos = i + len;
    return cp;
}

size_t vgen_utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

int vgen_utf8_to_u32(const uint8_t *s, size_t n, vgen_u32s *out) {
    size_t pos = 0;
    while (pos < n) {
        int rc = vgen_u32s_push(out, vgen_utf8_next(s, n, &pos));
        if (rc != VGEN_OK) return rc;
    }
    return VGEN_OK;
}

int vgen_u32_to_utf8(const uint32_t *cps, size_t n, vgen_bytes *out) {
    for (size_t i = 0; i < n; i++) {
        int rc = vgen_bytes_append_cp(out, cps[i]);
        if (rc != VGEN_OK) return rc;
    }
    return VGEN_OK;
}

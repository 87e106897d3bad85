/* utf8.h - UTF-8 decoding and encoding, and the growable byte / code point buffers textenc/ builds strings in.
 *
 * Strings handed to vgen_utf8_next / vgen_utf8_to_u32 must already be valid UTF-8 (vgen_utf8_check); they still
 * never read past n. Buffer functions return VGEN_OK or VGEN_ERR_OUT_OF_MEMORY and keep a NUL byte after the
 * contents of a vgen_bytes, so b.p can be used as a C string once something was appended. */
#ifndef VGEN_TEXTENC_UTF8_H
#define VGEN_TEXTENC_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct vgen_bytes {
    uint8_t *p; /* [cap] bytes, p[n] == 0 */
    size_t n, cap;
} vgen_bytes;

typedef struct vgen_u32s {
    uint32_t *p; /* [cap] code points */
    size_t n, cap;
} vgen_u32s;

int vgen_bytes_append(vgen_bytes *b, const void *s, size_t n);
int vgen_bytes_append_cp(vgen_bytes *b, uint32_t cp);
void vgen_bytes_free(vgen_bytes *b);

int vgen_u32s_push(vgen_u32s *v, uint32_t cp);
int vgen_u32s_append(vgen_u32s *v, const uint32_t *cps, size_t n);
void vgen_u32s_free(vgen_u32s *v);

/* VGEN_OK if s[0..n) is valid UTF-8, else VGEN_ERR_INVALID_ARGUMENT with
 * "<what>: invalid UTF-8 at byte offset N (reason)". */
int vgen_utf8_check(const uint8_t *s, size_t n, const char *what, vgen_err *err);

/* The code point at s[*pos] of a valid string, advancing *pos past it. */
uint32_t vgen_utf8_next(const uint8_t *s, size_t n, size_t *pos);

/* Byte length of the sequence a valid lead byte starts (1..4). */
static inline size_t vgen_utf8_len(uint8_t lead) {
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

/* Writes cp (a Unicode scalar value) to out; returns the length 1..4. */
size_t vgen_utf8_encode(uint32_t cp, uint8_t out[4]);

/* Appends the code points of valid UTF-8 s[0..n) to *out. */
int vgen_utf8_to_u32(const uint8_t *s, size_t n, vgen_u32s *out);

/* Appends cps[0..n) as UTF-8 to *out. */
int vgen_u32_to_utf8(const uint32_t *cps, size_t n, vgen_bytes *out);

#endif

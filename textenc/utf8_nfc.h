/* utf8_nfc.h - Unicode Normalization Form C over code point arrays, as Python's unicodedata.normalize("NFC")
 * computes it (ftfy's last step). The tables are generated from the reference Python's unicodedata
 * (tools/gen_unicode_tables.py; Unicode 14.0.0 for Python 3.11). Hangul syllables are composed and decomposed
 * algorithmically. */
#ifndef VGEN_TEXTENC_UTF8_NFC_H
#define VGEN_TEXTENC_UTF8_NFC_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

typedef struct vgen_nfc_ccc_range {
    uint32_t lo, hi; /* inclusive */
    uint8_t ccc;     /* canonical combining class, non-zero */
} vgen_nfc_ccc_range;

typedef struct vgen_nfc_decomp {
    uint32_t cp;        /* a character with a canonical decomposition */
    uint16_t off, len;  /* its full (recursive) decomposition: vgen_nfc_decomp_pool[off .. off+len) */
} vgen_nfc_decomp;

typedef struct vgen_nfc_pair {
    uint32_t first, second, composite; /* primary composites (composition exclusions left out) */
} vgen_nfc_pair;

extern const char vgen_nfc_unicode_version[];
extern const vgen_nfc_ccc_range vgen_nfc_ccc[];
extern const size_t vgen_nfc_ccc_count;
extern const uint32_t vgen_nfc_decomp_pool[];
extern const vgen_nfc_decomp vgen_nfc_decomps[];
extern const size_t vgen_nfc_decomps_count;
extern const vgen_nfc_pair vgen_nfc_pairs[];
extern const size_t vgen_nfc_pairs_count;

uint8_t vgen_nfc_combining_class(uint32_t cp);

/* Replaces v's contents with their NFC form. VGEN_OK or VGEN_ERR_OUT_OF_MEMORY (v unchanged then). */
int vgen_nfc(vgen_u32s *v);

#endif

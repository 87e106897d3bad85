/* utf8_grapheme.h - extended grapheme clusters (UAX #29) exactly as the Rust crate unicode-segmentation 1.12.0
 * (Unicode 16.0.0) finds them: tokenizers' Precompiled normalizer looks characters up one grapheme at a time,
 * so the tokenizer has to split where that crate splits. The category table is generated from the crate's own
 * tables (tools/gen_unicode_tables.py); the rules follow its GraphemeCursor, including GB9c (Indic conjuncts). */
#ifndef VGEN_TEXTENC_UTF8_GRAPHEME_H
#define VGEN_TEXTENC_UTF8_GRAPHEME_H

#include <stddef.h>
#include <stdint.h>

typedef enum vgen_gcb {
    VGEN_GCB_ANY,
    VGEN_GCB_CR,
    VGEN_GCB_CONTROL,
    VGEN_GCB_EXTEND,
    VGEN_GCB_EXTENDED_PICTOGRAPHIC,
    VGEN_GCB_INCB_CONSONANT,
    VGEN_GCB_L,
    VGEN_GCB_LF,
    VGEN_GCB_LV,
    VGEN_GCB_LVT,
    VGEN_GCB_PREPEND,
    VGEN_GCB_REGIONAL_INDICATOR,
    VGEN_GCB_SPACINGMARK,
    VGEN_GCB_T,
    VGEN_GCB_V,
    VGEN_GCB_ZWJ
} vgen_gcb;

typedef struct vgen_gcb_range {
    uint32_t lo, hi; /* inclusive */
    uint8_t cat;     /* vgen_gcb */
} vgen_gcb_range;

/* Generated tables (utf8_grapheme_table.c), sorted by lo. */
extern const char vgen_grapheme_unicode_version[];
extern const vgen_gcb_range vgen_gcb_table[];
extern const size_t vgen_gcb_table_count;
extern const vgen_gcb_range vgen_incb_extend_table[];
extern const size_t vgen_incb_extend_table_count;
extern const uint32_t vgen_incb_linkers[];
extern const size_t vgen_incb_linkers_count;

vgen_gcb vgen_grapheme_category(uint32_t cp);

/* Walks a valid UTF-8 string grapheme by grapheme; the state carries over between clusters as the crate's does. */
typedef struct vgen_grapheme_iter {
    const uint8_t *s;
    size_t n, pos;
    vgen_gcb prev;  /* category of the last character consumed */
    size_t ri_run;  /* consecutive Regional_Indicator characters ending at prev */
    int pict_ext;   /* the text so far ends with Extended_Pictographic Extend* */
    int emoji_zwj;  /* ... ends with Extended_Pictographic Extend* ZWJ */
    int incb;       /* 0, 1: ends with InCB=Consonant [Extend|Linker]*, 2: and at least one Linker among them */
} vgen_grapheme_iter;

void vgen_grapheme_iter_init(vgen_grapheme_iter *it, const uint8_t *s, size_t n);

/* Byte length of the next cluster (starting at it->pos), 0 at the end. */
size_t vgen_grapheme_next(vgen_grapheme_iter *it);

#endif

/* spm_charsmap.h - SentencePiece's precompiled_charsmap and the Precompiled normalizer built on it.
 *
 * Format (sentencepiece normalizer.cc, read here as the Rust crate spm_precompiled 0.1.4 reads it): a uint32
 * little-endian trie size in bytes, then trie_size/4 uint32 little-endian units of a darts-clone double array, then
 * the replacement strings, each ended by a NUL byte. A trie value is a byte offset into those strings.
 *
 * vgen_spm_charsmap_normalize is tokenizers' Precompiled normalizer (0.22.1): the text is split into extended
 * grapheme clusters (utf8_grapheme.h); a cluster shorter than 6 bytes is replaced as a whole when one of its
 * prefixes is in the trie (by the replacement of the SHORTEST such prefix, as spm_precompiled's transform() takes
 * the first common-prefix result); otherwise each character is replaced if it is itself a key (or has a key as
 * prefix), and kept if not. This differs from sentencepiece's own normalizer, which takes the longest match at
 * each position regardless of clusters (e.g. U+FF21 U+0301 -> "A" here, "Á" there). */
#ifndef VGEN_TEXTENC_SPM_CHARSMAP_H
#define VGEN_TEXTENC_SPM_CHARSMAP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "utf8.h"

typedef struct vgen_spm_charsmap {
    uint32_t *units;  /* [n_units] double-array units */
    size_t n_units;
    uint8_t *strings; /* [n_strings] replacement strings (valid UTF-8, NUL separated) */
    size_t n_strings;
} vgen_spm_charsmap;

/* Copies and checks blob[0..n). Errors (VGEN_ERR_MALFORMED, "<what>: ..."): shorter than its trie size, an empty
 * trie, replacement strings that are not UTF-8. VGEN_ERR_OUT_OF_MEMORY. */
int vgen_spm_charsmap_parse(const uint8_t *blob, size_t n, const char *what, vgen_spm_charsmap *m, vgen_err *err);
void vgen_spm_charsmap_free(vgen_spm_charsmap *m);

/* spm_precompiled's transform(): the replacement of the shortest key that prefixes key[0..n) (stopping at a NUL
 * byte), 1 with *rep / *rep_len set, or 0 when none. A trie walk leaving the array, or a value that is not a
 * character boundary of the strings, counts as no match (the Rust crate would panic). */
int vgen_spm_charsmap_transform(const vgen_spm_charsmap *m, const uint8_t *key, size_t n, const uint8_t **rep,
                                size_t *rep_len);

/* Appends the normalized form of valid UTF-8 s[0..n) to *out. VGEN_OK or VGEN_ERR_OUT_OF_MEMORY. */
int vgen_spm_charsmap_normalize(const vgen_spm_charsmap *m, const uint8_t *s, size_t n, vgen_bytes *out);

#endif

/* tokenizer_unigram.h - the Unigram model of tokenizers 0.22.1 (models/unigram/model.rs, encode_optimized):
 * Viterbi over every vocabulary piece that matches at each character, the best path by total score (ties keep the
 * first candidate found: shorter pieces, earlier starts); a character no single-character piece covers becomes
 * <unk> with score min_score - 10; consecutive <unk> (fuse_unk) are merged and looked up again as one string. */
#ifndef VGEN_TEXTENC_TOKENIZER_UNIGRAM_H
#define VGEN_TEXTENC_TOKENIZER_UNIGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tokenizer_trie.h"

typedef struct vgen_unigram_piece {
    const uint8_t *s; /* UTF-8, not owned */
    size_t len;       /* > 0 */
    double score;     /* finite */
} vgen_unigram_piece;

typedef struct vgen_unigram {
    vgen_tok_trie trie; /* piece -> id (the last of equal pieces wins) */
    double *scores;     /* [n] */
    size_t n;
    double min_score;
    int32_t unk_id;     /* -1: none (an unknown character is then an error) */
    int byte_fallback;  /* unknown runs become <0xXX> pieces when all exist */
} vgen_unigram;

typedef struct vgen_ids {
    int32_t *p;
    size_t n, cap;
} vgen_ids;

int vgen_ids_push(vgen_ids *v, int32_t id);

int vgen_unigram_init(vgen_unigram *u, const vgen_unigram_piece *pieces, size_t n, int32_t unk_id,
                      int byte_fallback, vgen_err *err);
void vgen_unigram_free(vgen_unigram *u);

/* Appends the ids of valid UTF-8 s[0..n) to *ids. Errors: VGEN_ERR_INVALID_ARGUMENT (an unknown character and no
 * unk_id), VGEN_ERR_OUT_OF_MEMORY. */
int vgen_unigram_encode(const vgen_unigram *u, const uint8_t *s, size_t n, vgen_ids *ids, vgen_err *err);

#endif

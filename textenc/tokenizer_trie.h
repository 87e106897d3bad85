/* tokenizer_trie.h - an immutable byte trie mapping keys to ids, for the vocabulary's common-prefix search
 * (Unigram) and for the longest added-token match. Children of a node are contiguous and sorted by byte. */
#ifndef VGEN_TEXTENC_TOKENIZER_TRIE_H
#define VGEN_TEXTENC_TOKENIZER_TRIE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VGEN_TRIE_NONE UINT32_MAX

typedef struct vgen_trie_node {
    uint32_t child;   /* index of the first child */
    int32_t id;       /* id of the key ending here, -1 if none */
    uint16_t n_child; /* 0..256 */
    uint8_t label;    /* byte on the edge from the parent */
} vgen_trie_node;

typedef struct vgen_tok_trie {
    vgen_trie_node *nodes; /* nodes[0] is the root */
    size_t n_nodes;
} vgen_tok_trie;

typedef struct vgen_trie_key {
    const uint8_t *key;
    size_t len; /* > 0 */
    int32_t id; /* >= 0; for equal keys the one listed last wins (as a hash map insert does) */
} vgen_trie_key;

/* Builds the trie of keys[0..n). VGEN_OK, VGEN_ERR_INVALID_ARGUMENT (an empty key), VGEN_ERR_OUT_OF_MEMORY. */
int vgen_tok_trie_build(vgen_tok_trie *t, const vgen_trie_key *keys, size_t n, vgen_err *err);
void vgen_tok_trie_free(vgen_tok_trie *t);

/* The child of node along byte c, or VGEN_TRIE_NONE. */
uint32_t vgen_tok_trie_step(const vgen_tok_trie *t, uint32_t node, uint8_t c);

/* The id of exactly s[0..n), or -1. */
int32_t vgen_tok_trie_find(const vgen_tok_trie *t, const uint8_t *s, size_t n);

/* Length of the longest key that is a prefix of s[0..n) (0 if none), its id in *id. */
size_t vgen_tok_trie_longest(const vgen_tok_trie *t, const uint8_t *s, size_t n, int32_t *id);

#endif

/* tokenizer_trie.c - byte trie built from sorted keys, breadth by breadth (no recursion: keys may be long). */
#include "tokenizer_trie.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"

typedef struct sorted_key {
    const uint8_t *key;
    size_t len, order;
    int32_t id;
} sorted_key;

typedef struct pending {
    uint32_t node;
    size_t lo, hi, depth; /* keys[lo..hi) share the node's prefix of length depth */
} pending;

static int cmp_keys(const void *a, const void *b) {
    const sorted_key *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, m);
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Creates the children of p.node for keys[p.lo..p.hi) and queues them. */
static void expand(vgen_tok_trie *t, const sorted_key *keys, pending p, pending *queue, size_t *q_end) {
    size_t i = p.lo;
    for (; i < p.hi && keys[i].len == p.depth; i++) t->nodes[p.node].id = keys[i].id; /* last listed wins */
    t->nodes[p.node].child = (uint32_t)t->n_nodes;
    while (i < p.hi) {
        uint8_t c = keys[i].key[p.depth];
        size_t j = i;
        while (j < p.hi && keys[j].key[p.depth] == c) j++;
        uint32_t child = (uint32_t)t->n_nodes++;
        t->nodes[child] = (vgen_trie_node){.id = -1, .label = c};
        t->nodes[p.node].n_child++;
        queue[(*q_end)++] = (pending){child, i, j, p.depth + 1};
        i = j;
    }
}

static int build_sorted(vgen_tok_trie *t, const sorted_key *keys, size_t n, size_t max_nodes) {
    pending *queue = malloc(max_nodes * sizeof *queue);
    t->nodes = malloc(max_nodes * sizeof *t->nodes);
    if (!queue || !t->nodes) {
        free(queue);
        return 0;
    }
    t->nodes[0] = (vgen_trie_node){.id = -1};
    t->n_nodes = 1;
    size_t q_begin = 0, q_end = 0;
    queue[q_end++] = (pending){0, 0, n, 0};
    while (q_begin < q_end) expand(t, keys, queue[q_begin++], queue, &q_end);
    free(queue);
    vgen_trie_node *shrunk = realloc(t->nodes, t->n_nodes * sizeof *t->nodes);
    if (shrunk) t->nodes = shrunk;
    return 1;
}

int vgen_tok_trie_build(vgen_tok_trie *t, const vgen_trie_key *keys, size_t n, vgen_err *err) {
    *t = (vgen_tok_trie){0};
    size_t max_nodes = 1, bytes;
    for (size_t i = 0; i < n; i++) {
        if (keys[i].len == 0) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "empty token at index %zu", i);
        if (!vgen_add_size(max_nodes, keys[i].len, &max_nodes)) goto oom;
    }
    if (max_nodes >= UINT32_MAX || !vgen_mul_size(n ? n : 1, sizeof(sorted_key), &bytes) ||
        !vgen_mul_size(max_nodes, sizeof(pending), &bytes))
        goto oom;
    sorted_key *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) goto oom;
    for (size_t i = 0; i < n; i++) sorted[i] = (sorted_key){keys[i].key, keys[i].len, i, keys[i].id};
    qsort(sorted, n, sizeof *sorted, cmp_keys);
    int ok = build_sorted(t, sorted, n, max_nodes);
    free(sorted);
    if (ok) return VGEN_OK;
oom:
    vgen_tok_trie_free(t);
    return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory building a trie of %zu tokens", n);
}

void vgen_tok_trie_free(vgen_tok_trie *t) {
    free(t->nodes);
    *t = (vgen_tok_trie){0};
}

uint32_t vgen_tok_trie_step(const vgen_tok_trie *t, uint32_t node, uint8_t c) {
    if (node >= t->n_nodes) return VGEN_TRIE_NONE;
    size_t lo = t->nodes[node].child, hi = lo + t->nodes[node].n_child;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint8_t l = t->nodes[mid].label;
        if (l == c) return (uint32_t)mid;
        if (l < c) lo = mid + 1;
        else hi = mid;
    }
    return VGEN_TRIE_NONE;
}

int32_t vgen_tok_trie_find(const vgen_tok_trie *t, const uint8_t *s, size_t n) {
    uint32_t node = t->n_nodes ? 0 : VGEN_TRIE_NONE;
    for (size_t i = 0; i < n && node != VGEN_TRIE_NONE; i++) node = vgen_tok_trie_step(t, node, s[i]);
    return node == VGEN_TRIE_NONE ? -1 : t->nodes[node].id;
}

size_t vgen_tok_trie_longest(const vgen_tok_trie *t, const uint8_t *s, size_t n, int32_t *id) {
    uint32_t node = t->n_nodes ? 0 : VGEN_TRIE_NONE;
    size_t best = 0;
    for (size_t i = 0; i < n && node != VGEN_TRIE_NONE; i++) {
        node = vgen_tok_trie_step(t, node, s[i]);
        if (node != VGEN_TRIE_NONE && t->nodes[node].id >= 0) {
            best = i + 1;
            *id = t->nodes[node].id;
        }
    }
    return best;
}

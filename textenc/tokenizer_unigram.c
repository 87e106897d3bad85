/* tokenizer_unigram.c - Unigram Viterbi segmentation (see tokenizer_unigram.h). */
#include "tokenizer_unigram.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "checked.h"
#include "utf8.h"

#define UNK_PENALTY 10.0

int vgen_ids_push(vgen_ids *v, int32_t id) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap : 64, bytes;
        if (!vgen_mul_size(cap, 2, &cap) || !vgen_mul_size(cap, sizeof(int32_t), &bytes))
            return VGEN_ERR_OUT_OF_MEMORY;
        int32_t *p = realloc(v->p, bytes);
        if (!p) return VGEN_ERR_OUT_OF_MEMORY;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = id;
    return VGEN_OK;
}

int vgen_unigram_init(vgen_unigram *u, const vgen_unigram_piece *pieces, size_t n, int32_t unk_id,
                      int byte_fallback, vgen_err *err) {
    *u = (vgen_unigram){.unk_id = unk_id, .byte_fallback = byte_fallback, .min_score = INFINITY, .n = n};
    if (n == 0 || n > INT32_MAX) return vgen_err_set(err, VGEN_ERR_MALFORMED, "vocabulary of %zu pieces", n);
    if (unk_id >= 0 && (size_t)unk_id >= n)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "unk_id %d is not below the vocabulary size %zu", unk_id, n);
    vgen_trie_key *keys = malloc(n * sizeof *keys);
    u->scores = malloc(n * sizeof *u->scores);
    if (!keys || !u->scores) {
        free(keys);
        vgen_unigram_free(u);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory for %zu pieces", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pieces[i].score)) {
            free(keys);
            vgen_unigram_free(u);
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "piece %zu has a non-finite score", i);
        }
        keys[i] = (vgen_trie_key){pieces[i].s, pieces[i].len, (int32_t)i};
        u->scores[i] = pieces[i].score;
        if (pieces[i].score < u->min_score) u->min_score = pieces[i].score;
    }
    int rc = vgen_tok_trie_build(&u->trie, keys, n, err);
    free(keys);
    if (rc != VGEN_OK) vgen_unigram_free(u);
    return rc;
}

void vgen_unigram_free(vgen_unigram *u) {
    vgen_tok_trie_free(&u->trie);
    free(u->scores);
    *u = (vgen_unigram){0};
}

typedef struct best_node {
    double score;
    size_t start; /* SIZE_MAX: not reached yet */
    int32_t id;
} best_node;

static void relax(best_node *target, double score, size_t start, int32_t id) {
    if (target->start == SIZE_MAX || score > target->score) *target = (best_node){score, start, id};
}

/* Forward pass of encode_optimized: best[e] is the best path ending at byte e. */
static int viterbi(const vgen_unigram *u, const uint8_t *s, size_t n, best_node *best, vgen_err *err) {
    best[0] = (best_node){0.0, 0, -1};
    for (size_t i = 1; i <= n; i++) best[i] = (best_node){0.0, SIZE_MAX, -1};
    for (size_t start = 0; start < n;) {
        double here = best[start].score;
        size_t mblen = vgen_utf8_len(s[start]);
        int has_single = 0;
        uint32_t node = 0;
        for (size_t k = start; k < n; k++) {
            node = vgen_tok_trie_step(&u->trie, node, s[k]);
            if (node == VGEN_TRIE_NONE) break;
            int32_t id = u->trie.nodes[node].id;
            if (id < 0) continue;
            relax(&best[k + 1], u->scores[id] + here, start, id);
            if (k + 1 - start == mblen) has_single = 1;
        }
        if (!has_single) {
            if (u->unk_id < 0)
                return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                                    "a character of the prompt is not in the vocabulary and the model has no unk_id");
            relax(&best[start + mblen], (u->min_score - UNK_PENALTY) + here, start, u->unk_id);
        }
        start += mblen;
    }
    return VGEN_OK;
}

/* Ids of a fused run of unknown pieces s[a..b): the run itself if it is a piece, else its bytes as <0xXX> pieces
 * (byte_fallback, when all exist), else unk. */
static int emit_unknown_run(const vgen_unigram *u, const uint8_t *s, size_t a, size_t b, vgen_ids *ids) {
    int32_t id = vgen_tok_trie_find(&u->trie, s + a, b - a);
    if (id >= 0) return vgen_ids_push(ids, id);
    if (u->byte_fallback) {
        size_t mark = ids->n;
        for (size_t i = a; i < b; i++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", s[i]);
            int32_t bid = vgen_tok_trie_find(&u->trie, (const uint8_t *)name, 6);
            if (bid < 0) break;
            int rc = vgen_ids_push(ids, bid);
            if (rc != VGEN_OK) return rc;
        }
        if (ids->n - mark == b - a) return VGEN_OK;
        ids->n = mark;
    }
    return vgen_ids_push(ids, u->unk_id);
}

/* Walks the best path back to front, then appends its ids front to back. */
static int backtrack(const vgen_unigram *u, const uint8_t *s, size_t n, const best_node *best, vgen_ids *ids) {
    size_t count = 0;
    for (size_t end = n; end > 0; end = best[end].start) count++;
    size_t *ends = malloc((count ? count : 1) * sizeof *ends);
    if (!ends) return VGEN_ERR_OUT_OF_MEMORY;
    size_t k = count;
    for (size_t end = n; end > 0; end = best[end].start) ends[--k] = end;
    int rc = VGEN_OK;
    for (size_t i = 0; i < count && rc == VGEN_OK;) {
        size_t end = ends[i], start = best[end].start;
        if (best[end].id != u->unk_id || u->unk_id < 0) {
            rc = vgen_ids_push(ids, best[end].id);
            i++;
            continue;
        }
        while (i + 1 < count && best[ends[i + 1]].id == u->unk_id) i++; /* fuse consecutive unknowns */
        rc = emit_unknown_run(u, s, start, ends[i], ids);
        i++;
    }
    free(ends);
    return rc;
}

int vgen_unigram_encode(const vgen_unigram *u, const uint8_t *s, size_t n, vgen_ids *ids, vgen_err *err) {
    if (n == 0) return VGEN_OK;
    size_t count;
    if (!vgen_add_size(n, 1, &count) || !vgen_mul_size(count, sizeof(best_node), &count))
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "text of %zu bytes is too long", n);
    best_node *best = malloc(count);
    if (!best) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory for %zu bytes of text", n);
    int rc = viterbi(u, s, n, best, err);
    if (rc == VGEN_OK) {
        rc = backtrack(u, s, n, best, ids);
        if (rc != VGEN_OK) vgen_err_set(err, rc, "out of memory encoding %zu bytes", n);
    }
    free(best);
    return rc;
}

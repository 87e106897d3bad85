/* fuzz_safetensors.c - libFuzzer target: the input is a whole safetensors file (parsed as is, and again with its
 * length field fitted to the JSON). On success every tensor, every metadata pair and every name lookup is
 * exercised, and the invariants the parser promises are checked; a broken one aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

/* A broken promise is a bug in the parser, not in the input: crash so the fuzzer records it. */
#define FUZZ_ASSERT(c) \
    do {               \
        if (!(c)) abort(); \
    } while (0)

static void check_tensor(const vgen_st_set *set, const vgen_st_tensor *t, const uint8_t *data, size_t size) {
    FUZZ_ASSERT(vgen_st_find(set, t->name) == t);
    FUZZ_ASSERT(t->n_dims >= 0 && t->n_dims <= VGEN_ST_MAX_DIMS);
    FUZZ_ASSERT(vgen_st_dtype_size(t->dtype) > 0);
    const uint8_t *p = t->data;
    FUZZ_ASSERT(p >= data + 8 && t->n_bytes <= size && (size_t)(p - data) <= size - t->n_bytes);
    volatile uint8_t sink = 0;
    if (t->n_bytes) sink ^= p[0] ^ p[t->n_bytes - 1]; /* ASan checks the bounds */
    (void)sink;
}

static void parse_and_walk(const uint8_t *data, size_t size) {
    vgen_st_set *set = NULL;
    vgen_err err;
    vgen_err_clear(&err);
    if (vgen_st_parse(data, size, "fuzz.safetensors", &set, &err) != VGEN_OK) {
        FUZZ_ASSERT(set == NULL && err.code != VGEN_OK && strchr(err.msg, '\n') == NULL);
        return;
    }
    FUZZ_ASSERT(vgen_st_shard_count(set) == 1);
    uint64_t covered = 0;
    for (size_t i = 0; i < vgen_st_count(set); i++) {
        const vgen_st_tensor *t = vgen_st_at(set, i);
        check_tensor(set, t, data, size);
        covered += t->n_bytes;
    }
    FUZZ_ASSERT(covered <= size);
    for (size_t i = 0; i < vgen_st_metadata_count(set); i++) {
        const char *k = NULL, *v = NULL;
        vgen_st_metadata_at(set, i, &k, &v);
        FUZZ_ASSERT(k && v && vgen_st_metadata_get(set, k) != NULL);
    }
    FUZZ_ASSERT(vgen_st_find(set, "\x01 not a tensor \x02") == NULL || vgen_st_count(set) > 0);
    vgen_st_close(&set);
}

/* The same bytes with the length field rewritten so the header ends at the last '}': most mutations of the JSON
 * change its length, and would otherwise only ever exercise the length check. */
static void parse_relengthed(const uint8_t *data, size_t size) {
    size_t end = size;
    while (end > 8 && data[end - 1] != '}') end--;
    if (end <= 8) return;
    uint8_t *copy = malloc(size);
    if (!copy) return;
    memcpy(copy, data, size);
    for (int i = 0; i < 8; i++) copy[i] = (uint8_t)((uint64_t)(end - 8) >> (8 * i));
    parse_and_walk(copy, size);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse_and_walk(data, size);
    parse_relengthed(data, size);
    return 0;
}

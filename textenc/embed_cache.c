/* embed_cache.c - the embedding cache's entries: naming, reading with every check of embed_cache.h, and atomic
 * writing through the safetensors writer. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "embed_cache.h"
#include "safetensors.h"

struct vgen_embed_cache {
    char *dir;
    int writable;
    const vgen_logger *log;
};

/* mkdir -p with mode 0755: 0, or the errno of the first failure. */
static int make_dirs(const char *dir) {
    char *p = strdup(dir);
    if (!p) return ENOMEM;
    int e = 0;
    for (char *s = p + 1; !e; s++) {
        if (*s != '/' && *s != '\0') continue;
        const char saved = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) e = errno;
        *s = saved;
        if (!saved) break;
    }
    struct stat st;
    if (!e && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) e = ENOTDIR;
    free(p);
    return e;
}

int vgen_embed_cache_open(const char *dir, const vgen_logger *log, vgen_embed_cache **out, vgen_err *err) {
    if (!dir || !out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_embed_cache_open: NULL argument");
    *out = NULL;
    vgen_embed_cache *c = calloc(1, sizeof *c);
    if (c) c->dir = strdup(dir);
    if (!c || !c->dir) {
        free(c);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the embedding cache");
    }
    c->log = log;
    int e = make_dirs(dir);
    if (!e && access(dir, W_OK | X_OK) != 0) e = errno;
    if (e)
        VGEN_LOGW(log, "embedding cache: directory %s cannot be used (%s); encodings will not be cached", dir,
                  strerror(e));
    c->writable = e == 0;
    *out = c;
    return VGEN_OK;
}

void vgen_embed_cache_free(vgen_embed_cache **c) {
    if (!c || !*c) return;
    free((*c)->dir);
    free(*c);
    *c = NULL;
}

int vgen_embed_cache_writable(const vgen_embed_cache *c) { return c && c->writable; }

static uint64_t key_hash(const vgen_embed_key *k) {
    static const char tag[] = "vgen-embed-cache " VGEN_EMBED_CACHE_VERSION;
    uint64_t h = vgen_fnv1a64(VGEN_FNV1A64_INIT, tag, sizeof tag - 1);
    h = vgen_fnv1a64(h, &k->weights_id, sizeof k->weights_id);
    h = vgen_fnv1a64(h, &k->tokenizer_id, sizeof k->tokenizer_id);
    h = vgen_fnv1a64(h, k->prompt, strlen(k->prompt) + 1);
    h = vgen_fnv1a64(h, &k->max_len, sizeof k->max_len);
    h = vgen_fnv1a64(h, &k->d_model, sizeof k->d_model);
    return vgen_fnv1a64(h, k->precision, strlen(k->precision) + 1);
}

int vgen_embed_cache_entry_path(const vgen_embed_cache *c, const vgen_embed_key *k, char *buf, size_t size) {
    int n = snprintf(buf, size, "%s/%016" PRIx64 ".safetensors", c->dir, key_hash(k));
    return n < 0 || (size_t)n >= size ? VGEN_ERR_INVALID_ARGUMENT : VGEN_OK;
}

/* ---- metadata: every key field, the tokenization, the data hash ---- */

enum { META_VERSION, META_WEIGHTS, META_TOKENIZER, META_PROMPT, META_MAX_LEN, META_D_MODEL, META_PRECISION,
       META_N_TOKENS, META_IDS, META_DATA, META_COUNT };

static const char *const k_meta_keys[META_COUNT] = {"vgen.embed_cache", "weights_id", "tokenizer_id", "prompt",
                                                    "max_len", "d_model", "precision", "n_tokens", "ids_fnv",
                                                    "data_fnv"};

typedef struct meta_values {
    char num[META_COUNT][24];   /* formatted numbers */
    const char *v[META_COUNT];
} meta_values;

static void meta_fill(const vgen_embed_key *k, const vgen_embed_tokens *tok, uint64_t data_fnv, meta_values *m) {
    snprintf(m->num[META_WEIGHTS], 24, "%016" PRIx64, k->weights_id);
    snprintf(m->num[META_TOKENIZER], 24, "%016" PRIx64, k->tokenizer_id);
    snprintf(m->num[META_MAX_LEN], 24, "%" PRId64, k->max_len);
    snprintf(m->num[META_D_MODEL], 24, "%" PRId64, k->d_model);
    snprintf(m->num[META_N_TOKENS], 24, "%" PRId64, tok->n_tokens);
    snprintf(m->num[META_IDS], 24, "%016" PRIx64, tok->ids_fnv);
    snprintf(m->num[META_DATA], 24, "%016" PRIx64, data_fnv);
    for (int i = 0; i < META_COUNT; i++) m->v[i] = m->num[i];
    m->v[META_VERSION] = VGEN_EMBED_CACHE_VERSION;
    m->v[META_PROMPT] = k->prompt;
    m->v[META_PRECISION] = k->precision;
}

/* ---- reading ---- */

/* NULL if the entry's metadata matches, else the name of the first field that differs (data_fnv checked later). */
static const char *meta_mismatch(const vgen_st_set *set, const meta_values *want) {
    for (int i = 0; i < META_DATA; i++) {
        const char *got = vgen_st_metadata_get(set, k_meta_keys[i]);
        if (!got || strcmp(got, want->v[i]) != 0) return k_meta_keys[i];
    }
    return NULL;
}

/* NULL if ctx [L, D] (after the data hash) is a valid output: finite, rows past n_tokens zero; else why not. */
static const char *data_problem(const vgen_st_set *set, const vgen_embed_key *k, int64_t n_tokens,
                                const float **data) {
    const vgen_st_tensor *t = vgen_st_find(set, "ctx");
    if (!t) return "no tensor ctx";
    if (t->dtype != VGEN_ST_F32 || t->n_dims != 2 || t->shape[0] != k->max_len || t->shape[1] != k->d_model)
        return "tensor ctx has the wrong dtype or shape";
    char fnv[24];
    snprintf(fnv, sizeof fnv, "%016" PRIx64, vgen_fnv1a64(VGEN_FNV1A64_INIT, t->data, (size_t)t->n_bytes));
    const char *stored = vgen_st_metadata_get(set, k_meta_keys[META_DATA]);
    if (!stored || strcmp(stored, fnv) != 0) return "the data does not match its checksum";
    const size_t n = (size_t)(k->max_len * k->d_model), kept = (size_t)(n_tokens * k->d_model);
    for (size_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, (const unsigned char *)t->data + 4 * i, 4);
        if (!isfinite(v)) return "the data holds NaN or Inf";
        if (i >= kept && v != 0.0f) return "rows past the prompt are not zero";
    }
    *data = t->data;
    return NULL;
}

int vgen_embed_cache_get(vgen_embed_cache *c, const vgen_embed_key *k, const vgen_embed_tokens *tok, float *ctx) {
    char path[4096];
    struct stat st;
    if (!c || !k || !tok || !ctx || vgen_embed_cache_entry_path(c, k, path, sizeof path) || stat(path, &st) != 0)
        return 0;
    vgen_st_set *set = NULL;
    vgen_err err = {0};
    if (vgen_st_open(path, &set, &err) != 0) {
        VGEN_LOGW(c->log, "embedding cache: entry %s is unreadable or corrupt (%s); recomputing", path, err.msg);
        return 0;
    }
    meta_values want;
    meta_fill(k, tok, 0, &want);
    const float *data = NULL;
    const char *bad = meta_mismatch(set, &want);
    if (bad)
        VGEN_LOGW(c->log, "embedding cache: entry %s belongs to another request (its \"%s\" differs); recomputing",
                  path, bad);
    else if ((bad = data_problem(set, k, tok->n_tokens, &data)))
        VGEN_LOGW(c->log, "embedding cache: entry %s is corrupt (%s); recomputing", path, bad);
    if (data) memcpy(ctx, data, (size_t)(k->max_len * k->d_model) * sizeof *ctx);
    vgen_st_close(&set);
    if (data) VGEN_LOGD(c->log, "embedding cache: hit %s", path);
    return data != NULL;
}

/* ---- writing ---- */

void vgen_embed_cache_put(vgen_embed_cache *c, const vgen_embed_key *k, const vgen_embed_tokens *tok,
                          const float *ctx) {
    char path[4096];
    if (!c || !c->writable || !k || !tok || !ctx || vgen_embed_cache_entry_path(c, k, path, sizeof path)) return;
    const size_t bytes = (size_t)(k->max_len * k->d_model) * sizeof *ctx;
    meta_values m;
    meta_fill(k, tok, vgen_fnv1a64(VGEN_FNV1A64_INIT, ctx, bytes), &m);
    const vgen_st_decl decl = {.name = "ctx", .dtype = VGEN_ST_F32, .n_dims = 2, .shape = {k->max_len, k->d_model}};
    vgen_st_writer *w = NULL;
    vgen_err err = {0};
    int rc = vgen_st_writer_open(path, &decl, 1, k_meta_keys, m.v, META_COUNT, &w, &err);
    if (!rc) rc = vgen_st_writer_write(w, ctx, bytes, &err);
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    vgen_st_writer_abort(&w);
    if (rc) VGEN_LOGW(c->log, "embedding cache: cannot store %s (%s)", path, err.msg);
    else VGEN_LOGD(c->log, "embedding cache: stored %s", path);
}

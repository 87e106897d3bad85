/* text_encoder.c - the text-encoder front end: prompt cleaning, tokenization, the embedding cache, and the UMT5
 * encoder loaded on the first cache miss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed_cache.h"
#include "prompt_clean.h"
#include "safetensors.h"
#include "text_encoder.h"
#include "tokenizer.h"

struct vgen_text_encoder {
    vgen_umt5_params up;        /* with the strings below */
    char *encoder_path, *config_path, *format, *embed_format;
    int64_t max_len;
    const vgen_logger *log;
    vgen_abort_fn abort;
    void *abort_user_data;
    vgen_tokenizer *tok;
    vgen_umt5_config cfg;
    vgen_embed_cache *cache;    /* NULL: no cache */
    uint64_t weights_id, tokenizer_id;
    char precision[160];        /* the cache key's numerics: compute / formats / options */
    vgen_umt5_model *model;     /* NULL until the first miss */
    vgen_backend *be;           /* borrowed */
    vgen_umt5_session *session;
    int32_t *ids;               /* [max_len] */
    uint8_t *mask;              /* [max_len] */
};

void vgen_text_encoder_params_init(vgen_text_encoder_params *p) {
    memset(p, 0, sizeof *p);
    vgen_umt5_params_init(&p->umt5);
    p->max_len = 512;
}

static int dup_str(const char *s, char **out) {
    *out = NULL;
    if (!s) return 1;
    *out = strdup(s);
    return *out != NULL;
}

static int copy_params(vgen_text_encoder *te, const vgen_text_encoder_params *p, vgen_err *err) {
    te->up = p->umt5;
    te->up.log = p->log;
    te->max_len = p->max_len;
    te->log = p->log;
    te->abort = p->abort;
    te->abort_user_data = p->abort_user_data;
    if (!dup_str(p->encoder_path, &te->encoder_path) || !dup_str(p->umt5.config_path, &te->config_path) ||
        !dup_str(p->umt5.format, &te->format) || !dup_str(p->umt5.embed_format, &te->embed_format))
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the text encoder's parameters");
    te->up.config_path = te->config_path;
    te->up.format = te->format;
    te->up.embed_format = te->embed_format;
    const int quant = te->format && te->format[0];
    snprintf(te->precision, sizeof te->precision, "%s/%s/%s/wo_f32=%d/round_scores=%d",
             vgen_dtype_name(te->up.compute), quant ? te->format : "stored",
             quant && te->embed_format && te->embed_format[0] ? te->embed_format : "same",
             te->up.compute == VGEN_DTYPE_BF16 && te->up.wo_f32,
             te->up.compute == VGEN_DTYPE_BF16 && te->up.round_scores);
    te->ids = calloc((size_t)te->max_len, sizeof *te->ids);
    te->mask = calloc((size_t)te->max_len, sizeof *te->mask);
    if (!te->ids || !te->mask) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the token buffers");
    return VGEN_OK;
}

/* The encoder's configuration and weights identity, from the checkpoint's headers only. */
static int probe_encoder(vgen_text_encoder *te, vgen_err *err) {
    vgen_st_set *set = NULL;
    char cfg_path[4096];
    int rc = vgen_st_open(te->encoder_path, &set, err);
    if (!rc) rc = vgen_umt5_probe(te->encoder_path, &te->up, set, &te->cfg, cfg_path, sizeof cfg_path, err);
    if (!rc) rc = vgen_embed_cache_weights_id(set, cfg_path[0] ? cfg_path : NULL, &te->weights_id, err);
    vgen_st_close(&set);
    return rc;
}

static int setup(vgen_text_encoder *te, const vgen_text_encoder_params *p, vgen_err *err) {
    if (!p->tokenizer_path || !p->encoder_path)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "text encoder: tokenizer_path and encoder_path are "
                            "required");
    if (p->max_len < 2 || p->max_len > 65536)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "text encoder: max_len %lld outside 2..65536",
                            (long long)p->max_len);
    int rc = copy_params(te, p, err);
    if (!rc) rc = vgen_tokenizer_load(p->tokenizer_path, &te->tok, err);
    if (!rc) rc = vgen_embed_cache_tokenizer_id(p->tokenizer_path, &te->tokenizer_id, err);
    if (!rc) rc = probe_encoder(te, err);
    if (rc) return rc;
    const size_t tv = vgen_tokenizer_vocab_size(te->tok);
    if (tv > (size_t)te->cfg.vocab)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "tokenizer %s produces ids up to %zu but the encoder %s embeds only "
                            "%lld rows", p->tokenizer_path, tv - 1, p->encoder_path, (long long)te->cfg.vocab);
    if (p->cache_dir) rc = vgen_embed_cache_open(p->cache_dir, p->log, &te->cache, err);
    return rc;
}

int vgen_text_encoder_new(const vgen_text_encoder_params *p, vgen_backend *be, vgen_text_encoder **out,
                          vgen_err *err) {
    if (!p || !be || !out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_text_encoder_new: NULL argument");
    *out = NULL;
    vgen_text_encoder *te = calloc(1, sizeof *te);
    if (!te) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the text encoder");
    te->be = be;
    int rc = setup(te, p, err);
    if (rc) {
        vgen_text_encoder_free(&te);
        return rc;
    }
    *out = te;
    return VGEN_OK;
}

void vgen_text_encoder_unload(vgen_text_encoder *te) {
    if (!te) return;
    vgen_umt5_session_free(&te->session);
    vgen_umt5_free(&te->model);
}

int vgen_text_encoder_loaded(const vgen_text_encoder *te) { return te && te->model != NULL; }

const vgen_umt5_config *vgen_text_encoder_config(const vgen_text_encoder *te) { return &te->cfg; }

void vgen_text_encoder_free(vgen_text_encoder **pte) {
    if (!pte || !*pte) return;
    vgen_text_encoder *te = *pte;
    vgen_text_encoder_unload(te);
    vgen_embed_cache_free(&te->cache);
    vgen_tokenizer_free(&te->tok);
    free(te->encoder_path), free(te->config_path), free(te->format), free(te->embed_format);
    free(te->ids), free(te->mask);
    free(te);
    *pte = NULL;
}

/* The model and its session, loaded on the first miss. */
static int ensure_loaded(vgen_text_encoder *te, vgen_err *err) {
    if (te->session) return VGEN_OK;
    int rc = te->model ? VGEN_OK : vgen_umt5_load(te->encoder_path, &te->up, &te->model, err);
    if (!rc) rc = vgen_umt5_session_new(te->model, te->be, te->max_len, &te->session, err);
    if (rc) {
        vgen_text_encoder_unload(te);
        return rc;
    }
    vgen_umt5_session_set_abort(te->session, te->abort, te->abort_user_data);
    return VGEN_OK;
}

/* ids, mask and the token count of the cleaned prompt. */
static int tokenize(vgen_text_encoder *te, const char *prompt, size_t *n, vgen_err *err) {
    char *clean = NULL;
    size_t len = 0;
    int rc = vgen_prompt_clean(prompt, strlen(prompt), &clean, &len, err);
    if (!rc) rc = vgen_tokenizer_encode_padded(te->tok, clean, (size_t)te->max_len, te->ids, te->mask, n, err);
    free(clean);
    return rc;
}

static int encode_into(vgen_text_encoder *te, const char *prompt, vgen_tensor *ctx, int64_t *n_tokens,
                       vgen_err *err) {
    size_t n = 0;
    int rc = tokenize(te, prompt, &n, err);
    if (rc) return vgen_err_prefix(err, "prompt");
    const vgen_embed_key key = {.weights_id = te->weights_id, .tokenizer_id = te->tokenizer_id, .prompt = prompt,
                                .max_len = te->max_len, .d_model = te->cfg.d_model, .precision = te->precision};
    const vgen_embed_tokens tok = {.n_tokens = (int64_t)n,
                                   .ids_fnv = vgen_embed_cache_ids_hash(te->ids, te->mask, te->max_len)};
    if (n_tokens) *n_tokens = (int64_t)n;
    if (te->cache && vgen_embed_cache_get(te->cache, &key, &tok, ctx->data)) return VGEN_OK;
    rc = ensure_loaded(te, err);
    if (!rc) rc = vgen_umt5_encode_padded(te->session, te->ids, (int64_t)n, ctx, err);
    if (!rc && te->cache) vgen_embed_cache_put(te->cache, &key, &tok, ctx->data);
    return rc;
}

int vgen_text_encoder_encode(vgen_text_encoder *te, const char *prompt, vgen_tensor *ctx, int64_t *n_tokens,
                             vgen_err *err) {
    if (!te || !ctx) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "text encoder: NULL argument");
    memset(ctx, 0, sizeof *ctx);
    if (!prompt) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "text encoder: prompt is NULL");
    int rc = vgen_tensor_alloc(ctx, VGEN_DTYPE_F32, 2, (int64_t[2]){te->max_len, te->cfg.d_model}, err);
    if (!rc) rc = encode_into(te, prompt, ctx, n_tokens, err);
    if (rc) vgen_tensor_release(ctx);
    return rc;
}

void vgen_text_encoder_memory(const vgen_text_encoder *te, size_t *weights, size_t *session) {
    *weights = te->model ? vgen_umt5_owned_bytes(te->model) + vgen_umt5_mapped_bytes(te->model) : 0;
    *session = te->session ? vgen_umt5_session_bytes(te->session) : 0;
}

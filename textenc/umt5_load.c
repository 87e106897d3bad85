/* umt5_load.c - vgen_umt5_load: open the checkpoint, find the encoder's prefix and configuration, then read the
 * embedding, the layers one by one (quantizing them when asked, dropping source pages as it goes) and the final
 * norm, checking every tensor's shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "umt5_internal.h"

void vgen_umt5_params_init(vgen_umt5_params *p) {
    memset(p, 0, sizeof *p);
    p->compute = VGEN_DTYPE_BF16;
    p->round_scores = 1;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The config file vgen_umt5_load reads into buf: p->config_path, else <path>/config.json when path is a directory
 * holding one; "" when the configuration is derived from the shapes. */
static int config_file(const char *path, const vgen_umt5_params *p, char *buf, size_t size, vgen_err *err) {
    int n = 0;
    buf[0] = '\0';
    if (p->config_path) n = snprintf(buf, size, "%s", p->config_path);
    else if (is_dir(path)) n = snprintf(buf, size, "%s/config.json", path);
    if (n < 0 || (size_t)n >= size) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "config path too long");
    if (!p->config_path && buf[0] && !file_exists(buf)) buf[0] = '\0';
    return VGEN_OK;
}

int vgen_umt5_probe(const char *path, const vgen_umt5_params *p, const vgen_st_set *set, vgen_umt5_config *c,
                    char *config_path, size_t size, vgen_err *err) {
    vgen_umt5_layout l;
    int rc = config_file(path, p, config_path, size, err);
    if (!rc) rc = vgen_umt5_layout_detect(set, &l, err);
    if (rc) return rc;
    if (config_path[0]) return vgen_umt5_config_read(config_path, c, err);
    VGEN_LOGI(p->log, "%s: no config.json, UMT5 configuration derived from the tensor shapes", path);
    return vgen_umt5_config_derive(set, &l, c, err);
}

/* "encoder.block.<b>.<rest>" under the prefix. */
static int block_name(const vgen_umt5_model *m, int64_t b, const char *rest, char *buf, size_t size, vgen_err *err) {
    char r[256];
    int n = snprintf(r, sizeof r, "encoder.block.%lld.%s", (long long)b, rest);
    if (n < 0 || (size_t)n >= sizeof r) return vgen_err_set(err, VGEN_ERR_INTERNAL, "tensor name too long");
    return umt5_name(&m->layout, r, buf, size, err);
}

typedef struct mat_slot {
    const char *rest;
    size_t offset;          /* of the umt5_matrix in umt5_layer */
    int rows, cols;         /* 0 D, 1 I, 2 Dff */
} mat_slot;

static const mat_slot k_mats[] = {
    {"layer.0.SelfAttention.q.weight", offsetof(umt5_layer, q), 1, 0},
    {"layer.0.SelfAttention.k.weight", offsetof(umt5_layer, k), 1, 0},
    {"layer.0.SelfAttention.v.weight", offsetof(umt5_layer, v), 1, 0},
    {"layer.0.SelfAttention.o.weight", offsetof(umt5_layer, o), 0, 1},
    {"layer.1.DenseReluDense.wi_0.weight", offsetof(umt5_layer, wi0), 2, 0},
    {"layer.1.DenseReluDense.wi_1.weight", offsetof(umt5_layer, wi1), 2, 0},
    {"layer.1.DenseReluDense.wo.weight", offsetof(umt5_layer, wo), 0, 2},
};

static int load_layer(vgen_umt5_model *m, umt5_load_ctx *lc, int64_t b, umt5_layer *ly, vgen_err *err) {
    const vgen_umt5_config *c = &m->cfg;
    const int64_t dims[3] = {c->d_model, c->heads * c->d_kv, c->d_ff};
    char name[512];
    int rc = VGEN_OK;
    for (size_t i = 0; !rc && i < sizeof k_mats / sizeof k_mats[0]; i++) {
        rc = block_name(m, b, k_mats[i].rest, name, sizeof name, err);
        if (!rc)
            rc = umt5_load_matrix(lc, name, dims[k_mats[i].rows], dims[k_mats[i].cols], lc->quantize, lc->format,
                                  (umt5_matrix *)(void *)((char *)ly + k_mats[i].offset), err);
    }
    if (!rc) rc = block_name(m, b, "layer.0.layer_norm.weight", name, sizeof name, err);
    if (!rc) rc = umt5_load_vector(lc, name, c->d_model, 0, &ly->ln_attn, err);
    if (!rc) rc = block_name(m, b, "layer.1.layer_norm.weight", name, sizeof name, err);
    if (!rc) rc = umt5_load_vector(lc, name, c->d_model, 0, &ly->ln_ffn, err);
    if (!rc) rc = block_name(m, b, "layer.0.SelfAttention.relative_attention_bias.weight", name, sizeof name, err);
    float *table = NULL; /* [B, Nh] as stored */
    if (!rc) rc = umt5_load_vector(lc, name, c->buckets, c->heads, &table, err);
    if (rc) return rc;
    ly->rel_bias = table; /* transposed in place below to [Nh, B] */
    float *t = malloc((size_t)(c->buckets * c->heads) * sizeof *t);
    if (!t) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the relative bias of layer %lld",
                                (long long)b);
    for (int64_t k = 0; k < c->buckets; k++)
        for (int64_t h = 0; h < c->heads; h++) t[h * c->buckets + k] = table[k * c->heads + h];
    memcpy(table, t, (size_t)(c->buckets * c->heads) * sizeof *t);
    free(t);
    return VGEN_OK;
}

static int load_weights(vgen_umt5_model *m, const vgen_umt5_params *p, umt5_load_ctx *lc, vgen_err *err) {
    const vgen_umt5_config *c = &m->cfg;
    m->layers = calloc((size_t)c->layers, sizeof *m->layers);
    if (!m->layers) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %lld layers",
                                        (long long)c->layers);
    int rc = umt5_load_matrix(lc, m->layout.embed, c->vocab, c->d_model, lc->quantize, lc->embed_format, &m->embed,
                              err);
    for (int64_t b = 0; !rc && b < c->layers; b++) {
        rc = load_layer(m, lc, b, &m->layers[b], err);
        VGEN_LOGD(p->log, "UMT5 layer %lld/%lld loaded", (long long)b + 1, (long long)c->layers);
    }
    char name[512];
    if (!rc) rc = umt5_name(&m->layout, "encoder.final_layer_norm.weight", name, sizeof name, err);
    if (!rc) rc = umt5_load_vector(lc, name, c->d_model, 0, &m->ln_final, err);
    m->owned_bytes = lc->owned_bytes;
    m->mapped_bytes = lc->mapped_bytes;
    return rc;
}

static int parse_format(const char *name, const char *what, vgen_wformat *out, vgen_err *err) {
    if (vgen_wformat_from_name(name, out))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s \"%s\" is not a weight format name (int8_row, "
                            "fp8_e4m3_row, fp8_e4m3_tensor, int4_g32, int4_g64_zp, bf16, ...)", what, name);
    return VGEN_OK;
}

static int parse_options(const vgen_umt5_params *p, umt5_load_ctx *lc, vgen_err *err) {
    if (p->compute != VGEN_DTYPE_F32 && p->compute != VGEN_DTYPE_BF16)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "UMT5 compute dtype %s: expected f32 or bf16",
                            vgen_dtype_name(p->compute));
    lc->compute = p->compute;
    lc->pool = p->pool;
    if (!p->format || !p->format[0]) return VGEN_OK;
    int rc = parse_format(p->format, "format", &lc->format, err);
    lc->embed_format = lc->format;
    if (!rc && p->embed_format && p->embed_format[0]) rc = parse_format(p->embed_format, "embed_format",
                                                                        &lc->embed_format, err);
    lc->quantize = 1;
    return rc;
}

/* Sanity of a configuration against what the encoder can run. */
static int check_config(const vgen_umt5_config *c, vgen_err *err) {
    if (c->buckets < 4 || c->buckets % 2 || c->max_distance <= c->buckets / 4 || c->heads < 1 || c->d_kv < 1 ||
        c->layers < 1 || c->d_model < 1 || c->d_ff < 1 || c->vocab < 1 || !(c->eps > 0))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "invalid UMT5 configuration (buckets %lld, max_distance "
                            "%lld, heads %lld, d_kv %lld, layers %lld)", (long long)c->buckets,
                            (long long)c->max_distance, (long long)c->heads, (long long)c->d_kv, (long long)c->layers);
    return VGEN_OK;
}

/* More blocks than num_layers is a config that does not describe the file; fewer is reported by the first missing
 * tensor's name. */
static int check_block_count(const vgen_umt5_model *m, vgen_err *err) {
    char name[512];
    int rc = block_name(m, m->cfg.layers, "layer.0.SelfAttention.q.weight", name, sizeof name, err);
    if (!rc && vgen_st_find(m->set, name))
        return vgen_err_set(err, VGEN_ERR_SHAPE, "the checkpoint holds %s but the configuration says num_layers = "
                            "%lld", name, (long long)m->cfg.layers);
    return rc;
}

static int load_into(vgen_umt5_model *m, const char *path, const vgen_umt5_params *p, vgen_err *err) {
    umt5_load_ctx lc = {0};
    int rc = parse_options(p, &lc, err);
    if (!rc) rc = vgen_st_open(path, &m->set, err);
    char cfg[4096];
    if (!rc) rc = vgen_umt5_layout_detect(m->set, &m->layout, err);
    if (!rc) rc = vgen_umt5_probe(path, p, m->set, &m->cfg, cfg, sizeof cfg, err);
    if (!rc) rc = check_config(&m->cfg, err);
    if (!rc) rc = check_block_count(m, err);
    if (rc) return rc;
    m->compute = p->compute;
    m->wo_f32 = p->compute == VGEN_DTYPE_BF16 && p->wo_f32;
    m->round_scores = p->compute == VGEN_DTYPE_BF16 && p->round_scores;
    lc.set = m->set;
    return load_weights(m, p, &lc, err);
}

int vgen_umt5_load(const char *path, const vgen_umt5_params *p, vgen_umt5_model **out, vgen_err *err) {
    if (!out || !path) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_umt5_load: NULL argument");
    *out = NULL;
    vgen_umt5_params defaults;
    if (!p) {
        vgen_umt5_params_init(&defaults);
        p = &defaults;
    }
    vgen_umt5_model *m = calloc(1, sizeof *m);
    if (!m) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the UMT5 model");
    int rc = load_into(m, path, p, err);
    if (rc) {
        vgen_umt5_free(&m);
        return rc;
    }
    VGEN_LOGI(p->log, "UMT5 %s: %lld layers, d_model %lld, %lld heads x %lld, d_ff %lld, vocab %lld; %zu MB owned + "
              "%zu MB mapped", path, (long long)m->cfg.layers, (long long)m->cfg.d_model, (long long)m->cfg.heads,
              (long long)m->cfg.d_kv, (long long)m->cfg.d_ff, (long long)m->cfg.vocab, m->owned_bytes >> 20,
              m->mapped_bytes >> 20);
    *out = m;
    return VGEN_OK;
}

static void free_layer(umt5_layer *ly) {
    for (size_t i = 0; i < sizeof k_mats / sizeof k_mats[0]; i++)
        umt5_matrix_release((umt5_matrix *)(void *)((char *)ly + k_mats[i].offset));
    free(ly->ln_attn);
    free(ly->ln_ffn);
    free(ly->rel_bias);
}

void vgen_umt5_free(vgen_umt5_model **pm) {
    if (!pm || !*pm) return;
    vgen_umt5_model *m = *pm;
    for (int64_t b = 0; m->layers && b < m->cfg.layers; b++) free_layer(&m->layers[b]);
    free(m->layers);
    umt5_matrix_release(&m->embed);
    free(m->ln_final);
    vgen_st_close(&m->set);
    free(m);
    *pm = NULL;
}

const vgen_umt5_config *vgen_umt5_model_config(const vgen_umt5_model *m) { return &m->cfg; }
vgen_dtype vgen_umt5_model_compute(const vgen_umt5_model *m) { return m->compute; }
size_t vgen_umt5_owned_bytes(const vgen_umt5_model *m) { return m->owned_bytes; }
size_t vgen_umt5_mapped_bytes(const vgen_umt5_model *m) { return m->mapped_bytes; }
vgen_wformat vgen_umt5_linear_format(const vgen_umt5_model *m) { return m->layers[0].q.w.format; }
vgen_wformat vgen_umt5_embed_format(const vgen_umt5_model *m) { return m->embed.w.format; }

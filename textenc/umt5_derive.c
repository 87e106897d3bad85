/* umt5_derive.c - where the encoder lives in a checkpoint (name prefix, embedding name), and the configuration
 * implied by the tensor shapes when there is no config.json. */
#include <stdio.h>
#include <string.h>

#include "umt5_internal.h"

#define UMT5_MARKER "encoder.final_layer_norm.weight"

int umt5_name(const vgen_umt5_layout *l, const char *rest, char *buf, size_t size, vgen_err *err) {
    int n = snprintf(buf, size, "%s%s", l->prefix, rest);
    if (n < 0 || (size_t)n >= size)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tensor name %s%s is too long", l->prefix, rest);
    return VGEN_OK;
}

/* 1 and the prefix length if name is "<prefix>encoder.final_layer_norm.weight" with prefix "" or ending in '.'. */
static int marker_prefix(const char *name, size_t *plen) {
    size_t n = strlen(name), m = strlen(UMT5_MARKER);
    if (n < m || strcmp(name + n - m, UMT5_MARKER) != 0) return 0;
    *plen = n - m;
    return *plen == 0 || name[*plen - 1] == '.';
}

static int find_prefix(const vgen_st_set *set, vgen_umt5_layout *out, vgen_err *err) {
    int found = 0;
    for (size_t i = 0; i < vgen_st_count(set); i++) {
        const char *name = vgen_st_at(set, i)->name;
        size_t plen;
        if (!marker_prefix(name, &plen)) continue;
        if (found)
            return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "the checkpoint holds several UMT5 encoders (prefixes "
                                "\"%s\" and \"%.*s\"); extract one", out->prefix, (int)plen, name);
        if (plen >= sizeof out->prefix)
            return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "tensor name prefix of %s is too long", name);
        memcpy(out->prefix, name, plen);
        out->prefix[plen] = '\0';
        found = 1;
    }
    if (!found)
        return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "no UMT5 encoder in the checkpoint: tensor "
                            "\"[prefix.]" UMT5_MARKER "\" is missing");
    return VGEN_OK;
}

int vgen_umt5_layout_detect(const vgen_st_set *set, vgen_umt5_layout *out, vgen_err *err) {
    memset(out, 0, sizeof *out);
    int rc = find_prefix(set, out, err);
    if (rc) return rc;
    const char *cands[2] = {"shared.weight", "encoder.embed_tokens.weight"};
    for (int i = 0; i < 2; i++) {
        rc = umt5_name(out, cands[i], out->embed, sizeof out->embed, err);
        if (rc) return rc;
        if (vgen_st_find(set, out->embed)) return VGEN_OK;
    }
    return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "the UMT5 embedding is missing: neither %sshared.weight nor "
                        "%sencoder.embed_tokens.weight is in the checkpoint", out->prefix, out->prefix);
}

static int has_block(const vgen_st_set *set, const vgen_umt5_layout *l, int64_t b) {
    char name[512];
    char rest[128];
    snprintf(rest, sizeof rest, "encoder.block.%lld.layer.0.SelfAttention.q.weight", (long long)b);
    return umt5_name(l, rest, name, sizeof name, NULL) == 0 && vgen_st_find(set, name) != NULL;
}

/* Block 0's relative_attention_bias [B, Nh]. */
static int bias_dims(const vgen_st_set *set, const vgen_umt5_layout *l, vgen_umt5_config *c, vgen_err *err) {
    char name[512];
    int rc = umt5_name(l, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", name, sizeof name,
                       err);
    if (rc) return rc;
    const vgen_st_tensor *t = vgen_st_find(set, name);
    if (!t)
        return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "tensor %s is missing (expected shape [buckets, heads])", name);
    if (t->n_dims != 2 || t->shape[0] < 2 || t->shape[0] % 2 || t->shape[1] < 1)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor %s: expected a [buckets, heads] table with an even number "
                            "of buckets", name);
    c->buckets = t->shape[0];
    c->heads = t->shape[1];
    return VGEN_OK;
}

static int dims_of(const vgen_st_set *set, const vgen_umt5_layout *l, const char *rest, int64_t *n, int64_t *k,
                   vgen_err *err) {
    char name[512];
    int rc = umt5_name(l, rest, name, sizeof name, err);
    return rc ? rc : umt5_matrix_dims(set, name, n, k, err);
}

int vgen_umt5_config_derive(const vgen_st_set *set, const vgen_umt5_layout *l, vgen_umt5_config *c, vgen_err *err) {
    vgen_umt5_config_defaults(c);
    int64_t inner, dq, dff, dw;
    int rc = umt5_matrix_dims(set, l->embed, &c->vocab, &c->d_model, err);
    if (!rc) rc = bias_dims(set, l, c, err);
    if (!rc) rc = dims_of(set, l, "encoder.block.0.layer.0.SelfAttention.q.weight", &inner, &dq, err);
    if (!rc) rc = dims_of(set, l, "encoder.block.0.layer.1.DenseReluDense.wi_0.weight", &dff, &dw, err);
    if (rc) return rc;
    if (inner % c->heads)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%sencoder.block.0.layer.0.SelfAttention.q.weight has %lld rows, "
                            "not a multiple of the %lld heads of the relative attention bias", l->prefix,
                            (long long)inner, (long long)c->heads);
    c->d_kv = inner / c->heads;
    c->d_ff = dff;
    c->layers = 0;
    while (has_block(set, l, c->layers)) c->layers++;
    return VGEN_OK;
}

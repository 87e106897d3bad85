/* wan_derive.c - the configuration of a checkpoint without config.json, from its tensor shapes (wan_dit.h states
 * the rule; docs/dit.md explains the head_dim 128 assumption). */
#include <stdio.h>
#include <string.h>

#include "wan_internal.h"

#define WAN_MAX_LAYERS 1000

static const wan_slot *find_slot(const wan_slot *slots, size_t n, wan_kind kind, size_t offset) {
    for (size_t i = 0; i < n; i++)
        if (slots[i].kind == kind && slots[i].offset == offset) return &slots[i];
    return NULL;
}

/* [N, K] of the linear whose destination is at offset (block 0 when in_block). */
static int dims_of(const vgen_st_set *set, vgen_wan_layout l, int in_block, size_t offset, int64_t *n, int64_t *k,
                   vgen_err *err) {
    const wan_slot *s = in_block ? find_slot(wan_block_slots, wan_block_slot_count, WAN_K_LINEAR, offset)
                                 : find_slot(wan_global_slots, wan_global_slot_count, WAN_K_LINEAR, offset);
    char name[256];
    if (!s || wan_slot_name(l, s, in_block ? 0 : -1, name, sizeof name))
        return vgen_err_set(err, VGEN_ERR_INTERNAL, "DiT tensor table has no linear at offset %zu", offset);
    return wan_matrix_dims(set, name, n, k, err);
}

static int count_blocks(const vgen_st_set *set, vgen_wan_layout l, int64_t *layers) {
    char name[256];
    int64_t n = 0;
    while (n < WAN_MAX_LAYERS && !wan_slot_name(l, &wan_block_slots[0], n, name, sizeof name) &&
           vgen_st_find(set, name))
        n++;
    *layers = n;
    return n > 0;
}

static int patch_dims(const vgen_st_set *set, vgen_wan_layout l, vgen_wan_config *c, vgen_err *err) {
    char name[256];
    wan_slot_name(l, &wan_global_slots[0], -1, name, sizeof name);
    const vgen_st_tensor *t = vgen_st_find(set, name);
    if (!t) return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "tensor %s is missing", name);
    if (t->n_dims != 5 || t->shape[0] <= 0 || t->shape[1] <= 0 || t->shape[2] != 1 || t->shape[3] != 2 ||
        t->shape[4] != 2) {
        char s[96];
        return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor %s has shape %s, expected [dim, in_channels, 1, 2, 2]", name,
                            vgen_shape_str(t->shape, t->n_dims, s, sizeof s));
    }
    c->dim = t->shape[0];
    c->in_channels = t->shape[1];
    return VGEN_OK;
}

static int derive_heads(vgen_wan_config *c, vgen_err *err) {
    if (c->dim % 128)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED,
                            "no config.json, and dim %lld is not a multiple of 128: the head count cannot be derived "
                            "(give the model's config.json)", (long long)c->dim);
    c->head_dim = 128;
    c->heads = c->dim / 128;
    return VGEN_OK;
}

int vgen_wan_config_derive(const vgen_st_set *set, vgen_wan_layout l, vgen_wan_config *c, vgen_err *err) {
    vgen_wan_config_defaults(c);
    int rc = patch_dims(set, l, c, err);
    if (!rc) rc = derive_heads(c, err);
    if (rc) return rc;
    count_blocks(set, l, &c->layers); /* >= 1: layout detection found block 0 */
    int64_t n, k;
    if ((rc = dims_of(set, l, 1, offsetof(wan_block, ffn1), &n, &k, err))) return rc;
    c->ffn_dim = n;
    if ((rc = dims_of(set, l, 0, offsetof(wan_globals, text1), &n, &k, err))) return rc;
    c->text_dim = k;
    if ((rc = dims_of(set, l, 0, offsetof(wan_globals, time1), &n, &k, err))) return rc;
    c->freq_dim = k;
    if ((rc = dims_of(set, l, 0, offsetof(wan_globals, head), &n, &k, err))) return rc;
    if (n % 4 || k != c->dim)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "the head projection is [%lld, %lld], expected "
                            "[4 * out_channels, %lld]", (long long)n, (long long)k, (long long)c->dim);
    c->out_channels = n / 4;
    if (c->freq_dim % 2)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "the time embedder takes %lld features, expected an even number",
                            (long long)c->freq_dim);
    return VGEN_OK;
}

int64_t wan_stored_blocks(const vgen_st_set *set, vgen_wan_layout l) {
    int64_t n = 0;
    count_blocks(set, l, &n);
    return n;
}

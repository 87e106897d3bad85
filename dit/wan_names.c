/* wan_names.c - the DiT's tensor table: one row per tensor with its name in each layout, its expected shape and
 * where it goes in the model. The internal naming is diffusers'; the original Wan2.1 names (and ComfyUI's, the
 * same under a prefix) are the second column. Adding a layout is adding a column, not code. */
#include <stdio.h>
#include <string.h>

#include "wan_internal.h"

#define G(field) offsetof(wan_globals, field)
#define B(field) offsetof(wan_block, field)
#define LIN(d, o, field, n, k, q)                                                        \
    {{d ".weight", o ".weight"}, WAN_K_LINEAR, {n, k}, 0, q, B(field)},                  \
    {{d ".bias", o ".bias"}, WAN_K_VEC, {n}, 1, 0, B(field.b)}
#define GLIN(d, o, field, n, k, round_bias)                                              \
    {{d ".weight", o ".weight"}, WAN_K_LINEAR, {n, k}, 0, 0, G(field)},                  \
    {{d ".bias", o ".bias"}, WAN_K_VEC, {n}, round_bias, 0, G(field.b)}

const wan_slot wan_global_slots[] = {
    {{"patch_embedding.weight", "patch_embedding.weight"}, WAN_K_PATCH,
     {WAN_S_DIM, WAN_S_IN, WAN_S_1, WAN_S_2, WAN_S_2}, 1, 0, G(patch)},
    {{"patch_embedding.bias", "patch_embedding.bias"}, WAN_K_VEC, {WAN_S_DIM}, 1, 0, G(patch.b)},
    /* the time embedder is kept in f32 by diffusers (_keep_in_fp32_modules) */
    GLIN("condition_embedder.time_embedder.linear_1", "time_embedding.0", time1, WAN_S_DIM, WAN_S_FREQ, 0),
    GLIN("condition_embedder.time_embedder.linear_2", "time_embedding.2", time2, WAN_S_DIM, WAN_S_DIM, 0),
    GLIN("condition_embedder.time_proj", "time_projection.1", tproj, WAN_S_DIM6, WAN_S_DIM, 1),
    GLIN("condition_embedder.text_embedder.linear_1", "text_embedding.0", text1, WAN_S_DIM, WAN_S_TEXT, 1),
    GLIN("condition_embedder.text_embedder.linear_2", "text_embedding.2", text2, WAN_S_DIM, WAN_S_DIM, 1),
    {{"scale_shift_table", "head.modulation"}, WAN_K_TABLE, {WAN_S_1, WAN_S_2, WAN_S_DIM}, 0, 0, G(head_table)},
    GLIN("proj_out", "head.head", head, WAN_S_OUT4, WAN_S_DIM, 1),
};
const size_t wan_global_slot_count = sizeof wan_global_slots / sizeof wan_global_slots[0];

/* The first row is the layout marker of a block (wan_count_blocks). */
const wan_slot wan_block_slots[] = {
    LIN("attn1.to_q", "self_attn.q", sa_q, WAN_S_DIM, WAN_S_DIM, 1),
    LIN("attn1.to_k", "self_attn.k", sa_k, WAN_S_DIM, WAN_S_DIM, 1),
    LIN("attn1.to_v", "self_attn.v", sa_v, WAN_S_DIM, WAN_S_DIM, 1),
    LIN("attn1.to_out.0", "self_attn.o", sa_o, WAN_S_DIM, WAN_S_DIM, 1),
    {{"attn1.norm_q.weight", "self_attn.norm_q.weight"}, WAN_K_VEC, {WAN_S_DIM}, 1, 0, B(sa_nq)},
    {{"attn1.norm_k.weight", "self_attn.norm_k.weight"}, WAN_K_VEC, {WAN_S_DIM}, 1, 0, B(sa_nk)},
    LIN("attn2.to_q", "cross_attn.q", ca_q, WAN_S_DIM, WAN_S_DIM, 1),
    LIN("attn2.to_k", "cross_attn.k", ca_k, WAN_S_DIM, WAN_S_DIM, 1),
    LIN("attn2.to_v", "cross_attn.v", ca_v, WAN_S_DIM, WAN_S_DIM, 1),
    LIN("attn2.to_out.0", "cross_attn.o", ca_o, WAN_S_DIM, WAN_S_DIM, 1),
    {{"attn2.norm_q.weight", "cross_attn.norm_q.weight"}, WAN_K_VEC, {WAN_S_DIM}, 1, 0, B(ca_nq)},
    {{"attn2.norm_k.weight", "cross_attn.norm_k.weight"}, WAN_K_VEC, {WAN_S_DIM}, 1, 0, B(ca_nk)},
    /* diffusers' norm2 (affine, before cross-attention) is the original norm3; kept in f32 by diffusers */
    {{"norm2.weight", "norm3.weight"}, WAN_K_VEC, {WAN_S_DIM}, 0, 0, B(n2_w)},
    {{"norm2.bias", "norm3.bias"}, WAN_K_VEC, {WAN_S_DIM}, 0, 0, B(n2_b)},
    LIN("ffn.net.0.proj", "ffn.0", ffn1, WAN_S_FFN, WAN_S_DIM, 1),
    LIN("ffn.net.2", "ffn.2", ffn2, WAN_S_DIM, WAN_S_FFN, 1),
    {{"scale_shift_table", "modulation"}, WAN_K_TABLE, {WAN_S_1, WAN_S_6, WAN_S_DIM}, 0, 0, B(table)},
};
const size_t wan_block_slot_count = sizeof wan_block_slots / sizeof wan_block_slots[0];

/* Per layout: which name column, and the prefix every name carries. */
static const struct {
    const char *name;
    int column;
    const char *prefix;
} k_layouts[VGEN_WAN_LAYOUT_COUNT] = {
    [VGEN_WAN_LAYOUT_DIFFUSERS] = {"diffusers", 0, ""},
    [VGEN_WAN_LAYOUT_ORIGINAL] = {"wan-original", 1, ""},
    [VGEN_WAN_LAYOUT_COMFYUI] = {"comfyui", 1, "model.diffusion_model."},
};

const char *vgen_wan_layout_name(vgen_wan_layout l) {
    return (l >= 0 && l < VGEN_WAN_LAYOUT_COUNT) ? k_layouts[l].name : "?";
}

int wan_slot_name(vgen_wan_layout l, const wan_slot *s, int64_t block, char *buf, size_t size) {
    const char *prefix = k_layouts[l].prefix, *name = s->name[k_layouts[l].column];
    int n = block < 0 ? snprintf(buf, size, "%s%s", prefix, name)
                      : snprintf(buf, size, "%sblocks.%lld.%s", prefix, (long long)block, name);
    return (n < 0 || (size_t)n >= size) ? VGEN_ERR_INVALID_ARGUMENT : VGEN_OK;
}

static int64_t resolve(wan_sym sym, const vgen_wan_config *c) {
    switch (sym) {
    case WAN_S_1: return 1;
    case WAN_S_2: return 2;
    case WAN_S_6: return 6;
    case WAN_S_DIM: return c->dim;
    case WAN_S_DIM6: return 6 * c->dim;
    case WAN_S_FFN: return c->ffn_dim;
    case WAN_S_TEXT: return c->text_dim;
    case WAN_S_FREQ: return c->freq_dim;
    case WAN_S_IN: return c->in_channels;
    case WAN_S_OUT4: return 4 * c->out_channels;
    default: return 0;
    }
}

int wan_slot_shape(const wan_slot *s, const vgen_wan_config *c, int64_t shape[5]) {
    int r = 0;
    while (r < 5 && s->shape[r] != WAN_S_END) {
        shape[r] = resolve((wan_sym)s->shape[r], c);
        r++;
    }
    return r;
}

/* Layouts in detection order: the marker names must all be present. */
static const vgen_wan_layout k_detect_order[] = {VGEN_WAN_LAYOUT_DIFFUSERS, VGEN_WAN_LAYOUT_COMFYUI,
                                                 VGEN_WAN_LAYOUT_ORIGINAL};

static int has_markers(const vgen_st_set *set, vgen_wan_layout l) {
    char a[128], b[128];
    if (wan_slot_name(l, &wan_global_slots[0], -1, a, sizeof a) ||
        wan_slot_name(l, &wan_block_slots[0], 0, b, sizeof b))
        return 0;
    return vgen_st_find(set, a) && vgen_st_find(set, b);
}

/* Tensors of the image-to-video variants (CLIP image embedder, image key/value projections): their presence means
 * a model vgen does not run, which must not be run as text-to-video with those tensors ignored. */
static const char *const k_i2v_markers[][2] = {
    {"condition_embedder.image_embedder.ff.net.0.proj.weight", "img_emb.proj.1.weight"},
    {"blocks.0.attn2.add_k_proj.weight", "blocks.0.cross_attn.k_img.weight"},
};

static int refuse_i2v(const vgen_st_set *set, vgen_wan_layout l, vgen_err *err) {
    for (size_t i = 0; i < sizeof k_i2v_markers / sizeof k_i2v_markers[0]; i++) {
        char name[160];
        int n = snprintf(name, sizeof name, "%s%s", k_layouts[l].prefix, k_i2v_markers[i][k_layouts[l].column]);
        if (n > 0 && (size_t)n < sizeof name && vgen_st_find(set, name))
            return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "tensor %s: image-to-video Wan models are not supported",
                                name);
    }
    return VGEN_OK;
}

int vgen_wan_layout_detect(const vgen_st_set *set, vgen_wan_layout *out, vgen_err *err) {
    for (size_t i = 0; i < sizeof k_detect_order / sizeof k_detect_order[0]; i++) {
        if (has_markers(set, k_detect_order[i])) {
            *out = k_detect_order[i];
            return refuse_i2v(set, *out, err);
        }
    }
    return vgen_err_set(err, VGEN_ERR_UNSUPPORTED,
                        "not a Wan2.1 DiT checkpoint: found neither patch_embedding.weight + "
                        "blocks.0.attn1.to_q.weight (diffusers), nor patch_embedding.weight + "
                        "blocks.0.self_attn.q.weight (original Wan / ComfyUI, optionally under "
                        "model.diffusion_model.)");
}

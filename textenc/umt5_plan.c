/* umt5_plan.c - the encoder's memory from its configuration alone (no weight is read): the bytes vgen_umt5_load
 * holds (umt5_load.c's tensor list), the session arena of an encode (umt5_session.c), and both on a device
 * (umt5_place.c). */
#include "device_image.h"
#include "umt5_internal.h"

/* A layer's matrices, each piece 64-byte aligned: q, k, v [I, D], o [D, I], wi_0, wi_1 [F, D], wo [D, F]. */
static size_t layer_matrices_bytes(const vgen_umt5_config *c, vgen_wformat f) {
    const int64_t D = c->d_model, I = c->heads * c->d_kv, F = c->d_ff;
    return 3 * vgen_image_qmatrix_bytes(f, I, D) + vgen_image_qmatrix_bytes(f, D, I) +
           2 * vgen_image_qmatrix_bytes(f, F, D) + vgen_image_qmatrix_bytes(f, D, F);
}

/* As umt5_place.c lays a model out on a device: every piece of every layer, then the final norm, 64-byte aligned. */
static size_t place_bytes(const vgen_umt5_config *c, vgen_wformat format) {
    const size_t norm = vgen_round64((size_t)c->d_model * sizeof(float));
    const size_t layer = layer_matrices_bytes(c, format) + 2 * norm +
                         vgen_round64((size_t)(c->heads * c->buckets) * sizeof(float));
    return layer * (size_t)c->layers + norm;
}

int vgen_umt5_plan_memory(const vgen_umt5_config *c, vgen_wformat format, vgen_wformat embed_format,
                          const vgen_umt5_params *p, int64_t max_len, vgen_umt5_plan *out, vgen_err *err) {
    if (!c || !p || !out || max_len < 1 || !vgen_wformat_get(format) || !vgen_wformat_get(embed_format))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_umt5_plan_memory: bad argument");
    const int64_t D = c->d_model, F = c->d_ff;
    /* per layer: the matrices, two norms [D] and the bias table [B, Nh] */
    const size_t layer = layer_matrices_bytes(c, format) + (size_t)(2 * D + c->buckets * c->heads) * sizeof(float);
    *out = (vgen_umt5_plan){0};
    out->embed_bytes = vgen_image_qmatrix_bytes(embed_format, c->vocab, D);
    out->layer_bytes = layer;
    out->weight_bytes = out->embed_bytes + layer * (size_t)c->layers + (size_t)D * sizeof(float);
    out->max_linear_bf16 = vgen_image_qmatrix_bytes(VGEN_WF_BF16, F, D);
    umt5_session_shape sh = {p->compute, p->compute == VGEN_DTYPE_BF16 && p->wo_f32,
                             p->compute == VGEN_DTYPE_BF16 && p->round_scores, 0};
    out->session_bytes = umt5_session_arena_bytes(c, &sh, max_len);
    sh.device = 1;
    out->device_session_bytes = umt5_session_arena_bytes(c, &sh, max_len);
    out->device_weight_bytes = place_bytes(c, format);
    return VGEN_OK;
}

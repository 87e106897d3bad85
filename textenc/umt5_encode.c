/* umt5_encode.c - the encoder's forward: validate the ids and mask, gather the embedding rows (dequantizing only the
 * rows needed), run the layers, apply the final norm, and (encode_padded) zero the rows past the prompt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numeric.h"
#include "device_image.h"
#include "umt5_internal.h"

static int check_inputs(const vgen_umt5_session *s, const int32_t *ids, const uint8_t *mask, int64_t n,
                        vgen_err *err) {
    if (!ids) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "UMT5 encode: ids is NULL");
    if (n < 1 || n > s->max_len)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "UMT5 encode: %lld tokens, expected 1..%lld (the "
                            "session's max_len)", (long long)n, (long long)s->max_len);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= s->m->cfg.vocab)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "UMT5 encode: token %lld has id %d, outside the "
                                "embedding's [0, %lld)", (long long)i, (int)ids[i], (long long)s->m->cfg.vocab);
    int any = !mask;
    for (int64_t i = 0; mask && i < n; i++) any |= mask[i] != 0;
    if (!any) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "UMT5 encode: the mask hides every token");
    return VGEN_OK;
}

static int check_out(const vgen_tensor *out, int64_t rows, int64_t cols, vgen_err *err) {
    if (!out || !out->data || out->dtype != VGEN_DTYPE_F32 || out->device != VGEN_DEVICE_CPU || out->n_dims != 2 ||
        out->shape[0] != rows || out->shape[1] != cols)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "UMT5 encode: out must be an f32 CPU tensor [%lld, %lld]",
                            (long long)rows, (long long)cols);
    return VGEN_OK;
}

/* x[i] = embed[ids[i]] (bf16-rounded under bf16 compute: the table is bf16 there). Only n rows are dequantized,
 * on the host (the table never leaves it): into x itself on a host-addressable backend, else into the staging
 * buffer, then uploaded. */
static int embed(vgen_umt5_session *s, const int32_t *ids, int64_t n, vgen_err *err) {
    const int64_t D = s->m->cfg.d_model;
    const int direct = s->be->host_addressable;
    float *x = direct ? s->a.x.data : s->stage.f32; /* [n, D] */
    for (int64_t i = 0; i < n; i++) {
        vgen_wformat_dequantize_rows(&s->m->embed.w, ids[i], 1, x + i * D);
        if (s->m->compute != VGEN_DTYPE_BF16) continue;
        for (int64_t d = 0; d < D; d++) x[i * D + d] = vgen_bf16_to_f32(vgen_f32_to_bf16(x[i * D + d]));
    }
    return direct ? VGEN_OK : s->be->upload(s->be, s->a.x.data, x, (size_t)(n * D) * sizeof(float), err);
}

/* The hook sees host memory: device tensors are downloaded for it (tests only: the cost does not matter). */
static void hook(const vgen_umt5_session *s, const char *name, const vgen_tensor *t, int on_device) {
    if (!s->hook) return;
    if (s->be->host_addressable || !on_device) {
        s->hook(name, t, s->hook_user_data);
        return;
    }
    vgen_tensor h;
    vgen_err ignored;
    if (vgen_tensor_download_copy(s->be, t, &h, &ignored) == VGEN_OK) s->hook(name, &h, s->hook_user_data);
    free(h.data);
}

static int run_layers(vgen_umt5_session *s, const uint8_t *mask, int64_t n, vgen_err *err) {
    umt5_fwd f = {.n = n, .resid_bf16 = s->m->compute == VGEN_DTYPE_BF16};
    vgen_tensor x = umt5_rows(&s->a.x, n, s->m->cfg.d_model);
    hook(s, "embed", &x, 1);
    for (int64_t b = 0; b < s->m->cfg.layers; b++) {
        if (s->abort && s->abort(s->abort_user_data))
            return vgen_err_set(err, VGEN_ERR_ABORTED, "UMT5 encode aborted before layer %lld", (long long)b);
        const umt5_layer *ly = &s->place.layers[b];
        int rc = umt5_attention_block(s, ly, mask, &f, err);
        if (!rc) rc = umt5_ffn_block(s, ly, &f, err);
        if (rc) return vgen_err_prefix(err, "UMT5 layer %lld", (long long)b);
        char name[48];
        snprintf(name, sizeof name, "block.%lld.out", (long long)b);
        hook(s, name, &x, 1);
    }
    return VGEN_OK;
}

/* out[n, D] f32 = RMS(x) w_final, through the compute dtype. On a device backend the result lands in x (the
 * residual stream is no longer needed) and is downloaded into out. */
static int final_norm(vgen_umt5_session *s, int64_t n, vgen_tensor *out, vgen_err *err) {
    const int64_t D = s->m->cfg.d_model;
    const float *w = s->place.ln_final;
    vgen_tensor x = umt5_rows(&s->a.x, n, D);
    vgen_tensor *dst = s->be->host_addressable ? out : &x; /* [n, D] f32 */
    int rc;
    if (s->m->compute == VGEN_DTYPE_F32) {
        rc = umt5_norm(s, n, w, dst, err);
    } else {
        vgen_tensor h = umt5_rows(&s->a.h, n, D);
        rc = umt5_norm(s, n, w, &h, err);
        if (!rc) rc = s->be->convert(s->be, &h, dst, err);
    }
    if (!rc && dst != out) rc = s->be->download(s->be, out->data, x.data, vgen_tensor_bytes(&x), err);
    return rc;
}

int vgen_umt5_encode(vgen_umt5_session *s, const int32_t *ids, const uint8_t *mask, int64_t n, vgen_tensor *out,
                     vgen_err *err) {
    if (!s) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "UMT5 encode: session is NULL");
    int rc = check_inputs(s, ids, mask, n, err);
    if (!rc) rc = check_out(out, n, s->m->cfg.d_model, err);
    if (rc) return rc;
    rc = embed(s, ids, n, err);
    if (!rc && !s->be->host_addressable) rc = umt5_bias_inputs(s, mask, n, err);
    if (!rc) rc = run_layers(s, mask, n, err);
    if (!rc) rc = final_norm(s, n, out, err);
    if (!rc) hook(s, "final", out, 0);
    return rc;
}

int vgen_umt5_encode_padded(vgen_umt5_session *s, const int32_t *ids, int64_t n_tokens, vgen_tensor *out,
                            vgen_err *err) {
    if (!s) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "UMT5 encode: session is NULL");
    const int64_t L = s->max_len, D = s->m->cfg.d_model;
    int rc = check_out(out, L, D, err);
    if (rc) return rc;
    vgen_tensor head = umt5_rows(out, n_tokens, D); /* rows [0, n): the keys past them are padding, masked */
    rc = vgen_umt5_encode(s, ids, NULL, n_tokens, &head, err);
    if (rc) return rc;
    memset((float *)out->data + n_tokens * D, 0, (size_t)((L - n_tokens) * D) * sizeof(float));
    return VGEN_OK;
}

double vgen_umt5_flops(const vgen_umt5_config *c, int64_t n) {
    const double N = (double)n, D = (double)c->d_model, I = (double)(c->heads * c->d_kv), F = (double)c->d_ff;
    const double per_layer = 2 * N * (3 * D * I + I * D + 2 * D * F + F * D) + 4 * N * N * I;
    return per_layer * (double)c->layers;
}

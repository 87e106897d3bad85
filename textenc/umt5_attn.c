/* umt5_attn.c - the self-attention core of a UMT5 layer: att = softmax(q k^T + bias) v per head, with no
 * 1/sqrt(d_kv) scaling (T5).
 *
 * f32 compute runs the backend's fused attention. Under bf16 compute with round_scores, the logits are rounded as
 * torch's eager bf16 attention rounds them: scores = bf16(q_h k_h^T) by the backend's linear (bf16 products, f32
 * sums, one rounding), logits = bf16(scores + bias) by a binary add; the logits then replace the bias of a fused
 * attention run with scale 0, which computes softmax(logits) v. The softmax and p v stay the backend's (f32 softmax,
 * bf16 probabilities on the bf16 path). The extra work is a [n, Dk] x [Dk, n] product per head, as much as the
 * fused attention's own q k^T. */
#include <string.h>

#include "umt5_internal.h"

static vgen_tensor view(const vgen_umt5_session *s, void *data, vgen_dtype dt, int n_dims, int64_t a, int64_t b,
                        int64_t c) {
    return umt5_view(s, data, dt, n_dims, a, b, c);
}

/* dst[i, :] = src[i, h, :] for i < n: one head of [n, Nh, Dk] bf16 made contiguous [n, Dk] (a strided copy). */
static int gather_head(vgen_umt5_session *s, const vgen_tensor *src, int64_t n, int64_t h, vgen_tensor *dst,
                       vgen_err *err) {
    const int64_t heads = s->m->cfg.heads, dk = s->m->cfg.d_kv;
    const int64_t shape[2] = {n, dk}, src_strides[2] = {heads * dk, 1}, dst_strides[2] = {dk, 1};
    return s->be->copy_strided(s->be, (const uint16_t *)src->data + h * dk, src_strides, dst->data, dst_strides,
                               shape, 2, sizeof(uint16_t), err);
}

/* bias[h] (f32 [n, n]) = bf16(bf16(q_h k_h^T) + bias[h]) for every head. */
static int rounded_logits(vgen_umt5_session *s, int64_t n, vgen_err *err) {
    const vgen_umt5_config *c = &s->m->cfg;
    vgen_backend *be = s->be;
    umt5_acts *a = &s->a;
    vgen_tensor qh = view(s, a->qh.data, VGEN_DTYPE_BF16, 2, n, c->d_kv, 0);
    vgen_tensor kh = view(s, a->kh.data, VGEN_DTYPE_BF16, 2, n, c->d_kv, 0);
    vgen_tensor sc = view(s, a->sc.data, VGEN_DTYPE_BF16, 2, n, n, 0);      /* [n, n] */
    const vgen_qmatrix kw = {.format = VGEN_WF_BF16, .rows = n, .cols = c->d_kv, .data = a->kh.data};
    int rc = VGEN_OK;
    for (int64_t h = 0; !rc && h < c->heads; h++) {
        vgen_tensor bh = view(s, (float *)a->bias.data + h * n * n, VGEN_DTYPE_F32, 2, n, n, 0); /* [n, n] */
        rc = gather_head(s, &a->q, n, h, &qh, err);
        if (!rc) rc = gather_head(s, &a->k, n, h, &kh, err);
        if (!rc) rc = be->linear(be, &qh, &kw, NULL, &sc, err);
        if (!rc) rc = be->binary(be, VGEN_BINARY_ADD, &sc, &bh, &sc, err);
        if (!rc) rc = be->convert(be, &sc, &bh, err);
    }
    return rc;
}

int umt5_attention(vgen_umt5_session *s, int64_t n, vgen_err *err) {
    const vgen_umt5_config *c = &s->m->cfg;
    const vgen_dtype cd = s->m->compute;
    umt5_acts *a = &s->a;
    vgen_tensor q3 = view(s, a->q.data, cd, 3, n, c->heads, c->d_kv); /* [n, Nh, Dk] */
    vgen_tensor k3 = view(s, a->k.data, cd, 3, n, c->heads, c->d_kv);
    vgen_tensor v3 = view(s, a->v.data, cd, 3, n, c->heads, c->d_kv);
    vgen_tensor o3 = view(s, a->att.data, cd, 3, n, c->heads, c->d_kv);
    vgen_tensor bias = view(s, a->bias.data, VGEN_DTYPE_F32, 3, c->heads, n, n); /* [Nh, n, n] */
    float scale = 1.0f;
    if (s->m->round_scores) {
        int rc = rounded_logits(s, n, err);
        if (rc) return rc;
        scale = 0.0f; /* the logits are all in the bias now */
    }
    return s->be->attention(s->be, &q3, &k3, &v3, scale, &bias, &o3, err);
}

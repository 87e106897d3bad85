/* umt5_layer.c - one UMT5 layer on the backend: the self-attention and gated-GELU FFN sub-blocks, each
 * x += f(RMS(x) w), and the bf16 rounding of the residual stream where transformers holds it in bf16.
 *
 * Under bf16 compute the sub-blocks follow from_pretrained(torch_dtype=bf16): norms compute in f32 and round
 * x * rsqrt(mean(x^2) + eps) to bf16 before the (bf16) weight multiplies it; projections, the GELU and the gate product
 * round to bf16; with wo_f32 the FFN output runs in f32 (its input converted to f32) and the residual stream, bf16
 * until then, becomes f32 from the first FFN on (torch promotes bf16 + f32 to f32). */
#include <stdint.h>

#include "umt5_internal.h"

/* A 2-D tensor [rows, cols] of dtype over data (a view on the session's device). */
static vgen_tensor view2(const vgen_umt5_session *s, void *data, vgen_dtype dt, int64_t rows, int64_t cols) {
    return umt5_view(s, data, dt, 2, rows, cols, 0);
}

int umt5_norm(vgen_umt5_session *s, int64_t n, const float *w, vgen_tensor *dst, vgen_err *err) {
    vgen_backend *be = s->be;
    const int64_t D = s->m->cfg.d_model;
    vgen_tensor x = view2(s, s->a.x.data, VGEN_DTYPE_F32, n, D); /* [n, D] */
    if (dst->dtype == VGEN_DTYPE_F32) return be->rms_norm(be, &x, w, s->m->cfg.eps, dst, err);
    int rc = be->rms_norm(be, &x, NULL, s->m->cfg.eps, dst, err); /* bf16(x * rsqrt(mean(x^2) + eps)) */
    vgen_tensor wt = view2(s, (void *)(uintptr_t)w, VGEN_DTYPE_F32, 1, D);
    wt.n_dims = 1;
    wt.shape[0] = D; /* [D], broadcast over rows */
    if (!rc) rc = be->binary(be, VGEN_BINARY_MUL, dst, &wt, dst, err);
    return rc;
}

/* x[n, D] += y[n, D]; then, when torch holds the sum in bf16, x = bf16(x). */
static int residual_add(vgen_umt5_session *s, int64_t n, const vgen_tensor *y, int round_bf16, vgen_err *err) {
    vgen_backend *be = s->be;
    const int64_t D = s->m->cfg.d_model;
    vgen_tensor x = view2(s, s->a.x.data, VGEN_DTYPE_F32, n, D);
    int rc = be->binary(be, VGEN_BINARY_ADD, &x, y, &x, err);
    if (rc || !round_bf16) return rc;
    vgen_tensor x16 = view2(s, s->a.x16.data, VGEN_DTYPE_BF16, n, D);
    rc = be->convert(be, &x, &x16, err);
    if (!rc) rc = be->convert(be, &x16, &x, err);
    return rc;
}

static int linear(vgen_umt5_session *s, const vgen_tensor *x, const umt5_matrix *w, vgen_tensor *y, vgen_err *err) {
    return s->be->linear(s->be, x, &w->w, NULL, y, err);
}

int umt5_attention_block(vgen_umt5_session *s, const umt5_layer *ly, const uint8_t *mask, umt5_fwd *f,
                         vgen_err *err) {
    const vgen_umt5_config *c = &s->m->cfg;
    const vgen_dtype cd = s->m->compute;
    const int64_t n = f->n, D = c->d_model, I = c->heads * c->d_kv;
    umt5_acts *a = &s->a;
    vgen_tensor h = view2(s, a->h.data, cd, n, D);
    vgen_tensor q = view2(s, a->q.data, cd, n, I), k = view2(s, a->k.data, cd, n, I); /* [n, I] */
    vgen_tensor v = view2(s, a->v.data, cd, n, I);
    int rc = umt5_norm(s, n, ly->ln_attn, &h, err);
    if (!rc) rc = linear(s, &h, &ly->q, &q, err);
    if (!rc) rc = linear(s, &h, &ly->k, &k, err);
    if (!rc) rc = linear(s, &h, &ly->v, &v, err);
    if (rc) return rc;
    rc = umt5_fill_bias(s, ly->rel_bias, mask, n, err);
    if (!rc) rc = umt5_attention(s, n, err);
    vgen_tensor att = view2(s, a->att.data, cd, n, I);
    vgen_tensor o = view2(s, a->o.data, cd, n, D); /* the attention output is in the compute dtype */
    if (!rc) rc = linear(s, &att, &ly->o, &o, err);
    if (!rc) rc = residual_add(s, n, &o, f->resid_bf16, err);
    return rc;
}

int umt5_ffn_block(vgen_umt5_session *s, const umt5_layer *ly, umt5_fwd *f, vgen_err *err) {
    const vgen_umt5_config *c = &s->m->cfg;
    const vgen_dtype cd = s->m->compute;
    const int64_t n = f->n, D = c->d_model, F = c->d_ff;
    vgen_backend *be = s->be;
    umt5_acts *a = &s->a;
    vgen_tensor h = view2(s, a->h.data, cd, n, D);
    vgen_tensor g = view2(s, a->g.data, cd, n, F), u = view2(s, a->u.data, cd, n, F); /* [n, Dff] */
    int rc = umt5_norm(s, n, ly->ln_ffn, &h, err);
    if (!rc) rc = linear(s, &h, &ly->wi0, &g, err);
    if (!rc) rc = linear(s, &h, &ly->wi1, &u, err);
    if (!rc) rc = be->unary(be, VGEN_UNARY_GELU_TANH, &g, &g, err);
    if (!rc) rc = be->binary(be, VGEN_BINARY_MUL, &g, &u, &g, err);
    if (rc) return rc;
    const int wo32 = s->m->wo_f32;
    vgen_tensor y = view2(s, a->o.data, wo32 ? VGEN_DTYPE_F32 : cd, n, D);
    if (wo32) {
        vgen_tensor g32 = view2(s, a->g32.data, VGEN_DTYPE_F32, n, F);
        rc = be->convert(be, &g, &g32, err);
        if (!rc) rc = linear(s, &g32, &ly->wo, &y, err);
    } else {
        rc = linear(s, &g, &ly->wo, &y, err);
    }
    f->resid_bf16 = f->resid_bf16 && !wo32;
    if (!rc) rc = residual_add(s, n, &y, f->resid_bf16, err);
    return rc;
}

/* wan_block.c - one Wan transformer block (diffusers WanTransformerBlock):
 *
 *   (shift1, scale1, gate1, shift2, scale2, gate2) = table[6, D] + tproj[6, D]            (f32)
 *   x += gate1 * SelfAttn(LN(x) * (1 + scale1) + shift1)
 *   x += CrossAttn(LN_affine(x), ctx)
 *   x += gate2 * FFN(LN(x) * (1 + scale2) + shift2)
 *
 * Each update is computed in f32 and rounded once to the residual stream's dtype, as diffusers' bf16 model does
 * (`(x.float() + y * gate).type_as(x)`). Norms and modulation are f32 inside the backend ops; projections and
 * attention run in the compute dtype. */
#include <math.h>

#include "wan_internal.h"

/* a[L, D] viewed as [L, Nh, Dh] for RoPE and attention. */
static vgen_tensor heads_view(const vgen_tensor *a, int64_t heads, int64_t head_dim) {
    vgen_tensor v = *a;
    v.owner = VGEN_OWNER_NONE;
    v.n_dims = 3;
    v.shape[1] = heads;
    v.shape[2] = head_dim;
    return v;
}

/* mod[6, D] = table[6, D] + tproj[6 * D] as f32: tproj widened into mod, then the table added. */
static int modulation(vgen_dit_session *s, const wan_block *b, vgen_err *err) {
    const int64_t d = s->m->cfg.dim;
    vgen_tensor mod = wan_f32_view(s, s->a.mod, 6, d), table = wan_f32_view(s, b->table, 6, d);
    vgen_tensor tproj = wan_view2(&s->a.tproj, 6, d);
    int rc = wan_copy_convert(s->be, &tproj, &mod, err);
    if (!rc) rc = s->be->binary(s->be, VGEN_BINARY_ADD, &mod, &table, &mod, err);
    return rc;
}

/* att[L, D] = softmax(q k^T / sqrt(Dh)) v per head; q [L, D], k/v [Lk, D]. */
static int attend(vgen_dit_session *s, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                  vgen_err *err) {
    const vgen_wan_config *c = &s->m->cfg;
    vgen_tensor qh = heads_view(q, c->heads, c->head_dim), kh = heads_view(k, c->heads, c->head_dim);
    vgen_tensor vh = heads_view(v, c->heads, c->head_dim), oh = heads_view(&s->a.att, c->heads, c->head_dim);
    return s->be->attention(s->be, &qh, &kh, &vh, 1.0f / sqrtf((float)c->head_dim), NULL, &oh, err);
}

/* o[L, D] = Wo SelfAttn(h) with RMS-normed, rotated q and k. */
static int self_attention(vgen_dit_session *s, const wan_block *b, vgen_err *err) {
    vgen_backend *be = s->be;
    wan_acts *a = &s->a;
    const vgen_wan_config *c = &s->m->cfg;
    int rc = be->linear(be, &a->h, &b->sa_q.w, b->sa_q.b, &a->q, err); /* [L, D] */
    if (!rc) rc = be->linear(be, &a->h, &b->sa_k.w, b->sa_k.b, &a->k, err);
    if (!rc) rc = be->linear(be, &a->h, &b->sa_v.w, b->sa_v.b, &a->v, err);
    if (!rc) rc = be->rms_norm(be, &a->q, b->sa_nq, c->eps, &a->q, err); /* over all D features */
    if (!rc) rc = be->rms_norm(be, &a->k, b->sa_nk, c->eps, &a->k, err);
    vgen_tensor qh = heads_view(&a->q, c->heads, c->head_dim), kh = heads_view(&a->k, c->heads, c->head_dim);
    if (!rc) rc = be->rope(be, &qh, a->rope_cos, a->rope_sin, err); /* [L, Nh, Dh] */
    if (!rc) rc = be->rope(be, &kh, a->rope_cos, a->rope_sin, err);
    if (!rc) rc = attend(s, &a->q, &a->k, &a->v, err);
    if (!rc) rc = be->linear(be, &a->att, &b->sa_o.w, b->sa_o.b, &a->o, err);
    return rc;
}

/* o[L, D] = Wo CrossAttn(h, ctx): q from the tokens, k and v from the Lc context rows (no RoPE, no mask). */
static int cross_attention(vgen_dit_session *s, const wan_block *b, vgen_err *err) {
    vgen_backend *be = s->be;
    wan_acts *a = &s->a;
    const float eps = s->m->cfg.eps;
    int rc = be->linear(be, &a->h, &b->ca_q.w, b->ca_q.b, &a->q, err);   /* [L, D] */
    if (!rc) rc = be->linear(be, &a->ctx, &b->ca_k.w, b->ca_k.b, &a->ck, err); /* [Lc, D] */
    if (!rc) rc = be->linear(be, &a->ctx, &b->ca_v.w, b->ca_v.b, &a->cv, err);
    if (!rc) rc = be->rms_norm(be, &a->q, b->ca_nq, eps, &a->q, err);
    if (!rc) rc = be->rms_norm(be, &a->ck, b->ca_nk, eps, &a->ck, err);
    if (!rc) rc = attend(s, &a->q, &a->ck, &a->cv, err);
    if (!rc) rc = be->linear(be, &a->att, &b->ca_o.w, b->ca_o.b, &a->o, err);
    return rc;
}

/* o[L, D] = W2 GELU_tanh(W1 h + b1) + b2. */
static int feed_forward(vgen_dit_session *s, const wan_block *b, vgen_err *err) {
    vgen_backend *be = s->be;
    wan_acts *a = &s->a;
    int rc = be->linear(be, &a->h, &b->ffn1.w, b->ffn1.b, &a->ff, err); /* [L, Dff] */
    if (!rc) rc = be->unary(be, VGEN_UNARY_GELU_TANH, &a->ff, &a->ff, err);
    if (!rc) rc = be->linear(be, &a->ff, &b->ffn2.w, b->ffn2.b, &a->o, err); /* [L, D] */
    return rc;
}

int wan_block_forward(vgen_dit_session *s, const wan_block *b, int64_t bi, vgen_err *err) {
    vgen_backend *be = s->be;
    wan_acts *a = &s->a;
    const int64_t d = s->m->cfg.dim;
    const float eps = s->m->cfg.eps;
    float *mod = a->mod; /* [6, D]: shift1, scale1, gate1, shift2, scale2, gate2 */
    int rc = modulation(s, b, err);

    if (!rc) rc = be->layer_norm(be, &a->x, NULL, NULL, mod + 0 * d, mod + 1 * d, eps, &a->h, err);
    if (!rc) rc = self_attention(s, b, err);
    if (!rc) wan_hook(s, bi, "attn1.out", &a->o);
    if (!rc) rc = be->gated_add(be, &a->x, mod + 2 * d, &a->o, err);

    if (!rc) rc = be->layer_norm(be, &a->x, b->n2_w, b->n2_b, NULL, NULL, eps, &a->h, err);
    if (!rc) rc = cross_attention(s, b, err);
    if (!rc) wan_hook(s, bi, "attn2.out", &a->o);
    if (!rc) rc = be->gated_add(be, &a->x, NULL, &a->o, err);

    if (!rc) rc = be->layer_norm(be, &a->x, NULL, NULL, mod + 3 * d, mod + 4 * d, eps, &a->h, err);
    if (!rc) rc = feed_forward(s, b, err);
    if (!rc) wan_hook(s, bi, "ffn.out", &a->o);
    if (!rc) rc = be->gated_add(be, &a->x, mod + 5 * d, &a->o, err);
    if (!rc) wan_hook(s, bi, "out", &a->x);
    return rc;
}

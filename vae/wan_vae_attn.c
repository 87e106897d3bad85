/* wan_vae_attn.c - the mid-block attention (WanAttentionBlock): single head over the H W positions of each frame,
 *   x_t [C, S] -> n = rms(x_t) * gamma -> q, k, v = n^T Wq^T + bq, ... [S, C] -> o = softmax(q k^T / sqrt(C)) v
 *   -> y_t = (o Wp^T + bp)^T + x_t
 * (to_qkv and proj are 1x1 Conv2d, i.e. linears over channels.) */
#include <math.h>

#include "wan_vae_internal.h"

typedef struct attn_bufs {
    vgen_tensor f, n, xt, q, k, v, o;   /* f, n [C, S]; the rest [S, C] */
} attn_bufs;

static int alloc_bufs(wvae_dec *d, int64_t c, int64_t s_len, attn_bufs *b, vgen_err *err) {
    int64_t cs[2] = {c, s_len}, sc[2] = {s_len, c};
    int rc = wvae_alloc(d->mem, &b->f, 2, cs, err);
    if (!rc) rc = wvae_alloc(d->mem, &b->n, 2, cs, err);
    vgen_tensor *rows[5] = {&b->xt, &b->q, &b->k, &b->v, &b->o};
    for (int i = 0; i < 5 && !rc; i++) rc = wvae_alloc(d->mem, rows[i], 2, sc, err);
    return rc;
}

/* Frame t of x [C, T, H, W] through the block into frame t of y. */
static int attn_frame(wvae_dec *d, const wvae_attn *a, const vgen_tensor *x, int64_t t, attn_bufs *b,
                      vgen_tensor *y, vgen_err *err) {
    const int64_t c = a->dim, s_len = x->shape[2] * x->shape[3];
    int64_t f4[4] = {c, 1, x->shape[2], x->shape[3]}, q3[3] = {s_len, 1, c};
    vgen_tensor f1, q, k, v, o;
    wvae_view(&f1, &b->f, 4, f4);
    int rc = wvae_copy_frames(d, x, t, &f1, 0, 1, err);                          /* f = x_t [C, S] */
    if (!rc) rc = wvae_op_norm(d, &b->f, a->gamma, &b->n, err);                   /* n [C, S] */
    if (!rc) rc = wvae_transpose(d, b->n.data, c, s_len, b->xt.data, err);        /* xt [S, C] */
    if (!rc) rc = wvae_op_linear(d, &b->xt, &a->wq, a->bq, &b->q, err);
    if (!rc) rc = wvae_op_linear(d, &b->xt, &a->wk, a->bk, &b->k, err);
    if (!rc) rc = wvae_op_linear(d, &b->xt, &a->wv, a->bv, &b->v, err);
    wvae_view(&q, &b->q, 3, q3), wvae_view(&k, &b->k, 3, q3), wvae_view(&v, &b->v, 3, q3), wvae_view(&o, &b->o, 3, q3);
    if (!rc) rc = wvae_op_attention(d, &q, &k, &v, 1.0f / sqrtf((float)c), &o, err); /* o [S, 1, C] */
    if (!rc) rc = wvae_op_linear(d, &b->o, &a->wp, a->bp, &b->xt, err);          /* p [S, C] in xt */
    if (!rc) rc = wvae_transpose(d, b->xt.data, s_len, c, b->n.data, err);        /* p^T [C, S] in n */
    if (!rc) rc = wvae_op_add(d, &b->n, &b->f, &b->n, err);                       /* + x_t */
    wvae_view(&f1, &b->n, 4, f4);
    if (!rc) rc = wvae_copy_frames(d, &f1, 0, y, t, 1, err);
    return rc;
}

/* y [C, T, H, W] = attention block of x [C, T, H, W], frame by frame; y must not alias x. */
int wvae_attention(wvae_dec *d, const wvae_attn *a, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    const size_t mark = wvae_mark(d->mem);
    attn_bufs b;
    int rc = alloc_bufs(d, a->dim, x->shape[2] * x->shape[3], &b, err);
    for (int64_t t = 0; t < x->shape[1] && !rc; t++) rc = attn_frame(d, a, x, t, &b, y, err);
    wvae_reset(d->mem, mark);
    return rc;
}

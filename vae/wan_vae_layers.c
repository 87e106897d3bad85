/* wan_vae_layers.c - the causal convolution with its cache, and the residual block (WanResidualBlock):
 *   y = conv2(silu(rms2(conv1(silu(rms1(x)))))) + shortcut(x)      shortcut: 1x1x1 conv if Cin != Cout, else x
 * on chunks x [C, T, H, W]. Scratch comes from the decode's scratch stack and is released before returning. */
#include "wan_vae_internal.h"

static void shape4(int64_t s[4], int64_t c, int64_t t, int64_t h, int64_t w) { s[0] = c, s[1] = t, s[2] = h, s[3] = w; }

int wvae_norm_silu(wvae_dec *d, const vgen_tensor *x, const float *gamma, vgen_tensor *y, vgen_err *err) {
    int rc = wvae_op_norm(d, x, gamma, y, err);
    return rc ? rc : wvae_op_silu(d, y, y, err);
}

/* y [Cout, nt, H, W] = causal conv of frames [t0, t0 + nt) of x [Cin, T, H, W]: the input is the window
 * cat(cache, x frames) with 2 - n zero frames before it, and the spatial padding is kernel / 2. y may alias x: x is
 * copied into the window first. */
int wvae_causal_conv(wvae_dec *d, const wvae_conv *cv, const vgen_tensor *x, int64_t t0, int64_t nt, vgen_tensor *y,
                     vgen_err *err) {
    wvae_cache *cache = &d->caches[cv->slot];
    const size_t mark = wvae_mark(d->mem);
    int64_t s[4];
    shape4(s, x->shape[0], cache->n + nt, x->shape[2], x->shape[3]);
    vgen_tensor win;
    int rc = wvae_alloc(d->mem, &win, 4, s, err);
    int n = cache->n;
    if (!rc) rc = wvae_window(d, cache, x, t0, nt, &win, err);
    if (!rc) rc = wvae_op_conv(d, &win, cv, WVAE_CACHE_T - n, cv->kh / 2, y, err);
    if (!rc) rc = wvae_cache_update(d, cache, &win, err);
    wvae_reset(d->mem, mark);
    return rc;
}

/* y [Cout, T, H, W] = residual block of x [Cin, T, H, W]; y must not alias x. */
int wvae_res_block(wvae_dec *d, const wvae_res *r, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    const int64_t t = x->shape[1], h = x->shape[2], w = x->shape[3];
    const int64_t cmax = r->cin > r->cout ? r->cin : r->cout;
    const size_t mark = wvae_mark(d->mem);
    int64_t s[4];
    vgen_tensor buf, a_in, a_out;
    shape4(s, cmax, t, h, w);
    int rc = wvae_alloc(d->mem, &buf, 4, s, err);
    shape4(s, r->cin, t, h, w);
    wvae_view(&a_in, &buf, 4, s);
    shape4(s, r->cout, t, h, w);
    wvae_view(&a_out, &buf, 4, s);
    if (!rc && r->has_shortcut) rc = wvae_op_conv(d, x, &r->shortcut, 0, 0, y, err);       /* y = shortcut(x) */
    if (!rc) rc = wvae_norm_silu(d, x, r->gamma1, &a_in, err);                             /* a [Cin] */
    if (!rc) rc = wvae_causal_conv(d, &r->conv1, &a_in, 0, t, &a_out, err);               /* a [Cout] */
    if (!rc) rc = wvae_norm_silu(d, &a_out, r->gamma2, &a_out, err);
    if (!rc) rc = wvae_causal_conv(d, &r->conv2, &a_out, 0, t, &a_out, err);
    if (!rc) rc = r->has_shortcut ? wvae_op_add(d, y, &a_out, y, err) : wvae_op_add(d, &a_out, x, y, err);
    wvae_reset(d->mem, mark);
    return rc;
}

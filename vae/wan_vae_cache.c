/* wan_vae_cache.c - the causal cache of each 3-D convolution (diffusers' feat_cache with CACHE_T = 2).
 *
 * A causal convolution sees its input x [C, T, H, W] padded in time with two frames before. diffusers decodes one
 * latent frame at a time and keeps, per convolution, the last two input frames it saw (fewer at the start), so the
 * convolution of a chunk runs on cat(cache, x) padded with 2 - n zero frames; afterwards the cache holds the last
 * two frames of cat(cache, x). That equals the causal convolution of the whole sequence at once, whatever the
 * chunking. Here the concatenation is a scratch "window" [C, n + T, H, W]; the cache is [C, 2, H, W] per slot in
 * the decode's device memory (wvae_cache_take), taken on first use and kept for the whole decode (it is the only
 * state that lives between latent frames). Both copies are the backend's copy_strided.
 */
#include "wan_vae_internal.h"

static int copy2(wvae_dec *d, const float *src, int64_t s_row, float *dst, int64_t d_row, int64_t rows,
                 int64_t len, vgen_err *err) {
    const int64_t shape[2] = {rows, len}, ss[2] = {s_row, 1}, ds[2] = {d_row, 1};
    if (!d->be->copy_strided)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "vae: backend \"%s\" has no copy_strided op", d->be->name);
    return d->be->copy_strided(d->be, src, ss, dst, ds, shape, 2, sizeof(float), err);
}

/* win [C, n + nt, H, W] = cache[:, 0:n] ++ x[:, t0:t0 + nt] (x [C, Tx, H, W]). */
int wvae_window(wvae_dec *d, const wvae_cache *cache, const vgen_tensor *x, int64_t t0, int64_t nt, vgen_tensor *win,
                vgen_err *err) {
    if (d->dry) return VGEN_OK;
    const int n = cache ? cache->n : 0;
    const int64_t c_dim = x->shape[0], tx = x->shape[1], hw = x->shape[2] * x->shape[3], tw = (n + nt) * hw;
    float *w = win->data;
    int rc = n ? copy2(d, cache->data, WVAE_CACHE_T * hw, w, tw, c_dim, n * hw, err) : VGEN_OK;
    if (!rc) rc = copy2(d, (const float *)x->data + t0 * hw, tx * hw, w + n * hw, tw, c_dim, nt * hw, err);
    return rc;
}

static int cache_alloc(wvae_dec *d, wvae_cache *cache, int64_t c, int64_t h, int64_t w, vgen_err *err) {
    const size_t bytes = (size_t)c * WVAE_CACHE_T * (size_t)h * (size_t)w * sizeof(float);
    int rc = wvae_cache_take(d->mem, bytes, &cache->data, err);
    if (rc) return rc;
    cache->c = c, cache->h = h, cache->w = w, cache->n = 0;
    d->cache_bytes += (bytes + 63) & ~(size_t)63;
    return VGEN_OK;
}

/* cache = the last min(2, F) frames of win [C, F, H, W]. */
int wvae_cache_update(wvae_dec *d, wvae_cache *cache, const vgen_tensor *win, vgen_err *err) {
    const int64_t c_dim = win->shape[0], f = win->shape[1], h = win->shape[2], w = win->shape[3], hw = h * w;
    if (!cache->c) {
        int rc = cache_alloc(d, cache, c_dim, h, w, err);
        if (rc) return rc;
    } else if (cache->c != c_dim || cache->h != h || cache->w != w) {
        return vgen_err_set(err, VGEN_ERR_INTERNAL, "vae: a causal cache changed shape between frames");
    }
    const int keep = f < WVAE_CACHE_T ? (int)f : WVAE_CACHE_T;
    cache->n = keep;
    if (d->dry) return VGEN_OK;
    return copy2(d, (const float *)win->data + (f - keep) * hw, f * hw, cache->data, WVAE_CACHE_T * hw, c_dim,
                 keep * hw, err);
}

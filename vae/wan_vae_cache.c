/* wan_vae_cache.c - the causal cache of each 3-D convolution (diffusers' feat_cache with CACHE_T = 2).
 *
 * A causal convolution sees its input x [C, T, H, W] padded in time with two frames before. diffusers decodes one
 * latent frame at a time and keeps, per convolution, the last two input frames it saw (fewer at the start), so the
 * convolution of a chunk runs on cat(cache, x) padded with 2 - n zero frames; afterwards the cache holds the last
 * two frames of cat(cache, x). That equals the causal convolution of the whole sequence at once, whatever the
 * chunking. Here the concatenation is a scratch "window" [C, n + T, H, W]; the cache is [C, 2, H, W] per slot,
 * allocated on first use and kept for the whole decode (it is the only state that lives between latent frames).
 */
#include <stdlib.h>
#include <string.h>

#include "wan_vae_internal.h"

/* win [C, n + nt, H, W] = cache[:, 0:n] ++ x[:, t0:t0 + nt] (x [C, Tx, H, W]). */
int wvae_window(const wvae_cache *cache, const vgen_tensor *x, int64_t t0, int64_t nt, vgen_tensor *win) {
    const int n = cache ? cache->n : 0;
    const int64_t c_dim = x->shape[0], tx = x->shape[1], hw = x->shape[2] * x->shape[3];
    const float *xs = x->data;
    float *w = win->data;
    const size_t fb = (size_t)hw * sizeof(float);
    for (int64_t c = 0; c < c_dim; c++) {
        float *dst = w + c * (n + nt) * hw;
        if (n) memcpy(dst, cache->data + c * WVAE_CACHE_T * hw, (size_t)n * fb);
        memcpy(dst + n * hw, xs + (c * tx + t0) * hw, (size_t)nt * fb);
    }
    return n;
}

static int cache_alloc(wvae_dec *d, wvae_cache *cache, int64_t c, int64_t h, int64_t w, vgen_err *err) {
    size_t bytes = (size_t)c * WVAE_CACHE_T * (size_t)h * (size_t)w * sizeof(float);
    if (!d->dry && !(cache->data = malloc(bytes)))
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot allocate a %zu-byte causal cache", bytes);
    cache->c = c, cache->h = h, cache->w = w, cache->n = 0;
    d->cache_bytes += bytes;
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
    const float *src = win->data;
    for (int64_t c = 0; c < c_dim; c++)
        memcpy(cache->data + c * WVAE_CACHE_T * hw, src + (c * f + f - keep) * hw, (size_t)(keep * hw) * sizeof(float));
    return VGEN_OK;
}

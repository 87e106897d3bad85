/* wan_vae_decode.c - one decoder over one latent rectangle (WanDecoder3d.forward with its feat_cache):
 *
 *   z [Z, T, h, w] --denormalize--> post_quant_conv (1x1x1) --> conv_in (causal) --> mid: res, attention, res
 *   --> up_blocks.0 .. up_blocks.{L-1}: (num_res_blocks + 1) res, then upsample3d / upsample2d / nothing
 *   --> head: rms, silu, conv_out (causal) --> check finite --> clamp to [-1, 1] --> one emit per frame
 *
 * In stream mode (split) every level below an upsampler runs one frame at a time: the upsampler's output frames
 * are taken one by one, depth first, so the deepest (largest) levels only ever hold one frame. Because every layer
 * is causal with its cache, this computes the same values as running each level over the whole chunk.
 * Scratch follows a stack discipline in the decode's device memory (wan_vae_scratch.c): each stage allocates its
 * output, then its temporaries, and releases the temporaries before going deeper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wan_vae_internal.h"

static void shape4(int64_t s[4], int64_t c, int64_t t, int64_t h, int64_t w) { s[0] = c, s[1] = t, s[2] = h, s[3] = w; }

int wvae_dec_init(wvae_dec *d, const vgen_wan_vae *m, vgen_backend *be, wvae_mem *mem, int lat_h, int lat_w,
                  int dry, int split, vgen_err *err) {
    memset(d, 0, sizeof *d);
    d->m = m, d->be = be, d->mem = mem, d->lat_h = lat_h, d->lat_w = lat_w, d->dry = dry, d->split = split;
    d->denormalize = 1;
    d->host = dry || be->host_addressable;
    d->cache_mark = mem->cache_used;
    d->caches = calloc((size_t)(m->n_slots > 0 ? m->n_slots : 1), sizeof *d->caches);
    if (!d->caches) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot allocate the cache table");
    if (d->host) return VGEN_OK;
    const size_t k = (size_t)vgen_wan_vae_spatial_factor(&m->cfg);
    d->host_frame = malloc(3 * (size_t)lat_h * (size_t)lat_w * k * k * sizeof(float));
    if (!d->host_frame) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot allocate a host frame");
    return VGEN_OK;
}

/* The caches go back to the decode's memory (a stack: decoders end in any order, the lowest mark wins). */
void wvae_dec_release(wvae_dec *d) {
    if (d->mem && d->cache_mark < d->mem->cache_used) d->mem->cache_used = d->cache_mark;
    free(d->caches);
    free(d->host_frame);
    d->caches = NULL, d->host_frame = NULL;
}

/* ---- head: norm_out, silu, conv_out, then the frames out (wan_vae_io.c) ---- */

/* x [base, T, H, W] is consumed (normalized in place). */
static int run_head(wvae_dec *d, vgen_tensor *x, vgen_err *err) {
    const vgen_wan_vae *m = d->m;
    const size_t mark = wvae_mark(d->mem);
    int64_t s[4];
    shape4(s, m->cfg.out_channels, x->shape[1], x->shape[2], x->shape[3]);
    vgen_tensor o;
    int rc = wvae_alloc(d->mem, &o, 4, s, err);                                /* o [3, T, H, W] */
    if (!rc) rc = wvae_norm_silu(d, x, m->norm_out_gamma, x, err);
    if (!rc) rc = wvae_causal_conv(d, &m->conv_out, x, 0, x->shape[1], &o, err);
    if (!rc) wvae_tap(d, "decoder.conv_out", &o);
    if (!rc) rc = wvae_emit_frames(d, &o, err);
    wvae_reset(d->mem, mark);
    return rc;
}

/* ---- levels ---- */

static int run_level(wvae_dec *d, int i, vgen_tensor *x, vgen_err *err);

/* Runs level i + 1 on y [C, T', H, W]: frame by frame in stream mode. */
static int descend(wvae_dec *d, int i, vgen_tensor *y, vgen_err *err) {
    if (!d->split || y->shape[1] == 1) return run_level(d, i + 1, y, err);
    int rc = VGEN_OK;
    int64_t s[4];
    shape4(s, y->shape[0], 1, y->shape[2], y->shape[3]);
    for (int64_t t = 0; t < y->shape[1] && !rc; t++) {
        const size_t mark = wvae_mark(d->mem);
        vgen_tensor f;
        rc = wvae_alloc(d->mem, &f, 4, s, err);                                /* f [C, 1, H, W] */
        if (!rc) rc = wvae_copy_frames(d, y, t, &f, 0, 1, err);
        if (!rc) rc = run_level(d, i + 1, &f, err);
        wvae_reset(d->mem, mark);
    }
    return rc;
}

/* The residual blocks of a level, ping-ponging between two buffers; the last writes into out when there is no
 * upsampler. Returns the tensor holding the result in *res. */
static int level_resnets(wvae_dec *d, const wvae_level *lv, const vgen_tensor *x, vgen_tensor *out,
                         vgen_tensor *res, vgen_err *err) {
    int64_t s[4];
    shape4(s, lv->cout, x->shape[1], x->shape[2], x->shape[3]);
    vgen_tensor buf[2];
    const vgen_tensor *cur = x;
    int rc = VGEN_OK;
    for (int r = 0; r < lv->n_res && !rc; r++) {
        vgen_tensor *dst = &buf[r % 2];
        if (r == lv->n_res - 1 && !lv->upsample) dst = out;
        else if (r < 2) rc = wvae_alloc(d->mem, dst, 4, s, err);             /* [Cout, T, H, W] */
        if (!rc) rc = wvae_res_block(d, &lv->res[r], cur, dst, err);
        cur = dst;
    }
    *res = *cur;
    return rc;
}

/* Level i (up_blocks.i) on x [Cin, T, H, W]; i == n_levels is the head. */
static int run_level(wvae_dec *d, int i, vgen_tensor *x, vgen_err *err) {
    const vgen_wan_vae *m = d->m;
    if (i == m->cfg.n_levels) return run_head(d, x, err);
    const wvae_level *lv = &m->levels[i];
    const int64_t t2 = wvae_upsample_frames(d, i, x->shape[1]), k = lv->upsample ? 2 : 1;
    const size_t mark = wvae_mark(d->mem);
    int64_t s[4];
    shape4(s, lv->upsample ? lv->cout / 2 : lv->cout, t2, k * x->shape[2], k * x->shape[3]);
    vgen_tensor out, res;
    int rc = wvae_alloc(d->mem, &out, 4, s, err);                              /* out [C', T', kH, kW] */
    const size_t mark_tmp = wvae_mark(d->mem);
    if (!rc) rc = level_resnets(d, lv, x, &out, &res, err);
    if (!rc && lv->upsample) rc = wvae_upsample(d, i, &res, &out, err);
    wvae_reset(d->mem, mark_tmp);
    char name[48];
    snprintf(name, sizeof name, "decoder.up_blocks.%d", i);
    if (!rc) wvae_tap(d, name, &out);
    if (!rc) rc = descend(d, i, &out, err);
    wvae_reset(d->mem, mark);
    return rc;
}

/* ---- latent stage: denormalize, post_quant_conv, conv_in, mid block ---- */

/* m1 [mid, T, h, w] = mid block of conv_in(post_quant_conv(z)); z [Z, T, h, w] already denormalized. */
static int run_latent(wvae_dec *d, const vgen_tensor *z, vgen_tensor *m1, vgen_err *err) {
    const vgen_wan_vae *m = d->m;
    const int64_t t = z->shape[1], h = z->shape[2], w = z->shape[3];
    int64_t s[4];
    shape4(s, m->cfg.z_dim, t, h, w);
    vgen_tensor pq, ci;
    int rc = wvae_alloc(d->mem, &pq, 4, s, err);                               /* pq [Z, T, h, w] */
    if (!rc) rc = wvae_op_conv(d, z, &m->post_quant, 0, 0, &pq, err);
    if (!rc) wvae_tap(d, "post_quant_conv", &pq);
    shape4(s, vgen_wan_vae_mid_dim(&m->cfg), t, h, w);
    if (!rc) rc = wvae_alloc(d->mem, &ci, 4, s, err);                          /* ci [mid, T, h, w] */
    if (!rc) rc = wvae_causal_conv(d, &m->conv_in, &pq, 0, t, &ci, err);
    if (!rc) wvae_tap(d, "decoder.conv_in", &ci);
    if (!rc) rc = wvae_res_block(d, &m->mid_res[0], &ci, m1, err);
    if (!rc) rc = wvae_attention(d, &m->attn, m1, &ci, err);
    if (!rc) rc = wvae_res_block(d, &m->mid_res[1], &ci, m1, err);
    if (!rc) wvae_tap(d, "decoder.mid_block", m1);
    return rc;
}

/* Frames [t0, t0 + nt) of z [Z, F, h, w]. */
int wvae_dec_push_frames(wvae_dec *d, const vgen_tensor *z, int64_t t0, int64_t nt, vgen_err *err) {
    const vgen_wan_vae *m = d->m;
    const size_t mark = wvae_mark(d->mem);
    int64_t s[4];
    shape4(s, m->cfg.z_dim, nt, z->shape[2], z->shape[3]);
    vgen_tensor zc, m1;
    int rc = wvae_alloc(d->mem, &zc, 4, s, err);                               /* zc [Z, nt, h, w] */
    if (!rc) rc = wvae_latent_in(d, z, t0, &zc, err);
    shape4(s, vgen_wan_vae_mid_dim(&m->cfg), nt, z->shape[2], z->shape[3]);
    if (!rc) rc = wvae_alloc(d->mem, &m1, 4, s, err);                          /* m1 [mid, nt, h, w] */
    const size_t mark_tmp = wvae_mark(d->mem);
    if (!rc) rc = run_latent(d, &zc, &m1, err);
    wvae_reset(d->mem, mark_tmp);
    if (!rc) rc = run_level(d, 0, &m1, err);
    wvae_reset(d->mem, mark);
    d->frames_in += nt;
    return rc;
}

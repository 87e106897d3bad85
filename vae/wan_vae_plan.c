/* wan_vae_plan.c - memory plans: a dry run of the decoder's allocation sequence (no data is touched), and the
 * choice of a tiling from a memory budget.
 *
 * In stream mode the state after the third latent frame repeats (every cache holds two frames, every upsample3d has
 * seen its first frame), so a dry run of min(F, 3) frames gives the peak for any F. Whole mode runs all F at once. */
#include <stdio.h>

#include "wan_vae_internal.h"

int wvae_plan_tile(const vgen_wan_vae *m, int64_t n_frames, int th, int tw, vgen_wan_vae_mode mode, size_t *scratch,
                   size_t *cache, vgen_err *err) {
    wvae_mem mem = {0};
    wvae_dec d;
    const int stream = mode == VGEN_WAN_VAE_STREAM;
    int rc = wvae_dec_init(&d, m, NULL, &mem, th, tw, 1, stream, err);
    const int64_t chunks = stream ? (n_frames < 3 ? n_frames : 3) : 1, nt = stream ? 1 : n_frames;
    int64_t s[4] = {m->cfg.z_dim, nt, th, tw};
    vgen_tensor z;
    if (!rc) rc = vgen_tensor_view(&z, VGEN_DTYPE_F32, 4, s, NULL, err);
    for (int64_t i = 0; i < chunks && !rc; i++) rc = wvae_dec_push_frames(&d, &z, 0, nt, err);
    *scratch = wvae_peak(&mem), *cache = d.cache_bytes;
    wvae_dec_release(&d);
    return rc;
}

/* Frame buffers outside the arena: rgb [3, H, W]; tiled: the latent crop, and per order the blend accumulators. */
static size_t frame_bytes(const vgen_wan_vae *m, int64_t n_frames, int h, int w, const wvae_tiling *t,
                          vgen_wan_vae_tile_order order) {
    const size_t k = (size_t)vgen_wan_vae_spatial_factor(&m->cfg), px = (size_t)h * w * k * k;
    size_t bytes = 3 * px * sizeof(float);
    if (t->y.n * t->x.n == 1) return bytes;
    const size_t per_latent = (size_t)vgen_wan_vae_frames_out(&m->cfg, 2) - 1; /* 4 for Wan2.1 */
    bytes += px * sizeof(float);                                               /* blend weights [H, W] */
    if (order == VGEN_WAN_VAE_TILES_TILE_MAJOR) {
        bytes += 3 * px * (size_t)vgen_wan_vae_frames_out(&m->cfg, n_frames) * sizeof(float); /* the video */
        bytes += 3 * px * sizeof(float);                                       /* one frame being emitted */
        bytes += (size_t)m->cfg.z_dim * (size_t)n_frames * t->y.size * t->x.size * sizeof(float);
    } else {
        bytes += 3 * px * per_latent * sizeof(float);                         /* frames of one latent frame */
        bytes += (size_t)m->cfg.z_dim * t->y.size * t->x.size * sizeof(float);
    }
    return bytes;
}

/* Plans tiling t in the given order (whole-mode decodes always go tile by tile: they hold every frame anyway). */
static int plan_tiling(const vgen_wan_vae *m, int64_t n_frames, int h, int w, const vgen_wan_vae_params *p,
                       vgen_wan_vae_tile_order order, const wvae_tiling *t, vgen_wan_vae_plan *pl, vgen_err *err) {
    const int tiles = t->y.n * t->x.n;
    if (p->mode == VGEN_WAN_VAE_WHOLE) order = VGEN_WAN_VAE_TILES_TILE_MAJOR;
    size_t scratch = 0, cache = 0;
    int rc = wvae_plan_tile(m, n_frames, t->y.size, t->x.size, p->mode, &scratch, &cache, err);
    if (rc) return rc;
    pl->tile_h = t->y.size, pl->tile_w = t->x.size, pl->tile_overlap = tiles > 1 ? t->y.overlap : 0;
    pl->tiles_y = t->y.n, pl->tiles_x = t->x.n, pl->tile_order = order;
    pl->scratch_bytes = scratch;
    pl->cache_bytes = cache * (size_t)(tiles > 1 && order == VGEN_WAN_VAE_TILES_FRAME_MAJOR ? tiles : 1);
    pl->frame_bytes = frame_bytes(m, n_frames, h, w, t, order);
    pl->total_bytes = pl->scratch_bytes + pl->cache_bytes + pl->frame_bytes;
    return VGEN_OK;
}

static void tiling_init(wvae_tiling *t, int h, int w, int th, int tw, int ov) {
    wvae_axis_init(&t->y, h, th, ov);
    wvae_axis_init(&t->x, w, tw, ov);
}

/* The largest square-ish tile (side s clamped to each axis) whose plan in `order` fits the budget: 1 if found. */
static int fit_order(const vgen_wan_vae *m, int64_t n_frames, int h, int w, const vgen_wan_vae_params *p,
                     vgen_wan_vae_tile_order order, wvae_tiling *t, vgen_wan_vae_plan *pl, int *rc, vgen_err *err) {
    const int ov = p->tile_overlap, side_max = h > w ? h : w;
    int side_min = ov + 1 > 2 ? ov + 1 : 2;
    if (side_min > side_max) side_min = side_max; /* a latent smaller than the overlap: only the untiled plan */
    for (int s = side_max; s >= side_min && !*rc; s--) {
        if (s < side_max && s >= h && s >= w) continue;
        tiling_init(t, h, w, s < h ? s : h, s < w ? s : w, ov);
        *rc = plan_tiling(m, n_frames, h, w, p, order, t, pl, err);
        if (!*rc && pl->total_bytes <= p->memory_budget) return 1;
    }
    return 0;
}

/* The requested order first; a frame-major request that cannot fit falls back to tile-major (one tile's caches). */
static int fit_budget(const vgen_wan_vae *m, int64_t n_frames, int h, int w, const vgen_wan_vae_params *p,
                      wvae_tiling *t, vgen_wan_vae_plan *pl, vgen_err *err) {
    int rc = VGEN_OK;
    if (fit_order(m, n_frames, h, w, p, p->tile_order, t, pl, &rc, err)) return VGEN_OK;
    if (!rc && p->tile_order == VGEN_WAN_VAE_TILES_FRAME_MAJOR &&
        fit_order(m, n_frames, h, w, p, VGEN_WAN_VAE_TILES_TILE_MAJOR, t, pl, &rc, err))
        return VGEN_OK;
    if (rc) return rc;
    return vgen_err_set(err, VGEN_ERR_BUDGET,
                        "vae: no tiling fits %zu bytes: tiles of %d x %d latent pixels (overlap %d, tile-major) still "
                        "need %zu (cache %zu, scratch %zu, frames %zu)", p->memory_budget, pl->tile_h, pl->tile_w,
                        p->tile_overlap, pl->total_bytes, pl->cache_bytes, pl->scratch_bytes, pl->frame_bytes);
}

int wvae_resolve(const vgen_wan_vae *m, int64_t n_frames, int h, int w, const vgen_wan_vae_params *p,
                 wvae_tiling *t, vgen_wan_vae_plan *pl, vgen_err *err) {
    if (p->tile_h < 0 || p->tile_w < 0 || p->tile_overlap < 0)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vae: negative tile size or overlap");
    int th = p->tile_h, tw = p->tile_w;
    if (th == 0 && tw == 0 && p->memory_budget > 0) return fit_budget(m, n_frames, h, w, p, t, pl, err);
    th = (th == 0 || th > h) ? h : th;
    tw = (tw == 0 || tw > w) ? w : tw;
    if ((th < h && th <= p->tile_overlap) || (tw < w && tw <= p->tile_overlap))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vae: tiles of %d x %d must exceed the overlap %d", th, tw,
                            p->tile_overlap);
    tiling_init(t, h, w, th, tw, p->tile_overlap);
    return plan_tiling(m, n_frames, h, w, p, p->tile_order, t, pl, err);
}

int vgen_wan_vae_plan_decode(const vgen_wan_vae *m, int64_t n_frames, int h, int w, const vgen_wan_vae_params *params,
                             vgen_wan_vae_plan *out, vgen_err *err) {
    if (!m || !params || !out || n_frames < 1 || h < 1 || w < 1)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_wan_vae_plan_decode: bad argument");
    wvae_tiling t;
    return wvae_resolve(m, n_frames, h, w, params, &t, out, err);
}

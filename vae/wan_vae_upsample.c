/* wan_vae_upsample.c - WanResample in the decoder: upsample2d = nearest x2 in space, then Conv2d 3x3 (C -> C/2);
 * upsample3d = the same after doubling the frames with time_conv, a causal (3, 1, 1) conv to 2C channels whose two
 * halves become two consecutive frames.
 *
 * The first-frame rule: the very first frame a level sees passes without time_conv (diffusers marks the cache
 * "Rep" and returns it unchanged). Every later frame goes through time_conv, whose causal cache starts empty at the
 * second frame (for "Rep" diffusers pads with zeros and caches cat(zeros, x)), so it is a causal conv over frames
 * 1, 2, ... of the level's input: latent frame 0 -> 1 frame, each later frame -> 2. */
#include "wan_vae_internal.h"

int64_t wvae_upsample_frames(const wvae_dec *d, int level, int64_t t) {
    if (d->m->levels[level].upsample != 3) return t;
    int first = !d->time_seen[level];
    return first + 2 * (t - first);
}

/* z [C, T', H, W] = frames doubled by time_conv (with the first-frame rule), from x [C, T, H, W]. */
static int time_double(wvae_dec *d, int level, const vgen_tensor *x, vgen_tensor *z, vgen_err *err) {
    const wvae_level *lv = &d->m->levels[level];
    const int64_t c = x->shape[0], t = x->shape[1], h = x->shape[2], w = x->shape[3];
    const int first = !d->time_seen[level];
    d->time_seen[level] = 1;
    if (first) {
        int rc = wvae_copy_frames(d, x, 0, z, 0, 1, err);
        if (rc) return rc;
    }
    if (t - first == 0) return VGEN_OK;
    const size_t mark = wvae_mark(d->mem);
    int64_t s[4] = {2 * c, t - first, h, w};
    vgen_tensor tc;
    int rc = wvae_alloc(d->mem, &tc, 4, s, err);                                  /* tc [2C, T - first, H, W] */
    if (!rc) rc = wvae_causal_conv(d, &lv->time_conv, x, first, t - first, &tc, err);
    if (!rc) rc = wvae_interleave(d, &tc, z, first, err);
    wvae_reset(d->mem, mark);
    return rc;
}

/* y [C/2, T', 2H, 2W] = upsampler of level `level` applied to x [C, T, H, W]. */
int wvae_upsample(wvae_dec *d, int level, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    const wvae_level *lv = &d->m->levels[level];
    const int64_t c = x->shape[0], h = x->shape[2], w = x->shape[3];
    const int64_t t2 = wvae_upsample_frames(d, level, x->shape[1]);
    const size_t mark = wvae_mark(d->mem);
    vgen_tensor z = *x, up;
    int rc = VGEN_OK;
    if (lv->upsample == 3) {
        int64_t s[4] = {c, t2, h, w};
        rc = wvae_alloc(d->mem, &z, 4, s, err);
        if (!rc) rc = time_double(d, level, x, &z, err);
    }
    int64_t su[4] = {c, t2, 2 * h, 2 * w};
    if (!rc) rc = wvae_alloc(d->mem, &up, 4, su, err);                           /* up [C, T', 2H, 2W] */
    if (!rc) rc = wvae_nearest2x(d, &z, &up, err);
    if (!rc) rc = wvae_op_conv(d, &up, &lv->resample, 0, 1, y, err);
    wvae_reset(d->mem, mark);
    return rc;
}

/* wan_vae_moves.c - the decoder's data movement on the backend's device, each one copy_strided (backend.h): frame
 * slices of channel-first chunks, upsample3d's frame interleave, nearest-neighbour x2, and the [C, S] <-> [S, C]
 * transposes around the mid-block attention. Nothing is done in a dry run. */
#include "wan_vae_internal.h"

/* dst[sum i_k ds_k] = src[sum i_k ss_k] over shape[n], f32 elements. */
static int strided(wvae_dec *d, const float *src, const int64_t *ss, float *dst, const int64_t *ds,
                   const int64_t *shape, int n, vgen_err *err) {
    if (d->dry) return VGEN_OK;
    if (!d->be->copy_strided)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "vae: backend \"%s\" has no copy_strided op", d->be->name);
    return d->be->copy_strided(d->be, src, ss, dst, ds, shape, n, sizeof(float), err);
}

/* dst[:, dt0 + i] = src[:, st0 + i], i < nt; src [C, Ts, H, W], dst [C, Td, H, W]:  [C, nt HW] rows. */
int wvae_copy_frames(wvae_dec *d, const vgen_tensor *src, int64_t st0, vgen_tensor *dst, int64_t dt0, int64_t nt,
                     vgen_err *err) {
    const int64_t c_dim = src->shape[0], ts = src->shape[1], td = dst->shape[1], hw = src->shape[2] * src->shape[3];
    const int64_t shape[2] = {c_dim, nt * hw}, ss[2] = {ts * hw, 1}, ds[2] = {td * hw, 1};
    return strided(d, (const float *)src->data + st0 * hw, ss, (float *)dst->data + dt0 * hw, ds, shape, 2, err);
}

/* y[c, y_t0 + 2t + j] = tc[j C + c, t]: tc [2C, T, H, W] -> y [C, Ty, H, W], over [j 2, c C, t T, HW]. This is
 * diffusers' reshape(b, 2, c, t, h, w) + stack(dim=3) + reshape(b, c, 2t, h, w) of the time conv output. */
int wvae_interleave(wvae_dec *d, const vgen_tensor *tc, vgen_tensor *y, int64_t y_t0, vgen_err *err) {
    const int64_t c_dim = y->shape[0], ty = y->shape[1], t_dim = tc->shape[1], hw = tc->shape[2] * tc->shape[3];
    const int64_t shape[4] = {2, c_dim, t_dim, hw};
    const int64_t ss[4] = {c_dim * t_dim * hw, t_dim * hw, hw, 1}, ds[4] = {hw, ty * hw, 2 * hw, 1};
    return strided(d, tc->data, ss, (float *)y->data + y_t0 * hw, ds, shape, 4, err);
}

/* y [C, T, 2H, 2W] = x [C, T, H, W] repeated 2x2 (nearest-exact at scale 2 picks source dst / 2), over
 * [planes, H, 2, W, 2] with source strides 0 on the two repeat axes. */
int wvae_nearest2x(wvae_dec *d, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    const int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    const int64_t shape[5] = {planes, h, 2, w, 2};
    const int64_t ss[5] = {h * w, w, 0, 1, 0}, ds[5] = {4 * h * w, 4 * w, 2 * w, 2, 1};
    return strided(d, x->data, ss, y->data, ds, shape, 5, err);
}

/* y [cols, rows] = x [rows, cols]^T. */
int wvae_transpose(wvae_dec *d, const float *x, int64_t rows, int64_t cols, float *y, vgen_err *err) {
    const int64_t shape[2] = {cols, rows}, ss[2] = {1, cols}, ds[2] = {rows, 1};
    return strided(d, x, ss, y, ds, shape, 2, err);
}

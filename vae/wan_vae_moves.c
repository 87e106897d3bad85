/* wan_vae_moves.c - the decoder's data movement that is not a generic op: frame slices of channel-first chunks,
 * upsample3d's frame interleave, nearest-neighbour x2, and the [C, S] <-> [S, C] transposes around the mid-block
 * attention. Plain loops on host memory. */
#include <string.h>

#include "wan_vae_internal.h"

/* dst[:, dt0 + i] = src[:, st0 + i], i < nt; src [C, Ts, H, W], dst [C, Td, H, W]. */
void wvae_copy_frames(const vgen_tensor *src, int64_t st0, vgen_tensor *dst, int64_t dt0, int64_t nt) {
    const int64_t c_dim = src->shape[0], ts = src->shape[1], td = dst->shape[1], hw = src->shape[2] * src->shape[3];
    const float *s = src->data;
    float *d = dst->data;
    for (int64_t c = 0; c < c_dim; c++)
        memcpy(d + (c * td + dt0) * hw, s + (c * ts + st0) * hw, (size_t)(nt * hw) * sizeof(float));
}

/* y[c, y_t0 + 2t + j] = tc[j C + c, t]: tc [2C, T, H, W] -> y [C, Ty, H, W]. This is diffusers' reshape(b, 2, c,
 * t, h, w) + stack(dim=3) + reshape(b, c, 2t, h, w) of the time conv output. */
void wvae_interleave(const vgen_tensor *tc, vgen_tensor *y, int64_t y_t0) {
    const int64_t c_dim = y->shape[0], ty = y->shape[1], t_dim = tc->shape[1], hw = tc->shape[2] * tc->shape[3];
    const float *s = tc->data;
    float *d = y->data;
    for (int j = 0; j < 2; j++)
        for (int64_t c = 0; c < c_dim; c++)
            for (int64_t t = 0; t < t_dim; t++)
                memcpy(d + (c * ty + y_t0 + 2 * t + j) * hw, s + ((j * c_dim + c) * t_dim + t) * hw,
                       (size_t)hw * sizeof(float));
}

/* y [C, T, 2H, 2W] = x [C, T, H, W] repeated 2x2 (nearest-exact at scale 2 picks source dst / 2). */
void wvae_nearest2x(const vgen_tensor *x, vgen_tensor *y) {
    const int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    const float *s = x->data;
    float *d = y->data;
    for (int64_t p = 0; p < planes; p++) {
        const float *sp = s + p * h * w;
        float *dp = d + p * 4 * h * w;
        for (int64_t r = 0; r < h; r++) {
            float *row = dp + 2 * r * 2 * w;
            for (int64_t q = 0; q < w; q++) row[2 * q] = row[2 * q + 1] = sp[r * w + q];
            memcpy(row + 2 * w, row, (size_t)(2 * w) * sizeof(float));
        }
    }
}

/* y [cols, rows] = x [rows, cols]^T, in 32 x 32 blocks. */
void wvae_transpose(const float *x, int64_t rows, int64_t cols, float *y) {
    for (int64_t r0 = 0; r0 < rows; r0 += 32)
        for (int64_t c0 = 0; c0 < cols; c0 += 32)
            for (int64_t r = r0; r < rows && r < r0 + 32; r++)
                for (int64_t c = c0; c < cols && c < c0 + 32; c++) y[c * rows + r] = x[r * cols + c];
}

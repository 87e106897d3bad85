/* wan_vae_frames.c - what surrounds the decoder proper: latent denormalization, finiteness checks, and the
 * conversions of decoded frames (uint8 as diffusers' postprocess, PSNR). */
#include <math.h>
#include <string.h>

#include "wan_vae_internal.h"

/* WanPipeline: latents / (1 / latents_std) + latents_mean, every step rounded to float32 as torch does. */
void wvae_denormalize(const vgen_wan_vae_config *c, const vgen_tensor *x, int64_t t0, vgen_tensor *z) {
    const int64_t c_dim = z->shape[0], nt = z->shape[1], fx = x->shape[1], hw = z->shape[2] * z->shape[3];
    const float *src = x->data;
    float *dst = z->data;
    for (int64_t ch = 0; ch < c_dim; ch++) {
        const float inv = 1.0f / c->latents_std[ch], mean = c->latents_mean[ch];
        for (int64_t t = 0; t < nt; t++) {
            const float *s = src + (ch * fx + t0 + t) * hw;
            float *d = dst + (ch * nt + t) * hw;
            for (int64_t i = 0; i < hw; i++) d[i] = s[i] / inv + mean;
        }
    }
}

/* The first non-finite element of x [C, T, H, W] in memory order; its [c, t, y, x] in pos. */
int wvae_find_nonfinite(const vgen_tensor *x, int64_t pos[4]) {
    const int64_t n = vgen_tensor_numel(x), t = x->shape[1], h = x->shape[2], w = x->shape[3];
    const float *p = x->data;
    for (int64_t i = 0; i < n; i++) {
        if (isfinite(p[i])) continue;
        pos[3] = i % w, pos[2] = (i / w) % h, pos[1] = (i / (w * h)) % t, pos[0] = i / (w * h * t);
        return 1;
    }
    return 0;
}

void vgen_wan_vae_frame_to_rgb8(const vgen_wan_vae_frame *f, uint8_t *rgb8) {
    const int64_t hw = (int64_t)f->height * f->width;
    for (int64_t i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++) {
            float v = nearbyintf(f->rgb[c * hw + i] * 255.0f); /* round half to even, as torch/numpy round */
            rgb8[3 * i + c] = (uint8_t)(v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v));
        }
}

double vgen_wan_vae_psnr(const float *a, const float *b, size_t n, double max_value) {
    double se = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - (double)b[i];
        se += e * e;
    }
    if (se == 0.0) return INFINITY;
    return 10.0 * log10(max_value * max_value / (se / (double)n));
}

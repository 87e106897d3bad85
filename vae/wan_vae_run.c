/* wan_vae_run.c - vgen_wan_vae_decode: input checks, the weights on the backend's device, the untiled decode, and
 * handing frames to the caller. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wan_vae_internal.h"

vgen_wan_vae_params vgen_wan_vae_params_init(void) {
    vgen_wan_vae_params p;
    memset(&p, 0, sizeof p);
    p.mode = VGEN_WAN_VAE_STREAM;
    p.denormalize = 1;
    p.tile_overlap = 4;
    p.tile_order = VGEN_WAN_VAE_TILES_FRAME_MAJOR;
    return p;
}

int wvae_check_abort(const vgen_wan_vae_params *p, const char *where, int64_t at, vgen_err *err) {
    if (p->abort && p->abort(p->abort_user_data))
        return vgen_err_set(err, VGEN_ERR_ABORTED, "vae: aborted before %s %lld", where, (long long)at);
    return VGEN_OK;
}

/* pixels [3, H, W] (clamped) -> video[:, index] and the frame callback (with rgb = pixels * 0.5 + 0.5). */
int wvae_out_frame(wvae_out *o, int64_t index, const float *pixels, vgen_err *err) {
    const int64_t hw = (int64_t)o->h * o->w;
    if (o->video)
        for (int c = 0; c < 3; c++)
            memcpy(o->video + (c * o->frames + index) * hw, pixels + c * hw, (size_t)hw * sizeof(float));
    if (!o->p->on_frame) return VGEN_OK;
    for (int64_t i = 0; i < 3 * hw; i++) o->rgb[i] = pixels[i] * 0.5f + 0.5f;
    vgen_wan_vae_frame f = {index, o->h, o->w, pixels, o->rgb};
    int rc = o->p->on_frame(o->p->frame_user_data, &f);
    if (rc == VGEN_OK) return VGEN_OK;
    return vgen_err_set(err, rc < 0 ? rc : VGEN_ERR_ABORTED, "vae: the frame callback returned %d at frame %lld", rc,
                        (long long)index);
}

static int emit_direct(void *user_data, int64_t index, const float *pixels, int h, int w, vgen_err *err) {
    (void)h, (void)w;
    return wvae_out_frame(user_data, index, pixels, err);
}

/* latents [Z, F, h, w] or [1, Z, F, h, w], f32, finite. *z4 gets the 4-D view. */
static int check_latents(const vgen_wan_vae *m, const vgen_tensor *x, vgen_tensor *z4, vgen_err *err) {
    char s[96];
    int lead = x->n_dims == 5 ? 1 : 0;
    if (x->dtype != VGEN_DTYPE_F32 || (x->n_dims != 4 && x->n_dims != 5) || (lead && x->shape[0] != 1))
        return vgen_err_set(err, VGEN_ERR_SHAPE, "vae: latents must be f32 [%d, F, h, w] (or with a batch of 1), got "
                            "%s %s", m->cfg.z_dim, vgen_dtype_name(x->dtype), vgen_shape_str(x->shape, x->n_dims, s,
                            sizeof s));
    wvae_view(z4, x, 4, x->shape + lead);
    if (z4->shape[0] != m->cfg.z_dim)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "vae: latents have %lld channels, the VAE takes %d (shape %s)",
                            (long long)z4->shape[0], m->cfg.z_dim, vgen_shape_str(x->shape, x->n_dims, s, sizeof s));
    if (z4->shape[1] < 1 || z4->shape[2] < 1 || z4->shape[3] < 1 || z4->shape[2] > 65536 || z4->shape[3] > 65536)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "vae: latents shape %s has an empty or oversized dimension",
                            vgen_shape_str(x->shape, x->n_dims, s, sizeof s));
    if (!z4->data) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vae: latents have no data");
    int64_t pos[4];
    if (wvae_find_nonfinite(z4, pos)) {
        float v = ((const float *)z4->data)[((pos[0] * z4->shape[1] + pos[1]) * z4->shape[2] + pos[2]) * z4->shape[3] +
                                             pos[3]];
        return vgen_err_set(err, VGEN_ERR_NUMERIC, "vae: latents hold %s at [c=%lld, f=%lld, y=%lld, x=%lld]",
                            isnan(v) ? "NaN" : "Inf", (long long)pos[0], (long long)pos[1], (long long)pos[2],
                            (long long)pos[3]);
    }
    return VGEN_OK;
}

/* One decoder over the whole latent: frame by frame (stream) or all at once (whole). */
static int decode_untiled(const vgen_wan_vae *m, vgen_backend *be, const vgen_tensor *z, const vgen_wan_vae_plan *pl,
                          wvae_out *out, vgen_err *err) {
    wvae_mem mem;
    wvae_dec d;
    int rc = wvae_mem_open(&mem, be, pl->scratch_bytes, pl->cache_bytes, err);
    if (rc) return rc;
    const int stream = out->p->mode == VGEN_WAN_VAE_STREAM;
    rc = wvae_dec_init(&d, m, be, &mem, (int)z->shape[2], (int)z->shape[3], 0, stream, err);
    d.denormalize = out->p->denormalize, d.emit = emit_direct, d.emit_user_data = out;
    d.tap = out->p->tap, d.tap_user_data = out->p->tap_user_data;
    const int64_t f = z->shape[1];
    for (int64_t t = 0; t < (stream ? f : 1) && !rc; t++) {
        rc = wvae_check_abort(out->p, "latent frame", t, err);
        if (!rc) rc = wvae_dec_push_frames(&d, z, t, stream ? 1 : f, err);
    }
    wvae_dec_release(&d);
    if (!be->host_addressable) {
        vgen_err ignored = {0};
        (void)be->synchronize(be, &ignored); /* queued ops may still use the memory */
    }
    wvae_mem_close(&mem);
    return rc;
}

int vgen_wan_vae_decode(const vgen_wan_vae *m, vgen_backend *be, const vgen_tensor *latents,
                        const vgen_wan_vae_params *params, float *video, vgen_err *err) {
    if (!m || !be || !latents || !params)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_wan_vae_decode: NULL argument");
    vgen_tensor z;
    int rc = check_latents(m, latents, &z, err);
    if (rc) return rc;
    const int h = (int)z.shape[2], w = (int)z.shape[3], k = vgen_wan_vae_spatial_factor(&m->cfg);
    wvae_tiling t;
    vgen_wan_vae_plan plan;
    if ((rc = wvae_resolve(m, z.shape[1], h, w, params, &t, &plan, err))) return rc;
    wvae_out out = {params, video, vgen_wan_vae_frames_out(&m->cfg, z.shape[1]), h * k, w * k, NULL};
    out.rgb = malloc((size_t)3 * out.h * out.w * sizeof(float));
    if (!out.rgb) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot allocate a frame");
    wvae_placed placed;
    rc = wvae_place(m, be, &placed, err);
    if (!rc && t.y.n * t.x.n == 1) rc = decode_untiled(placed.m, be, &z, &plan, &out, err);
    else if (!rc) rc = wvae_decode_tiled(placed.m, be, &z, &t, &plan, &out, err);
    wvae_unplace(&placed);
    free(out.rgb);
    return rc;
}

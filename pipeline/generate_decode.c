/* generate_decode.c - the decode phase: the final latents through the VAE's streaming decoder; each RGB frame goes
 * to the frame callback (with its 8-bit copy) and to the sinks as soon as it exists. Abort is checked between
 * latent frames (the decoder) and before every frame is handed on. */
#include <math.h>
#include <stdlib.h>

#include "generate.h"

/* rgb24[H, W, 3] = round-half-to-even(255 rgb[c, y, x]) clamped, as diffusers' (x * 255).round(). */
static void to_rgb24(const float *rgb, int w, int h, uint8_t *out) {
    const size_t plane = (size_t)w * (size_t)h;
    for (size_t i = 0; i < plane; i++)
        for (size_t c = 0; c < 3; c++) {
            float v = nearbyintf(rgb[c * plane + i] * 255.0f);
            out[3 * i + c] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
        }
}

static int user_frame(vgen_run *r, int64_t index, int w, int h, const float *rgb) {
    if (!r->p.on_frame) return VGEN_OK;
    to_rgb24(rgb, w, h, r->rgb24);
    const vgen_frame f = {.index = index, .width = w, .height = h, .rgb = rgb, .rgb24 = r->rgb24};
    if (r->p.on_frame(&f, r->p.frame_user_data) == 0) return VGEN_OK;
    return vgen_err_set(&r->frame_err, VGEN_ERR_ABORTED, "generation stopped by the frame callback at frame %lld",
                        (long long)index);
}

static int on_frame(void *user_data, int64_t index, int width, int height, const float *rgb) {
    vgen_run *r = user_data;
    if (width != r->p.width || height != r->p.height || index != r->frames_done)
        return vgen_err_set(&r->frame_err, VGEN_ERR_INTERNAL, "the VAE gave frame %lld of %dx%d, expected frame %lld of %dx%d",
                            (long long)index, width, height, (long long)r->frames_done, r->p.width, r->p.height);
    int rc = vgen_run_abort_cb(r) ? vgen_err_set(&r->frame_err, VGEN_ERR_ABORTED, "generation aborted during the "
                                                 "VAE decode, at frame %lld", (long long)index)
                                  : user_frame(r, index, width, height, rgb);
    if (!rc && r->sink) rc = vgen_sink_send_frame(r->sink, rgb, &r->frame_err);
    if (rc) return rc;
    r->frames_done++;
    vgen_run_progress(r, r->frames_done);
    return VGEN_OK;
}

/* The decoder's share of the preset's memory budget: the budget less the weights still resident. */
static size_t decode_budget(const vgen_run *r) {
    const double budget = r->model->preset.memory_budget_gb * 1073741824.0;
    double used = (double)r->vae->owned_bytes;
    if (r->dit) used += (double)r->dit->owned_bytes;
    const double floor_bytes = 256.0 * 1048576.0;
    return (size_t)(budget - used > floor_bytes ? budget - used : floor_bytes);
}

static int check_frames(const vgen_run *r) {
    const int64_t out = r->fam->vae_frames_out(r->vae, r->lf);
    if (out == r->p.frames) return VGEN_OK;
    return vgen_err_set(r->err, VGEN_ERR_SHAPE, "the VAE %s makes %lld frames of %lld latent frames, not %d",
                        r->model->paths[VGEN_PART_VAE], (long long)out, (long long)r->lf, r->p.frames);
}

int vgen_run_decode(vgen_run *r) {
    int rc = vgen_run_load_part(r, VGEN_COMPONENT_VAE);
    if (!rc) rc = check_frames(r);
    if (!rc && r->p.on_frame) {
        r->rgb24 = malloc((size_t)r->p.width * (size_t)r->p.height * 3);
        if (!r->rgb24) rc = vgen_err_set(r->err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a frame");
    }
    if (rc) return rc;
    vgen_vae_request req = {.latents = r->latents, .channels = r->fam->latent_channels, .frames = r->lf,
                            .height = r->lh, .width = r->lw,
                            .plan = &r->model->preset.components[VGEN_COMPONENT_VAE],
                            .memory_budget = decode_budget(r), .on_frame = on_frame, .frame_user_data = r,
                            .abort = vgen_run_abort_cb, .abort_user_data = r};
    vgen_run_phase_begin(r, VGEN_PHASE_VAE_DECODE, r->p.frames);
    vgen_err_clear(&r->frame_err);
    rc = r->fam->vae_decode(r->vae, vgen_run_backend(r, VGEN_COMPONENT_VAE), &req, r->err);
    if (rc && r->frame_err.code) *r->err = r->frame_err; /* ours names more than the decoder's */
    if (!rc && r->frames_done != r->p.frames)
        rc = vgen_err_set(r->err, VGEN_ERR_INTERNAL, "the VAE gave %lld frames, expected %d", (long long)r->frames_done,
                          r->p.frames);
    if (rc) return rc;
    VGEN_LOGI(&r->log, "decode memory on %s: VAE weights %.1f MiB, working set %.1f MiB (planned)",
              vgen_run_backend(r, VGEN_COMPONENT_VAE)->name, (double)r->vae->owned_bytes / 1048576.0,
              (double)req.planned_bytes / 1048576.0);
    vgen_run_phase_end(r);
    return VGEN_OK;
}

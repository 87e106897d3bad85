/* family_wan21_vae.c - Wan2.1's VAE decoder (vae/wan_vae.h): weights kept in f32, causal streaming decode one latent
 * frame at a time, frames handed on as soon as they exist; spatial tiles from the preset. */
#include <stdio.h>
#include <stdlib.h>

#include "family_wan21.h"
#include "wan_vae.h"

static void vae_destroy(void *impl) {
    vgen_wan_vae *m = impl;
    vgen_wan_vae_free(&m);
}

int wan21_vae_load(const vgen_part_load *a, vgen_part **out, vgen_err *err) {
    *out = NULL;
    if (a->plan->weights != VGEN_WF_F32 || a->plan->compute != VGEN_DTYPE_F32)
        VGEN_LOGW(a->log, "vae: weights and compute stay f32 (the preset asks %s / %s)", wan21_plan_format(a->plan),
                  vgen_dtype_name(a->plan->compute));
    vgen_part *part = calloc(1, sizeof *part);
    if (!part) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the VAE");
    vgen_wan_vae *m = NULL;
    int rc = vgen_wan_vae_load(a->path, NULL, &m, err);
    if (rc) {
        free(part);
        return rc;
    }
    part->impl = m;
    part->destroy = vae_destroy;
    snprintf(part->weights, sizeof part->weights, "f32");
    snprintf(part->compute, sizeof part->compute, "f32");
    part->owned_bytes = vgen_wan_vae_weight_bytes(m);
    part->channels = vgen_wan_vae_get_config(m)->z_dim;
    *out = part;
    return VGEN_OK;
}

int64_t wan21_vae_frames_out(const vgen_part *vae, int64_t latent_frames) {
    return vgen_wan_vae_frames_out(vgen_wan_vae_get_config(vae->impl), latent_frames);
}

static int on_vae_frame(void *user_data, const vgen_wan_vae_frame *f) {
    const vgen_vae_request *r = user_data;
    return r->on_frame(r->frame_user_data, f->index, f->width, f->height, f->rgb);
}

void wan21_vae_params(const vgen_component_plan *plan, const vgen_vae_request *r, vgen_wan_vae_params *p) {
    *p = vgen_wan_vae_params_init();
    p->mode = VGEN_WAN_VAE_STREAM;
    p->denormalize = 1;
    /* tiling from the preset: explicit tile (pixels -> latent pixels), none, or the largest that fits the budget */
    const int spatial = vgen_family_wan21.spatial_factor;
    if (plan->tile_auto) {
        p->memory_budget = r->memory_budget;
    } else if (plan->tile_w > 0 && plan->tile_h > 0) {
        p->tile_w = plan->tile_w / spatial > 0 ? plan->tile_w / spatial : 1;
        p->tile_h = plan->tile_h / spatial > 0 ? plan->tile_h / spatial : 1;
    }
}

int wan21_vae_decode(const vgen_part *vae, vgen_backend *be, vgen_vae_request *r, vgen_err *err) {
    const vgen_wan_vae *m = vae->impl;
    vgen_wan_vae_params p;
    wan21_vae_params(r->plan, r, &p);
    p.on_frame = on_vae_frame;
    p.frame_user_data = r;
    p.abort = r->abort;
    p.abort_user_data = r->abort_user_data;
    int64_t shape[4] = {r->channels, r->frames, r->height, r->width};
    vgen_tensor lat;
    int rc = vgen_tensor_view(&lat, VGEN_DTYPE_F32, 4, shape, (void *)r->latents, err);
    vgen_wan_vae_plan plan;
    if (!rc) rc = vgen_wan_vae_plan_decode(m, r->frames, (int)r->height, (int)r->width, &p, &plan, err);
    if (!rc) r->planned_bytes = plan.total_bytes;
    if (!rc) rc = vgen_wan_vae_decode(m, be, &lat, &p, NULL, err);
    return rc;
}

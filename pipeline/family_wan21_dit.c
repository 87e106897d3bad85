/* family_wan21_dit.c - Wan2.1's denoiser: WanTransformer3DModel (dit/wan_dit.h) loaded with the preset's compute
 * dtype and weight format (quantize-on-load), and per generation its weights placed on the run's backend (nothing
 * copied on the CPU) and one session. */
#include <stdio.h>
#include <stdlib.h>

#include "family_wan21.h"
#include "wan_dit.h"

static void dit_destroy(void *impl) {
    vgen_dit_model *m = impl;
    vgen_dit_free(&m);
}

int wan21_dit_load(const vgen_part_load *a, vgen_part **out, vgen_err *err) {
    *out = NULL;
    vgen_dit_params p;
    vgen_dit_params_init(&p);
    p.compute = a->plan->compute;
    p.dit_format = wan21_plan_format(a->plan);
    p.pool = a->pool;
    p.log = a->log;
    vgen_part *part = calloc(1, sizeof *part);
    if (!part) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the transformer");
    vgen_dit_model *m = NULL;
    int rc = vgen_dit_load(a->path, &p, &m, err);
    if (rc) {
        free(part);
        return rc;
    }
    const vgen_wformat_traits *tr = vgen_wformat_get(vgen_dit_block_format(m));
    part->impl = m;
    part->destroy = dit_destroy;
    snprintf(part->weights, sizeof part->weights, "%s", tr ? tr->name : "?");
    snprintf(part->compute, sizeof part->compute, "%s", vgen_dtype_name(vgen_dit_compute(m)));
    part->owned_bytes = vgen_dit_owned_bytes(m);
    part->mapped_bytes = vgen_dit_mapped_bytes(m);
    const vgen_wan_config *c = vgen_dit_config(m);
    part->width = c->text_dim;
    part->channels = c->in_channels == c->out_channels ? c->in_channels : -1;
    *out = part;
    return VGEN_OK;
}

/* The session and the shapes of its tensors: the latent [C_in, F, H, W], the velocity [C_out, F, H, W] and the
 * context [Lc, Dt]. */
typedef struct wan_session {
    vgen_dit_placement *pl;
    vgen_dit_session *s;
    int64_t xs[4], vs[4], cs[2];
} wan_session;

int wan21_dit_session_new(const vgen_part *dit, vgen_backend *be, const vgen_dit_shape *shape, void **session,
                          size_t *session_bytes, vgen_err *err) {
    *session = NULL;
    *session_bytes = 0;
    const vgen_wan_config *c = vgen_dit_config(dit->impl);
    vgen_dit_session_params sp;
    vgen_dit_session_params_init(&sp);
    sp.frames = shape->frames;
    sp.height = shape->height;
    sp.width = shape->width;
    sp.ctx_len = shape->ctx_len;
    sp.abort = shape->abort;
    sp.abort_user_data = shape->abort_user_data;
    wan_session *ws = calloc(1, sizeof *ws);
    if (!ws) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a transformer session");
    *ws = (wan_session){.xs = {c->in_channels, sp.frames, sp.height, sp.width},
                        .vs = {c->out_channels, sp.frames, sp.height, sp.width},
                        .cs = {sp.ctx_len, c->text_dim}};
    int rc = vgen_dit_place(dit->impl, be, shape->resident_blocks, &ws->pl, err);
    sp.placement = ws->pl;
    if (!rc) rc = vgen_dit_session_new(dit->impl, be, &sp, &ws->s, err);
    if (rc) {
        vgen_dit_placement_free(&ws->pl);
        free(ws);
        return rc;
    }
    if (!be->host_addressable && shape->log)
        VGEN_LOGI(shape->log, "transformer weights on %s: %.1f MiB on the device, %lld of %lld blocks resident, "
                  "%.1f MiB staged in host memory for streaming", be->name,
                  (double)vgen_dit_placement_device_bytes(ws->pl) / 1048576.0,
                  (long long)vgen_dit_placement_resident(ws->pl), (long long)c->layers,
                  (double)vgen_dit_placement_staging_bytes(ws->pl) / 1048576.0);
    *session = ws;
    *session_bytes = vgen_dit_session_bytes(ws->s);
    return VGEN_OK;
}

void wan21_dit_session_free(void **session) {
    wan_session *ws = *session;
    if (!ws) return;
    vgen_dit_session_free(&ws->s);
    vgen_dit_placement_free(&ws->pl);
    free(ws);
    *session = NULL;
}

int wan21_dit_forward(void *session, const float *x, float t, const float *ctx, float *v, vgen_err *err) {
    wan_session *ws = session;
    vgen_tensor xt, vt, ct;
    int rc = vgen_tensor_view(&xt, VGEN_DTYPE_F32, 4, ws->xs, (void *)x, err);
    if (!rc) rc = vgen_tensor_view(&vt, VGEN_DTYPE_F32, 4, ws->vs, v, err);
    if (!rc) rc = vgen_tensor_view(&ct, VGEN_DTYPE_F32, 2, ws->cs, (void *)ctx, err);
    if (!rc) rc = vgen_dit_forward(ws->s, &xt, t, &ct, &vt, err);
    return rc;
}

/* plan_api.c - vgen_plan_generation (include/vgen.h), and the budget check vgen_generate applies before loading
 * anything. */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "plan.h"

const char *vgen_plan_phase_name(vgen_plan_phase_id phase) {
    switch (phase) {
    case VGEN_PLAN_TEXT: return "text_encoder";
    case VGEN_PLAN_DENOISE: return "denoise";
    case VGEN_PLAN_DECODE: return "vae_decode";
    default: return "unknown";
    }
}

vgen_plan_request vgen_plan_request_of(const vgen_model *m, const vgen_generate_params *p) {
    vgen_plan_request q = {.width = p->width, .height = p->height, .frames = p->frames, .steps = p->steps,
                           .guided = p->guidance != 1.0, .sampler = m->sched.kind};
    if (p->sampler) q.sampler = strcmp(p->sampler, "euler") == 0 ? VGEN_SAMPLER_EULER : VGEN_SAMPLER_UNIPC;
    return q;
}

static int plan_with_advice(const vgen_model *m, const vgen_plan_request *q, vgen_plan *out, vgen_err *err) {
    int rc = vgen_plan_compute(m, &m->preset, q, out, err);
    if (!rc && !out->fits) rc = vgen_plan_advise(m, &m->preset, q, out, err);
    return rc;
}

int vgen_plan_check(const vgen_model *m, const vgen_plan_request *q, vgen_err *err) {
    vgen_plan pl;
    int rc = plan_with_advice(m, q, &pl, err);
    if (rc) return rc;
    if (!pl.fits)
        return vgen_err_set(err, VGEN_ERR_BUDGET, "%dx%d with %d frames does not fit the preset \"%s\": %s",
                            q->width, q->height, q->frames, m->preset.name, pl.summary);
    return VGEN_OK;
}

/* The model's paths, family and scheduler defaults, without loading or checking what this build can run. */
static int resolve(const vgen_model_params *mp, vgen_model *m, const vgen_logger *log, vgen_err *err) {
    int rc = mp->preset ? VGEN_OK : vgen_model_builtin_preset(&m->preset, err);
    if (mp->preset) m->preset = *mp->preset;
    if (!rc) rc = vgen_model_resolve(mp, m, log, err);
    if (rc) return rc;
    m->sched = (vgen_sched_config){.kind = (vgen_sampler_kind)m->family->defaults.sampler,
                                   .shift = m->family->defaults.shift};
    if (m->paths[VGEN_PART_SCHEDULER][0]) rc = vgen_sched_config_read(m->paths[VGEN_PART_SCHEDULER], &m->sched, err);
    return rc;
}

vgen_status vgen_plan_generation(vgen_context *ctx, const vgen_model_params *model_params,
                                 const vgen_generate_params *params, vgen_plan *out) {
    if (!ctx) return VGEN_ERR_INVALID_ARGUMENT;
    vgen_err_clear(&ctx->err);
    if (!model_params || !params || !out)
        return vgen_ctx_fail(ctx, &(vgen_err){VGEN_ERR_INVALID_ARGUMENT, "vgen_plan_generation: NULL argument"});
    memset(out, 0, sizeof *out);
    vgen_model *m = calloc(1, sizeof *m);
    if (!m) return vgen_ctx_fail(ctx, &(vgen_err){VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the model"});
    int rc = resolve(model_params, m, &ctx->log, &ctx->err);
    if (!rc) {
        const vgen_plan_request q = vgen_plan_request_of(m, params);
        rc = plan_with_advice(m, &q, out, &ctx->err);
    }
    free(m);
    return rc ? vgen_ctx_fail(ctx, &ctx->err) : VGEN_OK;
}

/* generate.c - vgen_generate: validate, open the outputs, then text -> denoise -> decode, then finish the outputs;
 * on any failure the outputs are aborted (no file left) and everything the run holds is freed. */
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "plan.h"

vgen_generate_params vgen_generate_params_init(void) {
    vgen_generate_params p;
    memset(&p, 0, sizeof p);
    p.width = vgen_family_wan21.defaults.width;
    p.height = vgen_family_wan21.defaults.height;
    p.frames = vgen_family_wan21.defaults.frames;
    p.steps = vgen_family_wan21.defaults.steps;
    p.guidance = vgen_family_wan21.defaults.guidance;
    p.fps = vgen_family_wan21.defaults.fps;
    p.crf = 18;
    return p;
}

/* The run's copy of the parameters with every default resolved. */
static void setup_run(vgen_run *r, vgen_context *ctx, const vgen_model *m, const vgen_generate_params *p,
                      const vgen_generate_taps *taps) {
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    r->err = &ctx->err;
    r->model = m;
    r->fam = m->family;
    r->p = *p;
    if (!r->p.prompt) r->p.prompt = "";
    if (!r->p.negative_prompt) r->p.negative_prompt = "";
    r->kind = !p->sampler ? m->sched.kind : strcmp(p->sampler, "euler") == 0 ? VGEN_SAMPLER_EULER : VGEN_SAMPLER_UNIPC;
    r->shift = p->shift > 0 ? p->shift : m->sched.shift;
    r->guided = p->guidance != 1.0;
    r->log = p->log ? (vgen_logger){p->log, p->log_user_data, ctx->log.level} : ctx->log;
    r->taps = taps;
    r->lf = (p->frames - 1) / r->fam->temporal_factor + 1;
    r->lh = p->height / r->fam->spatial_factor;
    r->lw = p->width / r->fam->spatial_factor;
    r->seconds[VGEN_PHASE_LOAD] = m->load_seconds;
}

static void release_run(vgen_run *r) {
    vgen_run_abort_outputs(r);
    r->fam->dit_session_free(&r->session);
    vgen_part_free(&r->text);
    vgen_part_free(&r->dit_own);
    vgen_part_free(&r->vae_own);
    vgen_backend_free(&r->gpu);
    vgen_backend_free(&r->be);
    free(r->ctx_cond);
    free(r->ctx_uncond);
    free(r->latents);
    free(r->rgb24);
}

static int run_phases(vgen_run *r) {
    VGEN_LOGI(&r->log, "generating %dx%d, %d frames, %d %s steps (shift %g), guidance %g, seed %llu", r->p.width,
              r->p.height, r->p.frames, r->p.steps, vgen_sampler_kind_name(r->kind), r->shift, r->p.guidance,
              (unsigned long long)r->p.seed);
    int rc = vgen_run_open_outputs(r);
    if (!rc) rc = vgen_run_open_backends(r);
    if (!rc) rc = vgen_run_text(r);
    if (!rc) rc = vgen_run_denoise(r);
    if (!rc) rc = vgen_run_decode(r);
    if (!rc) rc = vgen_run_check_abort(r, "before the outputs were finished");
    if (!rc) rc = vgen_run_finish_outputs(r);
    return rc;
}

vgen_status vgen_generate_run(vgen_context *ctx, const vgen_model *model, const vgen_generate_params *params,
                              const vgen_generate_taps *taps) {
    if (!ctx) return VGEN_ERR_INVALID_ARGUMENT;
    vgen_err_clear(&ctx->err);
    if (!model) return vgen_ctx_fail(ctx, &(vgen_err){VGEN_ERR_INVALID_ARGUMENT, "vgen_generate: NULL model"});
    if (vgen_generate_check(model, params, &ctx->err)) return vgen_ctx_fail(ctx, &ctx->err);
    const vgen_plan_request q = vgen_plan_request_of(model, params);
    if (vgen_plan_check(model, &q, &ctx->err)) return vgen_ctx_fail(ctx, &ctx->err); /* before loading anything */
    vgen_run *r = malloc(sizeof *r);
    if (!r) return vgen_ctx_fail(ctx, &(vgen_err){VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the run"});
    setup_run(r, ctx, model, params, taps);
    int rc = run_phases(r);
    release_run(r);
    free(r);
    return rc ? vgen_ctx_fail(ctx, &ctx->err) : VGEN_OK;
}

vgen_status vgen_generate(vgen_context *ctx, const vgen_model *model, const vgen_generate_params *params) {
    return vgen_generate_run(ctx, model, params, NULL);
}

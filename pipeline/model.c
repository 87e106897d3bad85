/* model.c - vgen_model_load / vgen_model_free (include/vgen.h): resolve every path, read the scheduler config, then
 * load the components the preset keeps resident. */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "generate.h"
#include "model.h"
#include "plan.h"

vgen_model_params vgen_model_params_init(void) {
    vgen_model_params p;
    memset(&p, 0, sizeof p);
    return p;
}

const char *vgen_model_family(const vgen_model *model) { return model ? model->family->name : ""; }

void vgen_model_free(vgen_model **model) {
    if (!model || !*model) return;
    vgen_part_free(&(*model)->dit);
    vgen_part_free(&(*model)->vae);
    free(*model);
    *model = NULL;
}

/* Refuses, before any weight is read, a preset whose resident weights alone exceed its budget: the plan of the
 * smallest video (one frame of the family's size multiple). */
static int check_weights_fit(const vgen_model *m, vgen_err *err) {
    const int k = m->family->size_multiple;
    const vgen_plan_request q = {.width = k, .height = k, .frames = 1, .guided = 1, .sampler = m->sched.kind,
                                 .steps = 1};
    int rc = vgen_plan_check(m, &q, err);
    if (rc == VGEN_ERR_BUDGET) vgen_err_prefix(err, "the model's weights do not fit");
    return rc;
}

static int setup(const vgen_model_params *p, vgen_model *m, const vgen_logger *log, vgen_err *err) {
    int rc = p->preset ? VGEN_OK : vgen_model_builtin_preset(&m->preset, err);
    if (p->preset) m->preset = *p->preset;
    if (!rc) rc = vgen_model_resolve(p, m, log, err);
    if (rc) return rc;
    m->sched = (vgen_sched_config){.kind = (vgen_sampler_kind)m->family->defaults.sampler,
                                   .shift = m->family->defaults.shift};
    if (m->paths[VGEN_PART_SCHEDULER][0]) rc = vgen_sched_config_read(m->paths[VGEN_PART_SCHEDULER], &m->sched, err);
    if (!rc) rc = check_weights_fit(m, err);
    return rc;
}

/* Loads the resident components, reporting progress and checking abort between them. */
static int load_resident(const vgen_model_params *p, vgen_model *m, vgen_threadpool *pool, const vgen_logger *log,
                         vgen_err *err) {
    const vgen_component order[2] = {VGEN_COMPONENT_DIT, VGEN_COMPONENT_VAE};
    vgen_part **slots[2] = {&m->dit, &m->vae};
    int64_t total = vgen_model_keeps(m, order[0]) + vgen_model_keeps(m, order[1]), done = 0;
    if (p->progress) p->progress(0, total, p->progress_user_data);
    for (int i = 0; i < 2; i++) {
        if (!vgen_model_keeps(m, order[i])) continue;
        if (p->abort && p->abort(p->abort_user_data))
            return vgen_err_set(err, VGEN_ERR_ABORTED, "model loading aborted");
        int rc = vgen_model_load_part(m, order[i], pool, log, slots[i], err);
        if (rc) return rc;
        if (p->progress) p->progress(++done, total, p->progress_user_data);
    }
    return VGEN_OK;
}

vgen_status vgen_model_load(vgen_context *ctx, const vgen_model_params *params, vgen_model **out) {
    if (!ctx) return VGEN_ERR_INVALID_ARGUMENT;
    vgen_err_clear(&ctx->err);
    if (!params || !out)
        return vgen_ctx_fail(ctx, &(vgen_err){VGEN_ERR_INVALID_ARGUMENT, "vgen_model_load: NULL params or out"});
    *out = NULL;
    vgen_model *m = calloc(1, sizeof *m);
    if (!m) return vgen_ctx_fail(ctx, &(vgen_err){VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the model"});
    const double t0 = vgen_now_s();
    int rc = setup(params, m, &ctx->log, &ctx->err);
    if (!rc) rc = load_resident(params, m, ctx->pool, &ctx->log, &ctx->err);
    m->load_seconds = vgen_now_s() - t0;
    if (rc) {
        vgen_model_free(&m);
        return vgen_ctx_fail(ctx, &ctx->err);
    }
    *out = m;
    return VGEN_OK;
}

/* sample.c - the sampling loop: for each step, abort check, denoise (conditional, then unconditional when guided),
 * CFG, finiteness check, solver step, progress. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

vgen_sample_params vgen_sample_params_init(void) {
    vgen_sample_params p;
    memset(&p, 0, sizeof p);
    p.kind = VGEN_SAMPLER_UNIPC;
    p.guidance = 5.0f;
    return p;
}

static int check_args(const vgen_schedule *schedule, const vgen_sample_params *p, const float *latent,
                      size_t numel, vgen_err *err) {
    if (!schedule || !p || !latent || numel == 0)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sample: NULL schedule, params or latent, or numel 0");
    if (!p->denoise) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sample: no denoise callback");
    if (!isfinite(p->guidance))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sample: guidance must be finite, got %g",
                            (double)p->guidance);
    return VGEN_OK;
}

static int call_denoise(const vgen_sample_params *p, int step, float t, const float *x, float *v, int cond,
                        vgen_err *err) {
    int rc = p->denoise(p->denoise_user_data, step, t, x, v, cond);
    if (rc == VGEN_OK) return VGEN_OK;
    int code = rc < 0 ? rc : VGEN_ERR_INTERNAL;
    return vgen_err_set(err, code, "sample: denoise callback failed at step %d (%s pass): %s (%d)", step,
                        cond ? "conditional" : "unconditional", vgen_strerror(code), rc);
}

static int check_finite(const float *v, size_t numel, int step, vgen_err *err) {
    for (size_t j = 0; j < numel; j++) {
        if (!isfinite(v[j]))
            return vgen_err_set(err, VGEN_ERR_NUMERIC, "sample: velocity at step %d is not finite (element %zu = %g)",
                                step, j, (double)v[j]);
    }
    return VGEN_OK;
}

/* v_c <- the guided velocity for x at step (v_u is scratch, NULL when guidance == 1). */
static int guided_velocity(const vgen_sample_params *p, int step, float t, const float *x, float *v_c, float *v_u,
                           size_t numel, vgen_err *err) {
    int rc = call_denoise(p, step, t, x, v_c, 1, err);
    if (rc == VGEN_OK && v_u) {
        rc = call_denoise(p, step, t, x, v_u, 0, err);
        if (rc == VGEN_OK) vgen_cfg_combine(v_c, v_u, p->guidance, numel);
    }
    if (rc == VGEN_OK) rc = check_finite(v_c, numel, step, err);
    return rc;
}

static int run_steps(const vgen_schedule *schedule, const vgen_sample_params *p, vgen_sampler *s, float *v_c,
                     float *v_u, float *latent, size_t numel, vgen_err *err) {
    const int n = schedule->n_steps;
    for (int i = 0; i < n; i++) {
        if (p->abort && p->abort(p->abort_user_data))
            return vgen_err_set(err, VGEN_ERR_ABORTED, "sample: aborted before step %d of %d", i, n);
        int rc = guided_velocity(p, i, schedule->timesteps[i], latent, v_c, v_u, numel, err);
        if (rc == VGEN_OK) rc = vgen_sampler_step(s, i, v_c, latent, err);
        if (rc != VGEN_OK) return rc;
        if (p->progress) p->progress(i + 1, n, p->progress_user_data);
    }
    return VGEN_OK;
}

int vgen_sample(const vgen_schedule *schedule, const vgen_sample_params *params, float *latent, size_t numel,
                vgen_err *err) {
    int rc = check_args(schedule, params, latent, numel, err);
    vgen_sampler *s = NULL;
    if (rc == VGEN_OK) rc = vgen_sampler_new(params->kind, schedule, numel, &s, err);
    if (rc != VGEN_OK) return rc;
    const int guided = params->guidance != 1.0f;
    float *v_c = malloc(numel * sizeof(float));
    float *v_u = guided ? malloc(numel * sizeof(float)) : NULL;
    if (!v_c || (guided && !v_u))
        rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "sample: cannot allocate velocity buffers (%zu floats)", numel);
    else
        rc = run_steps(schedule, params, s, v_c, v_u, latent, numel, err);
    free(v_c);
    free(v_u);
    vgen_sampler_free(&s);
    return rc;
}

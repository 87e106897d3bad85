/* sampler.c - the solver state object: creation with schedule validation, stepping in order, release. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "sampler_impl.h"

const char *vgen_sampler_kind_name(vgen_sampler_kind kind) {
    switch (kind) {
    case VGEN_SAMPLER_UNIPC: return "unipc";
    case VGEN_SAMPLER_EULER: return "euler";
    }
    return "?";
}

static int unipc_buffers(vgen_sampler_kind kind) { return kind == VGEN_SAMPLER_UNIPC ? 3 : 0; }

size_t vgen_sampler_state_bytes(vgen_sampler_kind kind, int n_steps, size_t numel) {
    size_t n_sig = n_steps > 0 ? (size_t)n_steps + 1 : 0;
    return sizeof(vgen_sampler) + n_sig * sizeof(float) + (size_t)unipc_buffers(kind) * numel * sizeof(float);
}

/* The schedule struct is public, so it is checked again: float32 sigmas in [0, 1], strictly decreasing. */
static int check_schedule(vgen_sampler_kind kind, const vgen_schedule *sc, vgen_err *err) {
    if (!sc || !sc->sigmas || !sc->timesteps || sc->n_steps < 1 || sc->n_steps > VGEN_SCHEDULE_MAX_STEPS)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sampler: empty or invalid schedule (%d steps)",
                            sc ? sc->n_steps : 0);
    for (int i = 0; i <= sc->n_steps; i++) {
        float v = (float)sc->sigmas[i];
        if (!isfinite(sc->sigmas[i]) || v < 0.0f || v > 1.0f)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sampler: sigma[%d] = %g is not in [0, 1]", i,
                                sc->sigmas[i]);
        if (i > 0 && !(v < (float)sc->sigmas[i - 1]))
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                                "sampler: sigmas not strictly decreasing in float32 at index %d", i);
        if (kind == VGEN_SAMPLER_UNIPC && v >= 1.0f)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                                "sampler: unipc needs sigmas below 1 (ln(1 - sigma)), sigma[%d] = %g", i,
                                sc->sigmas[i]);
    }
    return VGEN_OK;
}

void vgen_sampler_free(vgen_sampler **s) {
    if (!s || !*s) return;
    free((*s)->sigmas);
    free((*s)->x0[0]);
    free((*s)->x0[1]);
    free((*s)->last_sample);
    free(*s);
    *s = NULL;
}

static int alloc_buffers(vgen_sampler *s) {
    s->sigmas = malloc(((size_t)s->n_steps + 1) * sizeof(float));
    if (s->sigmas && s->kind == VGEN_SAMPLER_UNIPC) {
        s->x0[0] = malloc(s->numel * sizeof(float));
        s->x0[1] = malloc(s->numel * sizeof(float));
        s->last_sample = malloc(s->numel * sizeof(float));
        if (!s->x0[0] || !s->x0[1] || !s->last_sample) return VGEN_ERR_OUT_OF_MEMORY;
    }
    return s->sigmas ? VGEN_OK : VGEN_ERR_OUT_OF_MEMORY;
}

int vgen_sampler_new(vgen_sampler_kind kind, const vgen_schedule *schedule, size_t numel, vgen_sampler **out,
                     vgen_err *err) {
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sampler: out is NULL");
    *out = NULL;
    if (kind != VGEN_SAMPLER_UNIPC && kind != VGEN_SAMPLER_EULER)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sampler: unknown kind %d", (int)kind);
    if (numel == 0 || numel > SIZE_MAX / sizeof(float) / 4)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sampler: latent size %zu out of range", numel);
    int rc = check_schedule(kind, schedule, err);
    if (rc != VGEN_OK) return rc;
    vgen_sampler *s = calloc(1, sizeof *s);
    if (!s) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "sampler: cannot allocate state");
    s->kind = kind;
    s->n_steps = schedule->n_steps;
    s->numel = numel;
    if (alloc_buffers(s) != VGEN_OK) {
        vgen_sampler_free(&s);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "sampler: cannot allocate %zu bytes of %s state",
                            vgen_sampler_state_bytes(kind, schedule->n_steps, numel), vgen_sampler_kind_name(kind));
    }
    for (int i = 0; i <= s->n_steps; i++) s->sigmas[i] = (float)schedule->sigmas[i];
    *out = s;
    return VGEN_OK;
}

int vgen_sampler_step(vgen_sampler *s, int step_index, const float *model_output, float *sample, vgen_err *err) {
    if (!s || !model_output || !sample)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sampler step: NULL argument");
    if (s->next_step >= s->n_steps)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sampler step: all %d steps are done", s->n_steps);
    if (step_index != s->next_step)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sampler step: expected step %d of %d, got %d",
                            s->next_step, s->n_steps, step_index);
    if (s->kind == VGEN_SAMPLER_UNIPC) vgen_unipc_step(s, step_index, model_output, sample);
    else vgen_euler_step(s, step_index, model_output, sample);
    s->next_step++;
    return VGEN_OK;
}

const float *vgen_sampler_x0(const vgen_sampler *s) {
    if (!s || s->kind != VGEN_SAMPLER_UNIPC || s->next_step == 0) return NULL;
    return s->x0[s->newest];
}

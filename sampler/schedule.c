/* schedule.c - sigma/timestep schedules exactly as diffusers 0.35 computes them (see sampler.h).
 *
 * numpy parts are float64 with numpy's operation order: linspace(a, b, num)[i] = i * ((b - a) / (num - 1)) + a with
 * the last element set to b; torch parts (Euler's sigma range, its timesteps) are float32 operations. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "sampler.h"

void vgen_schedule_release(vgen_schedule *s) {
    if (!s) return;
    free(s->sigmas);
    free(s->timesteps);
    s->sigmas = NULL;
    s->timesteps = NULL;
    s->n_steps = 0;
}

static int schedule_alloc(vgen_schedule *out, int n_steps, vgen_err *err) {
    out->n_steps = 0;
    out->sigmas = malloc(((size_t)n_steps + 1) * sizeof(double));
    out->timesteps = malloc((size_t)n_steps * sizeof(float));
    if (!out->sigmas || !out->timesteps) {
        vgen_schedule_release(out);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "schedule: cannot allocate %d steps", n_steps);
    }
    out->n_steps = n_steps;
    return VGEN_OK;
}

static int check_steps_shift(int n_steps, double shift, vgen_err *err) {
    if (n_steps < 1 || n_steps > VGEN_SCHEDULE_MAX_STEPS)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "schedule: steps must be in [1, %d], got %d",
                            VGEN_SCHEDULE_MAX_STEPS, n_steps);
    if (!isfinite(shift) || shift <= 0.0)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "schedule: shift must be finite and > 0, got %g", shift);
    return VGEN_OK;
}

/* The flow shift of diffusers, in float64: shift s / (1 + (shift - 1) s). */
static double flow_shift(double s, double shift) {
    double num = shift * s;
    double den_t = (shift - 1.0) * s;
    double den = 1.0 + den_t;
    return num / den;
}

/* numpy.linspace(start, stop, num)[i] for num >= 1. */
static double np_linspace_at(double start, double stop, int num, int i) {
    if (num > 1 && i == num - 1) return stop;
    if (num == 1) return 0.0 * (stop - start) + start;
    double step = (stop - start) / (double)(num - 1);
    double y = (double)i * step;
    return y + start;
}

static void timesteps_from_sigmas(vgen_schedule *s, vgen_timestep_rule rule) {
    for (int i = 0; i < s->n_steps; i++) {
        if (rule == VGEN_TIMESTEPS_TRUNC) {
            double t = s->sigmas[i] * (double)VGEN_TRAIN_TIMESTEPS;
            s->timesteps[i] = (float)(int64_t)t;
        } else {
            float sig = (float)s->sigmas[i];
            s->timesteps[i] = sig * (float)VGEN_TRAIN_TIMESTEPS;
        }
    }
}

int vgen_schedule_unipc_flow(vgen_schedule *out, int n_steps, double shift, vgen_err *err) {
    int rc = check_steps_shift(n_steps, shift, err);
    if (rc == VGEN_OK) rc = schedule_alloc(out, n_steps, err);
    if (rc != VGEN_OK) return rc;
    /* alphas = linspace(1, 1/T, n + 1); sigmas = 1 - alphas, shifted, reversed, the 0 of alphas[0] = 1 dropped */
    for (int k = 0; k < n_steps; k++) {
        double alpha = np_linspace_at(1.0, 1.0 / VGEN_TRAIN_TIMESTEPS, n_steps + 1, n_steps - k);
        out->sigmas[k] = flow_shift(1.0 - alpha, shift);
    }
    out->sigmas[n_steps] = 0.0;
    timesteps_from_sigmas(out, VGEN_TIMESTEPS_TRUNC);
    return VGEN_OK;
}

/* FlowMatchEulerDiscreteScheduler.__init__: the shifted float32 sigma of train timestep t (1..1000), as a double. */
static double euler_train_sigma(int t, double shift) {
    float s = (float)t / (float)VGEN_TRAIN_TIMESTEPS;
    float num = (float)shift * s;
    float den_t = (float)(shift - 1.0) * s;
    float den = 1.0f + den_t;
    return (double)(num / den);
}

int vgen_schedule_euler_flow(vgen_schedule *out, int n_steps, double shift, vgen_err *err) {
    int rc = check_steps_shift(n_steps, shift, err);
    if (rc == VGEN_OK) rc = schedule_alloc(out, n_steps, err);
    if (rc != VGEN_OK) return rc;
    double t_max = euler_train_sigma(VGEN_TRAIN_TIMESTEPS, shift) * VGEN_TRAIN_TIMESTEPS;
    double t_min = euler_train_sigma(1, shift) * VGEN_TRAIN_TIMESTEPS;
    for (int k = 0; k < n_steps; k++) {
        double t = np_linspace_at(t_max, t_min, n_steps, k);
        out->sigmas[k] = flow_shift(t / VGEN_TRAIN_TIMESTEPS, shift);
    }
    out->sigmas[n_steps] = 0.0;
    timesteps_from_sigmas(out, VGEN_TIMESTEPS_F32);
    return VGEN_OK;
}

static int check_custom_sigmas(const double *sigmas, int n_sigmas, vgen_err *err) {
    if (!sigmas || n_sigmas < 2 || n_sigmas > VGEN_SCHEDULE_MAX_STEPS + 1)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "custom sigmas: need 2 to %d values, got %d",
                            VGEN_SCHEDULE_MAX_STEPS + 1, sigmas ? n_sigmas : 0);
    for (int i = 0; i < n_sigmas; i++) {
        double v = sigmas[i];
        if (!isfinite(v) || v < 0.0 || v > 1.0)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "custom sigmas: sigma[%d] = %g is not in [0, 1]", i,
                                v);
        if (i > 0 && !(v < sigmas[i - 1]))
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                                "custom sigmas: not strictly decreasing at index %d (%.17g after %.17g)", i, v,
                                sigmas[i - 1]);
        if (i > 0 && !((float)v < (float)sigmas[i - 1]))
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                                "custom sigmas: sigma[%d] and sigma[%d] are equal in float32 (%.9g)", i - 1, i,
                                (double)(float)v);
    }
    return VGEN_OK;
}

int vgen_schedule_from_sigmas(vgen_schedule *out, const double *sigmas, int n_sigmas, vgen_timestep_rule rule,
                              vgen_err *err) {
    int rc = check_custom_sigmas(sigmas, n_sigmas, err);
    if (rc != VGEN_OK) return rc;
    if (rule != VGEN_TIMESTEPS_TRUNC && rule != VGEN_TIMESTEPS_F32)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "custom sigmas: unknown timestep rule %d", (int)rule);
    rc = schedule_alloc(out, n_sigmas - 1, err);
    if (rc != VGEN_OK) return rc;
    for (int i = 0; i < n_sigmas; i++) out->sigmas[i] = sigmas[i];
    timesteps_from_sigmas(out, rule);
    return VGEN_OK;
}

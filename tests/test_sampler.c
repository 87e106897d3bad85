/* test_sampler.c - sampler/ against diffusers 0.35.2 (tests/fixtures/scheduler, tools/reference/gen_schedulers.py):
 * schedules (sigmas within 1e-6 relative, timesteps exact) and every step output and x0 prediction of UniPC and
 * Euler (shift 3 and 5; 1, 2, 10, 50 steps) fed the recorded model outputs, within 1e-6 of max(1, max|ref|); then
 * the loop's contracts: validation, CFG call counts, abort, callback errors. Prints the achieved errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "sampler.h"
#include "testutil.h"

#define SCHED_DIR VGEN_FIXTURES_DIR "/scheduler"
#define TOL 1e-6
#define NUMEL 128 /* [1, 16, 2, 2, 2] */

static const int k_steps[] = {1, 2, 10, 50};
static const int k_shifts[] = {3, 5};

static const void *fixture(const vgen_st_set *set, const char *name, vgen_st_dtype dtype, size_t n) {
    const vgen_st_tensor *t = vgen_st_find(set, name);
    CHECKF(t && t->dtype == dtype && t->n_bytes == n * vgen_st_dtype_size(dtype), "fixture tensor %s missing or "
           "wrong dtype/size", name);
    return t && t->dtype == dtype && t->n_bytes == n * vgen_st_dtype_size(dtype) ? t->data : NULL;
}

/* max|got - ref| / max(1, max|ref|) */
static double rel_err_f32(const float *got, const float *ref, size_t n) {
    double d = 0, m = 1;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)ref[i]);
        if (!(e <= d)) d = e; /* NaN-safe: a NaN makes d NaN */
        if (fabs((double)ref[i]) > m) m = fabs((double)ref[i]);
    }
    return d / m;
}

static int make_schedule(const char *kind, int n, double shift, vgen_schedule *s, vgen_err *err) {
    if (strcmp(kind, "unipc") == 0) return vgen_schedule_unipc_flow(s, n, shift, err);
    return vgen_schedule_euler_flow(s, n, shift, err);
}

/* Sigmas vs sigmas_f64 (relative) and sigmas_f32 (exact after the cast); timesteps exact. Returns the max error. */
static double check_schedule_case(const vgen_st_set *set, const char *kind, int n, int shift) {
    char base[64], name[96];
    snprintf(base, sizeof base, "%s_shift%d.n%d", kind, shift, n);
    vgen_schedule s = {0};
    vgen_err err;
    vgen_err_clear(&err);
    int rc = make_schedule(kind, n, shift, &s, &err);
    CHECKF(rc == VGEN_OK, "%s: %s", base, err.msg);
    if (rc != VGEN_OK) return INFINITY;
    snprintf(name, sizeof name, "%s.sigmas_f64", base);
    const double *s64 = fixture(set, name, VGEN_ST_F64, (size_t)n + 1);
    snprintf(name, sizeof name, "%s.sigmas_f32", base);
    const float *s32 = fixture(set, name, VGEN_ST_F32, (size_t)n + 1);
    int is_unipc = strcmp(kind, "unipc") == 0;
    snprintf(name, sizeof name, "%s.timesteps", base);
    const void *ts = fixture(set, name, is_unipc ? VGEN_ST_I64 : VGEN_ST_F32, (size_t)n);
    double max_rel = 0;
    int f32_mismatch = 0, t_mismatch = 0;
    for (int i = 0; s64 && s32 && ts && i <= n; i++) {
        double rel = fabs(s.sigmas[i] - s64[i]) / fmax(fabs(s64[i]), 1e-30);
        if (s64[i] == 0.0) rel = fabs(s.sigmas[i]);
        if (!(rel <= max_rel)) max_rel = rel;
        f32_mismatch += (float)s.sigmas[i] != s32[i];
        if (i == n) break;
        float want = is_unipc ? (float)((const int64_t *)ts)[i] : ((const float *)ts)[i];
        t_mismatch += memcmp(&want, &s.timesteps[i], sizeof(float)) != 0;
    }
    CHECKF(max_rel <= TOL, "%s: sigma rel err %.3g", base, max_rel);
    CHECKF(f32_mismatch == 0, "%s: %d float32 sigmas differ", base, f32_mismatch);
    CHECKF(t_mismatch == 0, "%s: %d timesteps differ", base, t_mismatch);
    vgen_schedule_release(&s);
    return max_rel;
}

static void test_schedules(void) {
    vgen_st_set *set = NULL;
    vgen_err err;
    vgen_err_clear(&err);
    int rc = vgen_st_open(SCHED_DIR "/schedules.safetensors", &set, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    if (rc != VGEN_OK) return;
    const char *kinds[] = {"unipc", "euler"};
    double worst = 0;
    for (int k = 0; k < 2; k++)
        for (int sh = 0; sh < 2; sh++)
            for (int ni = 0; ni < 4; ni++) {
                double e = check_schedule_case(set, kinds[k], k_steps[ni], k_shifts[sh]);
                if (!(e <= worst)) worst = e;
            }
    printf("  schedules: 16 cases, max sigma rel err vs float64 %.3g, float32 sigmas and timesteps exact\n", worst);
    vgen_st_close(&set);
}

/* Runs one fixture case step by step; returns the max relative error over all steps (prev_sample and x0_pred). */
static double run_steps_case(const vgen_st_set *set, const char *kind, int n, int shift, double *x0_err) {
    char base[64], name[128];
    snprintf(base, sizeof base, "%s_shift%d.n%d", kind, shift, n);
    const float *x_init = fixture(set, "x_init", VGEN_ST_F32, NUMEL);
    const float *mo = fixture(set, "model_outputs", VGEN_ST_F32, 50 * NUMEL);
    vgen_schedule s = {0};
    vgen_sampler *sp = NULL;
    vgen_err err;
    vgen_err_clear(&err);
    int is_unipc = strcmp(kind, "unipc") == 0;
    int rc = make_schedule(kind, n, shift, &s, &err);
    if (rc == VGEN_OK)
        rc = vgen_sampler_new(is_unipc ? VGEN_SAMPLER_UNIPC : VGEN_SAMPLER_EULER, &s, NUMEL, &sp, &err);
    CHECKF(rc == VGEN_OK, "%s: %s", base, err.msg);
    double worst = 0;
    *x0_err = 0;
    float x[NUMEL];
    if (rc == VGEN_OK && x_init && mo) memcpy(x, x_init, sizeof x);
    for (int i = 0; rc == VGEN_OK && x_init && mo && i < n; i++) {
        rc = vgen_sampler_step(sp, i, mo + (size_t)i * NUMEL, x, &err);
        CHECKF(rc == VGEN_OK, "%s step %d: %s", base, i, err.msg);
        snprintf(name, sizeof name, "%s.step%d.prev_sample", base, i);
        const float *ref = fixture(set, name, VGEN_ST_F32, NUMEL);
        double e = ref ? rel_err_f32(x, ref, NUMEL) : INFINITY;
        if (!(e <= worst)) worst = e;
        if (!is_unipc) continue;
        snprintf(name, sizeof name, "%s.step%d.x0_pred", base, i);
        const float *ref0 = fixture(set, name, VGEN_ST_F32, NUMEL);
        const float *x0 = vgen_sampler_x0(sp);
        double e0 = ref0 && x0 ? rel_err_f32(x0, ref0, NUMEL) : INFINITY;
        if (!(e0 <= *x0_err)) *x0_err = e0;
    }
    CHECKF(worst <= TOL && *x0_err <= TOL, "%s: step error %.3g, x0 error %.3g", base, worst, *x0_err);
    vgen_sampler_free(&sp);
    vgen_schedule_release(&s);
    return worst;
}

static void test_steps(void) {
    vgen_st_set *set = NULL;
    vgen_err err;
    vgen_err_clear(&err);
    int rc = vgen_st_open(SCHED_DIR "/steps.safetensors", &set, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    if (rc != VGEN_OK) return;
    const char *kinds[] = {"unipc", "euler"};
    for (int k = 0; k < 2; k++)
        for (int sh = 0; sh < 2; sh++)
            for (int ni = 0; ni < 4; ni++) {
                double e0 = 0, e = run_steps_case(set, kinds[k], k_steps[ni], k_shifts[sh], &e0);
                if (k == 0)
                    printf("  %s shift %d, %2d steps: max rel err prev_sample %.3g, x0_pred %.3g\n", kinds[k],
                           k_shifts[sh], k_steps[ni], e, e0);
                else
                    printf("  %s shift %d, %2d steps: max rel err prev_sample %.3g\n", kinds[k], k_shifts[sh],
                           k_steps[ni], e);
            }
    vgen_st_close(&set);
}

/* ---- contracts ---- */

static void test_custom_sigmas(void) {
    vgen_schedule s = {0};
    vgen_err err;
    const double ok[] = {0.9, 0.5, 0.25, 0.0};
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, ok, 4, VGEN_TIMESTEPS_TRUNC, &err), VGEN_OK);
    CHECK_EQ_INT(s.n_steps, 3);
    CHECK(s.timesteps[0] == 900.0f && s.timesteps[1] == 500.0f && s.timesteps[2] == 250.0f);
    vgen_schedule_release(&s);
    CHECK(s.sigmas == NULL && s.timesteps == NULL);
    vgen_schedule_release(&s); /* twice is fine */
    const double up[] = {0.9, 0.95, 0.0}, eq[] = {0.9, 0.9, 0.0}, big[] = {1.5, 0.5, 0.0}, neg[] = {0.5, -0.1};
    const double nan_s[] = {0.5, NAN, 0.0}, f32_eq[] = {0.5, 0.5 - 1e-12, 0.0};
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, up, 3, VGEN_TIMESTEPS_F32, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "strictly decreasing at index 1");
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, eq, 3, VGEN_TIMESTEPS_F32, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, big, 3, VGEN_TIMESTEPS_F32, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "sigma[0]");
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, neg, 2, VGEN_TIMESTEPS_F32, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, nan_s, 3, VGEN_TIMESTEPS_F32, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, f32_eq, 3, VGEN_TIMESTEPS_F32, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "float32");
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, ok, 1, VGEN_TIMESTEPS_F32, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, NULL, 4, VGEN_TIMESTEPS_F32, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, ok, 4, (vgen_timestep_rule)7, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK(s.sigmas == NULL);
    /* sigma 1 is fine for Euler, not for UniPC (ln(1 - sigma)) */
    const double one[] = {1.0, 0.5, 0.0};
    vgen_sampler *sp = NULL;
    CHECK_EQ_INT(vgen_schedule_from_sigmas(&s, one, 3, VGEN_TIMESTEPS_F32, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_sampler_new(VGEN_SAMPLER_EULER, &s, 4, &sp, &err), VGEN_OK);
    vgen_sampler_free(&sp);
    CHECK(sp == NULL);
    CHECK_EQ_INT(vgen_sampler_new(VGEN_SAMPLER_UNIPC, &s, 4, &sp, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "below 1");
    vgen_schedule_release(&s);
}

static void test_bad_steps_and_shift(void) {
    vgen_schedule s = {0};
    vgen_err err;
    CHECK_EQ_INT(vgen_schedule_unipc_flow(&s, 0, 3.0, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "steps");
    CHECK_EQ_INT(vgen_schedule_euler_flow(&s, 0, 3.0, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_schedule_unipc_flow(&s, -5, 3.0, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_schedule_unipc_flow(&s, VGEN_SCHEDULE_MAX_STEPS + 1, 3.0, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_schedule_unipc_flow(&s, 10, 0.0, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_schedule_euler_flow(&s, 10, NAN, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK(s.sigmas == NULL);
    /* an empty schedule is refused by the sampler and the loop */
    vgen_sampler *sp = NULL;
    CHECK_EQ_INT(vgen_sampler_new(VGEN_SAMPLER_UNIPC, &s, 4, &sp, &err), VGEN_ERR_INVALID_ARGUMENT);
    /* steps out of order, past the end, zero-size latent, unknown kind */
    CHECK_EQ_INT(vgen_schedule_unipc_flow(&s, 2, 3.0, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_sampler_new(VGEN_SAMPLER_UNIPC, &s, 0, &sp, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_sampler_new((vgen_sampler_kind)9, &s, 4, &sp, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_sampler_new(VGEN_SAMPLER_UNIPC, &s, 4, &sp, &err), VGEN_OK);
    float x[4] = {1, 2, 3, 4}, v[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    CHECK(vgen_sampler_x0(sp) == NULL);
    CHECK_EQ_INT(vgen_sampler_step(sp, 1, v, x, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_sampler_step(sp, 0, v, x, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_sampler_step(sp, 1, v, x, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_sampler_step(sp, 2, v, x, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "done");
    /* final sigma 0: the last UniPC step returns the x0 prediction itself */
    CHECK(memcmp(x, vgen_sampler_x0(sp), sizeof x) == 0);
    vgen_sampler_free(&sp);
    vgen_schedule_release(&s);
}

/* ---- the loop ---- */

typedef struct fake_model {
    int calls_cond, calls_uncond;
    int fail_at_step;  /* -1: never */
    int fail_cond;     /* which pass fails */
    int abort_after;   /* abort callback returns 1 once this many steps completed; -1 never */
    int progress_calls, last_done, last_total;
    int nan_at_step;
    float t_seen[64];
} fake_model;

static int fake_denoise(void *ud, int step, float t, const float *x, float *v, int cond) {
    fake_model *m = ud;
    if (cond) m->calls_cond++;
    else m->calls_uncond++;
    if (step < 64) m->t_seen[step] = t;
    if (step == m->fail_at_step && cond == m->fail_cond) return VGEN_ERR_IO;
    for (int j = 0; j < 8; j++) v[j] = cond ? 0.5f * x[j] + 0.1f * (float)j : -0.25f * x[j];
    if (step == m->nan_at_step) v[3] = NAN;
    return VGEN_OK;
}

static int fake_abort(void *ud) {
    fake_model *m = ud;
    return m->abort_after >= 0 && m->progress_calls >= m->abort_after;
}

static void fake_progress(int64_t done, int64_t total, void *ud) {
    fake_model *m = ud;
    m->progress_calls++;
    m->last_done = (int)done;
    m->last_total = (int)total;
}

static vgen_sample_params fake_params(fake_model *m, float guidance) {
    memset(m, 0, sizeof *m);
    m->fail_at_step = -1;
    m->abort_after = -1;
    m->nan_at_step = -1;
    vgen_sample_params p = vgen_sample_params_init();
    p.guidance = guidance;
    p.denoise = fake_denoise;
    p.denoise_user_data = m;
    p.abort = fake_abort;
    p.abort_user_data = m;
    p.progress = fake_progress;
    p.progress_user_data = m;
    return p;
}

static void test_guidance_calls(void) {
    vgen_schedule s = {0};
    vgen_err err;
    fake_model m;
    float x[8] = {0};
    CHECK_EQ_INT(vgen_schedule_unipc_flow(&s, 5, 3.0, &err), VGEN_OK);
    vgen_sample_params p = fake_params(&m, 1.0f);
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_OK);
    CHECK_EQ_INT(m.calls_cond, 5);
    CHECK_EQ_INT(m.calls_uncond, 0);
    CHECK_EQ_INT(m.progress_calls, 5);
    CHECK(m.last_done == 5 && m.last_total == 5);
    for (int i = 0; i < 5; i++) CHECK(m.t_seen[i] == s.timesteps[i]);
    p = fake_params(&m, 5.0f);
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_OK);
    CHECK_EQ_INT(m.calls_cond, 5);
    CHECK_EQ_INT(m.calls_uncond, 5);
    p.guidance = NAN;
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_ERR_INVALID_ARGUMENT);
    p.guidance = 5.0f;
    p.denoise = NULL;
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_ERR_INVALID_ARGUMENT);
    vgen_schedule_release(&s);
}

/* The loop equals manual steps with the combined velocity v_u + g (v_c - v_u). */
static void test_loop_matches_manual_steps(void) {
    vgen_schedule s = {0};
    vgen_err err;
    fake_model m;
    float x[8], y[8], vc[8], vu[8];
    for (int j = 0; j < 8; j++) x[j] = y[j] = (float)j - 3.5f;
    CHECK_EQ_INT(vgen_schedule_euler_flow(&s, 4, 5.0, &err), VGEN_OK);
    vgen_sample_params p = fake_params(&m, 4.0f);
    p.kind = VGEN_SAMPLER_EULER;
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_OK);
    vgen_sampler *sp = NULL;
    CHECK_EQ_INT(vgen_sampler_new(VGEN_SAMPLER_EULER, &s, 8, &sp, &err), VGEN_OK);
    for (int i = 0; i < 4 && sp; i++) {
        fake_denoise(&m, i, s.timesteps[i], y, vc, 1);
        fake_denoise(&m, i, s.timesteps[i], y, vu, 0);
        vgen_cfg_combine(vc, vu, 4.0f, 8);
        CHECK_EQ_INT(vgen_sampler_step(sp, i, vc, y, &err), VGEN_OK);
    }
    CHECK(memcmp(x, y, sizeof x) == 0);
    CHECK(vgen_sampler_x0(sp) == NULL);
    vgen_sampler_free(&sp);
    vgen_schedule_release(&s);
}

static void test_abort_between_steps(void) {
    vgen_schedule s = {0};
    vgen_err err;
    fake_model m;
    float x[8] = {0};
    CHECK_EQ_INT(vgen_schedule_unipc_flow(&s, 6, 3.0, &err), VGEN_OK);
    vgen_sample_params p = fake_params(&m, 5.0f);
    m.abort_after = 2;
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_ERR_ABORTED);
    CHECK_STR_CONTAINS(err.msg, "before step 2");
    CHECK_EQ_INT(m.calls_cond, 2);
    CHECK_EQ_INT(m.calls_uncond, 2);
    CHECK_EQ_INT(m.progress_calls, 2);
    p = fake_params(&m, 1.0f);
    m.abort_after = 0; /* before the first step */
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_ERR_ABORTED);
    CHECK_EQ_INT(m.calls_cond, 0);
    vgen_schedule_release(&s);
}

static void test_callback_errors(void) {
    vgen_schedule s = {0};
    vgen_err err;
    fake_model m;
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, before[8];
    CHECK_EQ_INT(vgen_schedule_unipc_flow(&s, 6, 3.0, &err), VGEN_OK);
    vgen_sample_params p = fake_params(&m, 5.0f);
    m.fail_at_step = 3;
    m.fail_cond = 0;
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_ERR_IO);
    CHECK_STR_CONTAINS(err.msg, "step 3 (unconditional pass)");
    CHECK_EQ_INT(m.progress_calls, 3);
    p = fake_params(&m, 5.0f);
    m.fail_at_step = 0;
    m.fail_cond = 1;
    memcpy(before, x, sizeof x);
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_ERR_IO);
    CHECK_EQ_INT(m.calls_uncond, 0);
    CHECK(memcmp(before, x, sizeof x) == 0); /* nothing stepped */
    p = fake_params(&m, 1.0f);
    m.nan_at_step = 2;
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 8, &err), VGEN_ERR_NUMERIC);
    CHECK_STR_CONTAINS(err.msg, "step 2");
    CHECK_EQ_INT(vgen_sample(NULL, &p, x, 8, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_sample(&s, &p, x, 0, &err), VGEN_ERR_INVALID_ARGUMENT);
    vgen_schedule_release(&s);
}

static void test_state_bytes(void) {
    size_t n = 16 * 21 * 60 * 104;
    CHECK(vgen_sampler_state_bytes(VGEN_SAMPLER_UNIPC, 50, n) >= 3 * n * sizeof(float));
    CHECK(vgen_sampler_state_bytes(VGEN_SAMPLER_UNIPC, 50, n) < 3 * n * sizeof(float) + 4096);
    CHECK(vgen_sampler_state_bytes(VGEN_SAMPLER_EULER, 50, n) < 4096);
    CHECK(strcmp(vgen_sampler_kind_name(VGEN_SAMPLER_UNIPC), "unipc") == 0);
    CHECK(strcmp(vgen_sampler_kind_name(VGEN_SAMPLER_EULER), "euler") == 0);
}

int main(void) {
    RUN(test_schedules);
    RUN(test_steps);
    RUN(test_custom_sigmas);
    RUN(test_bad_steps_and_shift);
    RUN(test_guidance_calls);
    RUN(test_loop_matches_manual_steps);
    RUN(test_abort_between_steps);
    RUN(test_callback_errors);
    RUN(test_state_bytes);
    return test_summary();
}

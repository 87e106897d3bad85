/* test_dit_quant.c - the DiT with quantized block linears (quantize-on-load, every weight format) against the same
 * model with its stored weights, both computing in bf16 on the fixtures' inputs: prints the cosine similarity and
 * the relative L2 error of the output, and guards each as a regression budget (the measured value with a small
 * margin; docs/dit.md records them). The fixtures' weights are N(0, 1/fan_in) with K = 64..192, so int4 groups of
 * 64 and 128 often span a whole row. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/fixture.h"
#include "numeric.h"
#include "testutil.h"
#include "wan_dit.h"
#include "cpu/ops_cpu.h"
#include "ref/ops_ref.h"

#define DIT VGEN_FIXTURES_DIR "/dit"

typedef struct fixture_case {
    const char *name;
    int64_t f, h, w, text_dim;
} fixture_case;

static const fixture_case k_cases[] = {{"tiny_a", 2, 8, 12, 64}, {"tiny_b", 3, 6, 10, 48}};

/* Budgets per format and fixture: the output's cosine must stay >= min_cos and its relative L2 error <= max_rel.
 * Measured values are in docs/dit.md; each budget is the measurement with 10% more relative error and 25% more
 * (1 - cos). */
typedef struct budget {
    vgen_wformat f;
    double min_cos[2], max_rel[2];
} budget;

static const budget k_budgets[] = {
    /*                          cos tiny_a, tiny_b    rel L2 tiny_a, tiny_b */
    {VGEN_WF_INT8_ROW,         {0.99995, 0.99996}, {9.7e-3, 8.9e-3}},
    {VGEN_WF_FP8_E4M3_ROW,     {0.99954, 0.99946}, {3.0e-2, 3.3e-2}},
    {VGEN_WF_FP8_E4M3_TENSOR,  {0.99967, 0.99966}, {2.6e-2, 2.6e-2}},
    {VGEN_WF_INT4_G32,         {0.9952, 0.9955},   {9.6e-2, 9.4e-2}},
    {VGEN_WF_INT4_G64,         {0.9935, 0.9941},   {0.113, 0.107}},
    {VGEN_WF_INT4_G128,        {0.9925, 0.9930},   {0.121, 0.118}},
    {VGEN_WF_INT4_G32_ZP,      {0.9968, 0.9968},   {7.9e-2, 7.8e-2}},
    {VGEN_WF_INT4_G64_ZP,      {0.9945, 0.9966},   {0.104, 8.1e-2}},
    {VGEN_WF_INT4_G128_ZP,     {0.9946, 0.9942},   {0.102, 0.106}},
};

static vgen_backend *make_backend(void) {
    vgen_backend *be = NULL;
    vgen_err err = {0};
    CHECKF(vgen_backend_cpu_new(NULL, &be, &err) == 0, "backend: %s", err.msg);
    if (!be) return NULL;
    vgen_cpu_ops_install(be); /* idempotent; until the constructor installs the CPU ops */
    return be;
}

/* out[16, F, H, W] of the bf16 forward with block linears in format (NULL: as stored); NULL on failure. */
static float *forward(const fixture_case *fc, const vgen_st_set *io, vgen_backend *be, const char *format) {
    char dir[512];
    snprintf(dir, sizeof dir, DIT "/%s/diffusers", fc->name);
    vgen_dit_params p;
    vgen_dit_params_init(&p);
    p.dit_format = format;
    vgen_dit_model *m = NULL;
    vgen_dit_session *s = NULL;
    vgen_err err = {0};
    int rc = vgen_dit_load(dir, &p, &m, &err);
    vgen_dit_session_params sp;
    vgen_dit_session_params_init(&sp);
    sp.frames = fc->f, sp.height = fc->h, sp.width = fc->w;
    if (!rc) rc = vgen_dit_session_new(m, be, &sp, &s, &err);
    size_t nl = 0, nc = 0, nt = 0;
    const float *lat = fixture_tensor(io, "in.latent", VGEN_ST_F32, &nl);
    const float *ctx = fixture_tensor(io, "in.context", VGEN_ST_F32, &nc);
    const int64_t *ts = fixture_tensor(io, "in.timestep", VGEN_ST_I64, &nt);
    float *out = malloc(nl * sizeof *out);
    if (!rc && lat && ctx && ts && out) {
        vgen_tensor tl, tc, to;
        int64_t ls[4] = {16, fc->f, fc->h, fc->w}, cs[2] = {512, fc->text_dim};
        vgen_tensor_view(&tl, VGEN_DTYPE_F32, 4, ls, (void *)lat, NULL);
        vgen_tensor_view(&tc, VGEN_DTYPE_F32, 2, cs, (void *)ctx, NULL);
        vgen_tensor_view(&to, VGEN_DTYPE_F32, 4, ls, out, NULL);
        rc = vgen_dit_forward(s, &tl, (float)ts[0], &tc, &to, &err);
    } else if (!rc) {
        rc = -1;
    }
    CHECKF(rc == 0, "%s %s: %s", fc->name, format ? format : "stored", err.msg);
    vgen_dit_session_free(&s);
    vgen_dit_free(&m);
    if (rc) free(out), out = NULL;
    return out;
}

static void cos_rel(const float *a, const float *ref, size_t n, double *cosine, double *rel) {
    double dot = 0, na = 0, nr = 0, nd = 0;
    for (size_t i = 0; i < n; i++) {
        dot += (double)a[i] * ref[i], na += (double)a[i] * a[i], nr += (double)ref[i] * ref[i];
        nd += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
    }
    *cosine = dot / sqrt(na * nr);
    *rel = sqrt(nd / nr);
}

static void test_formats(void) {
    vgen_backend *be = make_backend();
    printf("  %-16s %-7s %12s %12s   %12s %12s\n", "format", "fixture", "cos", "rel L2", "cos diffusers",
           "rel diffusers");
    for (size_t c = 0; be && c < sizeof k_cases / sizeof k_cases[0]; c++) {
        const fixture_case *fc = &k_cases[c];
        char rel[256];
        snprintf(rel, sizeof rel, "dit/%s/io.safetensors", fc->name);
        vgen_st_set *io = fixture_open(rel);
        size_t n = (size_t)(16 * fc->f * fc->h * fc->w);
        float *base = io ? forward(fc, io, be, NULL) : NULL;
        size_t nb = 0;
        const uint16_t *dref = io ? fixture_tensor(io, "out.bf16", VGEN_ST_BF16, &nb) : NULL;
        float *dif = malloc(n * sizeof *dif);
        for (size_t i = 0; dref && dif && i < n; i++) dif[i] = vgen_bf16_to_f32(dref[i]);
        for (size_t b = 0; base && dref && b < sizeof k_budgets / sizeof k_budgets[0]; b++) {
            const char *name = vgen_wformat_get(k_budgets[b].f)->name;
            float *q = forward(fc, io, be, name);
            if (!q) continue;
            double cs, rl, cd, rd;
            cos_rel(q, base, n, &cs, &rl);
            cos_rel(q, dif, n, &cd, &rd);
            printf("  %-16s %-7s %12.6f %12.4e   %12.6f %12.4e\n", name, fc->name, cs, rl, cd, rd);
            CHECKF(cs >= k_budgets[b].min_cos[c], "%s %s: cos %.6f < budget %.6f", name, fc->name, cs,
                   k_budgets[b].min_cos[c]);
            CHECKF(rl <= k_budgets[b].max_rel[c], "%s %s: rel L2 %.4e > budget %.4e", name, fc->name, rl,
                   k_budgets[b].max_rel[c]);
            free(q);
        }
        free(base);
        free(dif);
        vgen_st_close(&io);
    }
    vgen_backend_free(&be);
}

int main(void) {
    RUN(test_formats);
    return test_summary();
}

/* test_umt5_quant.c - the UMT5 encoder with quantized weights (quantize-on-load, every weight format: the linear
 * weights and the embedding table alike) against the same model in f32, both computing in f32 on the fixture's five
 * prompts (pipeline-padded outputs, rows of the prompts only): prints the cosine similarity and the relative L2 error
 * and guards each as a regression budget (the measured value with a margin; docs/textenc.md records them). Also
 * checks that quantize-on-load reports the owned bytes of a quantized model and that the embedding rows are gathered
 * from the quantized table (its format is the requested one). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/fixture.h"
#include "testutil.h"
#include "umt5.h"
#include "cpu/ops_cpu.h"

#define UMT5_DIR VGEN_FIXTURES_DIR "/umt5/tiny"
#define SEQ 512
#define DM 64
#define NPROMPTS 5

/* Budgets: cosine >= min_cos and relative L2 <= max_rel over the kept rows of the five prompts. Each is the
 * measurement (docs/textenc.md) with 25% more (1 - cos) and 10% more relative error. The tiny model is sensitive:
 * T5 attention is unscaled and the fixture's relative-position tables are N(0, 0.25), so its softmaxes are peaked
 * and small weight errors move them (the real umt5-xxl's bf16 weights are the reference there). */
typedef struct budget {
    vgen_wformat f;
    double min_cos, max_rel;
} budget;

static const budget k_budgets[] = {
    /*                        min cos    max rel L2     measured: cos, rel L2 */
    {VGEN_WF_BF16,            0.99982,   1.84e-2},  /* 0.9998604, 1.671e-2 */
    {VGEN_WF_F16,             0.9999974, 2.25e-3},  /* 0.9999979, 2.039e-3 */
    {VGEN_WF_INT8_ROW,        0.99748,   7.0e-2},   /* 0.9979850, 6.350e-2 */
    {VGEN_WF_FP8_E4M3_ROW,    0.9647,    0.262},    /* 0.9717434, 0.2380 */
    {VGEN_WF_FP8_E4M3_TENSOR, 0.9452,    0.326},    /* 0.9561897, 0.2962 */
    {VGEN_WF_INT4_G32,        0.702,     0.761},    /* 0.7616640, 0.6917 */
    {VGEN_WF_INT4_G64,        0.660,     0.812},    /* 0.7283104, 0.7377 */
    {VGEN_WF_INT4_G128,       0.662,     0.810},    /* 0.7294316, 0.7361 */
    {VGEN_WF_INT4_G32_ZP,     0.754,     0.690},    /* 0.8034355, 0.6275 */
    {VGEN_WF_INT4_G64_ZP,     0.682,     0.786},    /* 0.7453297, 0.7146 */
    {VGEN_WF_INT4_G128_ZP,    0.681,     0.787},    /* 0.7448736, 0.7158 */
};

typedef struct io_fixture {
    vgen_st_set *set;
    const int32_t *ids, *seq_lens;
} io_fixture;

/* Kept rows of every prompt, concatenated: out[sum(seq_lens), 64]; NULL on failure. */
static float *encode(vgen_backend *be, const io_fixture *io, const char *format, size_t *n_out) {
    vgen_umt5_params p;
    vgen_umt5_params_init(&p);
    p.compute = VGEN_DTYPE_F32;
    p.format = format;
    vgen_umt5_model *m = NULL;
    vgen_umt5_session *s = NULL;
    vgen_err err = {0};
    int rc = vgen_umt5_load(UMT5_DIR, &p, &m, &err);
    if (!rc) rc = vgen_umt5_session_new(m, be, SEQ, &s, &err);
    if (!rc && format) {
        vgen_wformat f;
        vgen_wformat_from_name(format, &f);
        CHECK(vgen_umt5_linear_format(m) == f && vgen_umt5_embed_format(m) == f);
        CHECK(vgen_umt5_mapped_bytes(m) == 0 && vgen_umt5_owned_bytes(m) > 0);
    }
    float *all = malloc((size_t)NPROMPTS * SEQ * DM * sizeof *all), *buf = malloc((size_t)SEQ * DM * sizeof *buf);
    size_t k = 0;
    for (int b = 0; !rc && all && buf && b < NPROMPTS; b++) {
        vgen_tensor t;
        vgen_tensor_view(&t, VGEN_DTYPE_F32, 2, (int64_t[2]){SEQ, DM}, buf, NULL);
        rc = vgen_umt5_encode_padded(s, io->ids + b * SEQ, io->seq_lens[b], &t, &err);
        memcpy(all + k, buf, (size_t)io->seq_lens[b] * DM * sizeof *all);
        k += (size_t)io->seq_lens[b] * DM;
    }
    CHECKF(rc == 0, "%s: %s", format ? format : "f32", err.msg);
    free(buf);
    vgen_umt5_session_free(&s);
    vgen_umt5_free(&m);
    if (rc) {
        free(all);
        return NULL;
    }
    *n_out = k;
    return all;
}

static void cos_rel(const float *a, const float *ref, size_t n, double *cosine, double *rel) {
    double dot = 0, na = 0, nr = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        dot += (double)a[i] * ref[i], na += (double)a[i] * a[i], nr += (double)ref[i] * ref[i];
        e += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
    }
    *cosine = dot / sqrt(na * nr);
    *rel = sqrt(e / nr);
}

static void test_quantized_budgets(void) {
    io_fixture io = {fixture_open("umt5/tiny/io.safetensors"), NULL, NULL};
    size_t n1 = 0, n2 = 0, n = 0, nq = 0;
    io.ids = fixture_tensor(io.set, "input_ids", VGEN_ST_I32, &n1);
    io.seq_lens = fixture_tensor(io.set, "seq_lens", VGEN_ST_I32, &n2);
    vgen_backend *be = NULL;
    vgen_err err = {0};
    CHECKF(vgen_backend_cpu_new(NULL, &be, &err) == 0, "backend: %s", err.msg);
    if (be) vgen_cpu_ops_install(be); /* idempotent; until the constructor installs the CPU ops */
    float *base = io.ids && io.seq_lens && be ? encode(be, &io, NULL, &n) : NULL;
    printf("  %-16s %12s %12s   %12s %12s\n", "format", "cos", "rel L2", "budget cos", "budget rel");
    for (size_t i = 0; base && i < sizeof k_budgets / sizeof k_budgets[0]; i++) {
        const char *name = vgen_wformat_get(k_budgets[i].f)->name;
        float *q = encode(be, &io, name, &nq);
        if (!q) continue;
        double c, r;
        cos_rel(q, base, n, &c, &r);
        printf("  %-16s %12.7f %12.4e   %12.7f %12.4e\n", name, c, r, k_budgets[i].min_cos, k_budgets[i].max_rel);
        CHECKF(nq == n && c >= k_budgets[i].min_cos, "%s: cos %.7f < budget %.7f", name, c, k_budgets[i].min_cos);
        CHECKF(r <= k_budgets[i].max_rel, "%s: rel L2 %.4e > budget %.4e", name, r, k_budgets[i].max_rel);
        free(q);
    }
    free(base);
    vgen_backend_free(&be);
    vgen_st_close(&io.set);
}

int main(void) {
    RUN(test_quantized_budgets);
    return test_summary();
}

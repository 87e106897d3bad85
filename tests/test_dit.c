/* test_dit.c - the Wan2.1 DiT forward (dit/) against diffusers' WanTransformer3DModel (tests/fixtures/dit):
 *   - f32: output and every intermediate within the manifest's "f32" class, on the reference and the CPU backend;
 *   - bf16 (from_pretrained(torch_dtype=bf16) numerics): output vs out.bf16 and the bf16.* intermediates within the
 *     "bf16" class;
 *   - every layout of tiny_a (diffusers, original Wan, ComfyUI) gives bit-identical outputs;
 *   - the ComfyUI scaled-fp8 file matches out.fp8_dequant.fp32;
 *   - sessions: reuse, abort, bad shapes.
 * Achieved errors are printed (docs/dit.md records them). */
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
    const char *name;     /* "tiny_a" */
    int64_t f, h, w;      /* latent */
    int64_t text_dim;
} fixture_case;

static const fixture_case k_cases[] = {{"tiny_a", 2, 8, 12, 64}, {"tiny_b", 3, 6, 10, 48}};

/* ---- backends ---- */

static vgen_backend *make_backend(int cpu) {
    vgen_backend *be = NULL;
    vgen_err err = {0};
    int rc = cpu ? vgen_backend_cpu_new(NULL, &be, &err) : vgen_backend_ref_new(&be, &err);
    CHECKF(rc == 0, "backend: %s", err.msg);
    if (!be) return NULL;
    /* until the constructors install their ops (both installers are idempotent) */
    if (cpu) vgen_cpu_ops_install(be);
    else vgen_ref_ops_install(be);
    return be;
}

/* ---- hook: compare each intermediate with the fixture ---- */

typedef struct hook_ctx {
    const vgen_st_set *io;
    const char *prefix;   /* "fp32." or "bf16." */
    int bf16;             /* the bf16 class applies */
    int compared, failed;
    int print;
} hook_ctx;

static float *tensor_f32(const vgen_tensor *t) {
    int64_t n = vgen_tensor_numel(t);
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; v && i < n; i++)
        v[i] = t->dtype == VGEN_DTYPE_BF16 ? vgen_bf16_to_f32(((const uint16_t *)t->data)[i])
                                           : ((const float *)t->data)[i];
    return v;
}

/* The fixture tensor as f32 (F32 or BF16 stored), n elements; NULL if absent. */
static float *fixture_f32(const vgen_st_set *io, const char *name, size_t *n) {
    const vgen_st_tensor *t = vgen_st_find(io, name);
    if (!t || (t->dtype != VGEN_ST_F32 && t->dtype != VGEN_ST_BF16)) return NULL;
    size_t es = vgen_st_dtype_size(t->dtype);
    *n = (size_t)(t->n_bytes / es);
    float *v = malloc(*n * sizeof *v);
    for (size_t i = 0; v && i < *n; i++) {
        uint16_t h;
        if (es == 4) memcpy(&v[i], (const char *)t->data + 4 * i, 4);
        else memcpy(&h, (const char *)t->data + 2 * i, 2), v[i] = vgen_bf16_to_f32(h);
    }
    return v;
}

/* Our rope tables are [L, Dh/2]; diffusers' are [L, Dh] with each value repeated for the pair. */
static float *rope_expand(const float *ours, int64_t l, int64_t half) {
    float *v = malloc((size_t)(l * half * 2) * sizeof *v);
    for (int64_t i = 0; v && i < l * half; i++) v[2 * i] = v[2 * i + 1] = ours[i];
    return v;
}

static void hook(const char *name, const vgen_tensor *t, void *user) {
    hook_ctx *h = user;
    char key[128];
    snprintf(key, sizeof key, "%s%s", h->prefix, name);
    size_t n = 0;
    float *ref = fixture_f32(h->io, key, &n);
    if (!ref) return;
    float *got = tensor_f32(t);
    if (!strncmp(name, "rope.", 5)) {
        float *e = rope_expand(got, t->shape[0], t->shape[1]);
        free(got);
        got = e;
    }
    size_t ng = !strncmp(name, "rope.", 5) ? (size_t)(vgen_tensor_numel(t) * 2) : (size_t)vgen_tensor_numel(t);
    if (ng != n) {
        CHECKF(0, "%s: %zu elements, fixture has %zu", key, ng, n);
    } else {
        fixture_diff d = fixture_compare(got, ref, n);
        int ok = h->bf16 ? fixture_within_bf16(d) : fixture_within_f32(d);
        if (h->print)
            printf("    %-26s max|err| %.3e (ref max %.3g, rel %.2e)  cos %.9f  %s\n", key, d.max_abs, d.ref_max,
                   d.max_abs / fmax(1.0, d.ref_max), d.cosine, ok ? "ok" : "OUT OF CLASS");
        CHECKF(ok, "%s: max|err| %.3g cos %.9f outside the %s class", key, d.max_abs, d.cosine,
               h->bf16 ? "bf16" : "f32");
        h->compared++;
        h->failed += !ok;
    }
    free(got);
    free(ref);
}

/* ---- one forward ---- */

typedef struct run_opts {
    const char *path, *config, *format;
    vgen_dtype compute;
    hook_ctx *hook;
} run_opts;

/* out [16, F, H, W] f32 (malloc'ed) of the forward on the fixture's inputs; NULL on failure. */
static float *run_forward(const fixture_case *fc, const vgen_st_set *io, vgen_backend *be, const run_opts *o) {
    vgen_dit_params p;
    vgen_dit_params_init(&p);
    p.config_path = o->config;
    p.compute = o->compute;
    p.dit_format = o->format;
    vgen_dit_model *m = NULL;
    vgen_dit_session *s = NULL;
    vgen_err err = {0};
    int rc = vgen_dit_load(o->path, &p, &m, &err);
    vgen_dit_session_params sp;
    vgen_dit_session_params_init(&sp);
    sp.frames = fc->f, sp.height = fc->h, sp.width = fc->w;
    if (o->hook) sp.hook = hook, sp.hook_user_data = o->hook;
    if (!rc) rc = vgen_dit_session_new(m, be, &sp, &s, &err);
    size_t n_lat = 0, n_ctx = 0, n_t = 0;
    const float *lat = fixture_tensor(io, "in.latent", VGEN_ST_F32, &n_lat);
    const float *ctx = fixture_tensor(io, "in.context", VGEN_ST_F32, &n_ctx);
    const int64_t *ts = fixture_tensor(io, "in.timestep", VGEN_ST_I64, &n_t);
    float *out = malloc(n_lat * sizeof *out);
    vgen_tensor tl, tc, to;
    int64_t ls[4] = {16, fc->f, fc->h, fc->w}, cs[2] = {512, fc->text_dim};
    if (!rc && lat && ctx && ts && out) {
        vgen_tensor_view(&tl, VGEN_DTYPE_F32, 4, ls, (void *)lat, NULL);
        vgen_tensor_view(&tc, VGEN_DTYPE_F32, 2, cs, (void *)ctx, NULL);
        vgen_tensor_view(&to, VGEN_DTYPE_F32, 4, ls, out, NULL);
        rc = vgen_dit_forward(s, &tl, (float)ts[0], &tc, &to, &err);
    } else if (!rc) {
        rc = -1;
    }
    CHECKF(rc == 0, "%s forward (%s): %s", fc->name, o->path, err.msg);
    vgen_dit_session_free(&s);
    vgen_dit_free(&m);
    if (rc) {
        free(out);
        return NULL;
    }
    return out;
}

static vgen_st_set *open_io(const fixture_case *fc) {
    char rel[256];
    snprintf(rel, sizeof rel, "dit/%s/io.safetensors", fc->name);
    return fixture_open(rel);
}

static fixture_diff compare_out(const float *got, const vgen_st_set *io, const char *name, size_t n) {
    size_t nr = 0;
    float *ref = fixture_f32(io, name, &nr);
    fixture_diff d = {1e30, 0, 0};
    if (ref && nr == n) d = fixture_compare(got, ref, n);
    free(ref);
    return d;
}

/* How many values of got equal the fixture tensor's exactly. */
static size_t equal_to(const float *got, const vgen_st_set *io, const char *name) {
    size_t n = 0, same = 0;
    float *ref = fixture_f32(io, name, &n);
    for (size_t i = 0; ref && i < n; i++) same += got[i] == ref[i];
    free(ref);
    return same;
}

static size_t latent_numel(const fixture_case *fc) { return (size_t)(16 * fc->f * fc->h * fc->w); }

/* ---- tests ---- */

static void f32_against_diffusers(int cpu) {
    vgen_backend *be = make_backend(cpu);
    for (size_t i = 0; be && i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const fixture_case *fc = &k_cases[i];
        vgen_st_set *io = open_io(fc);
        char dir[512];
        snprintf(dir, sizeof dir, DIT "/%s/diffusers", fc->name);
        hook_ctx h = {.io = io, .prefix = "fp32.", .print = 1};
        printf("  %s f32 (%s backend):\n", fc->name, be->name);
        run_opts o = {.path = dir, .compute = VGEN_DTYPE_F32, .hook = &h};
        float *out = io ? run_forward(fc, io, be, &o) : NULL;
        if (out) {
            fixture_diff d = compare_out(out, io, "out.fp32", latent_numel(fc));
            printf("    %-26s max|err| %.3e (ref max %.3g, rel %.2e)  cos %.9f\n", "out.fp32", d.max_abs, d.ref_max,
                   d.max_abs / fmax(1.0, d.ref_max), d.cosine);
            CHECKF(fixture_within_f32(d), "%s out.fp32: max|err| %.3g cos %.9f", fc->name, d.max_abs, d.cosine);
            CHECKF(h.compared >= 18, "%s: only %d intermediates compared", fc->name, h.compared);
        }
        free(out);
        vgen_st_close(&io);
    }
    vgen_backend_free(&be);
}

static void test_f32_ref(void) { f32_against_diffusers(0); }
static void test_f32_cpu(void) { f32_against_diffusers(1); }

static void bf16_against_diffusers(int cpu) {
    vgen_backend *be = make_backend(cpu);
    for (size_t i = 0; be && i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const fixture_case *fc = &k_cases[i];
        vgen_st_set *io = open_io(fc);
        char dir[512];
        snprintf(dir, sizeof dir, DIT "/%s/diffusers", fc->name);
        hook_ctx h = {.io = io, .prefix = "bf16.", .bf16 = 1, .print = 1};
        printf("  %s bf16 (%s backend):\n", fc->name, be->name);
        run_opts o = {.path = dir, .compute = VGEN_DTYPE_BF16, .hook = &h};
        float *out = io ? run_forward(fc, io, be, &o) : NULL;
        if (out) {
            const char *refs[] = {"out.bf16", "out.fp32", "out.bf16_all"};
            for (int r = 0; r < 3; r++) {
                fixture_diff d = compare_out(out, io, refs[r], latent_numel(fc));
                printf("    vs %-23s max|err| %.3e (ref max %.3g, rel %.2e)  cos %.9f\n", refs[r], d.max_abs, d.ref_max,
                       d.max_abs / fmax(1.0, d.ref_max), d.cosine);
                if (r == 0) CHECKF(fixture_within_bf16(d), "%s out.bf16: max|err| %.3g cos %.9f", fc->name, d.max_abs,
                                   d.cosine);
                if (r == 0) printf("    %zu of %zu output values bit-equal to out.bf16\n", equal_to(out, io, refs[r]),
                                   latent_numel(fc));
            }
            CHECKF(h.compared >= 5, "%s: only %d bf16 intermediates compared", fc->name, h.compared);
        }
        free(out);
        vgen_st_close(&io);
    }
    vgen_backend_free(&be);
}

static void test_bf16_ref(void) { bf16_against_diffusers(0); }
static void test_bf16_cpu(void) { bf16_against_diffusers(1); }

/* diffusers directory, original names, ComfyUI names: the same bits out, in both precisions. */
static void test_layouts_bit_identical(void) {
    const fixture_case *fc = &k_cases[0];
    vgen_st_set *io = open_io(fc);
    vgen_backend *be = make_backend(1);
    const char *cfg = DIT "/tiny_a/diffusers/config.json";
    const char *paths[] = {DIT "/tiny_a/diffusers", DIT "/tiny_a/wan_original.safetensors",
                           DIT "/tiny_a/comfyui.safetensors"};
    for (int c = 0; io && be && c < 2; c++) {
        vgen_dtype cd = c ? VGEN_DTYPE_BF16 : VGEN_DTYPE_F32;
        float *outs[3] = {0};
        for (int i = 0; i < 3; i++) {
            run_opts o = {.path = paths[i], .config = i ? cfg : NULL, .compute = cd};
            outs[i] = run_forward(fc, io, be, &o);
        }
        for (int i = 1; i < 3; i++)
            CHECKF(outs[0] && outs[i] && !memcmp(outs[0], outs[i], latent_numel(fc) * sizeof(float)),
                   "%s (%s) differs from the diffusers layout", paths[i], vgen_dtype_name(cd));
        for (int i = 0; i < 3; i++) free(outs[i]);
    }
    vgen_backend_free(&be);
    vgen_st_close(&io);
}

static void test_fp8_scaled(void) {
    const fixture_case *fc = &k_cases[0];
    vgen_st_set *io = open_io(fc);
    vgen_backend *be = make_backend(1);
    run_opts o = {.path = DIT "/tiny_a/comfyui_fp8_scaled.safetensors", .config = DIT "/tiny_a/diffusers/config.json",
                  .compute = VGEN_DTYPE_F32};
    float *out = io && be ? run_forward(fc, io, be, &o) : NULL;
    if (out) {
        fixture_diff d = compare_out(out, io, "out.fp8_dequant.fp32", latent_numel(fc));
        fixture_diff d32 = compare_out(out, io, "out.fp32", latent_numel(fc));
        printf("  fp8 scaled vs out.fp8_dequant.fp32: max|err| %.3e cos %.9f (vs out.fp32: max|err| %.3e cos %.6f)\n",
               d.max_abs, d.cosine, d32.max_abs, d32.cosine);
        CHECKF(fixture_within_f32(d), "fp8 scaled: max|err| %.3g cos %.9f", d.max_abs, d.cosine);
    }
    free(out);
    vgen_backend_free(&be);
    vgen_st_close(&io);
}

/* ---- sessions ---- */

static int abort_after(void *user) { return --*(int *)user < 0; }

static void test_session(void) {
    const fixture_case *fc = &k_cases[1];
    vgen_st_set *io = open_io(fc);
    vgen_backend *be = make_backend(1);
    vgen_dit_model *m = NULL;
    vgen_dit_session *s = NULL;
    vgen_err err = {0};
    vgen_dit_params p;
    vgen_dit_params_init(&p);
    CHECK_EQ_INT(vgen_dit_load(DIT "/tiny_b/diffusers", &p, &m, &err), 0);
    vgen_dit_session_params sp;
    vgen_dit_session_params_init(&sp);
    sp.frames = 3, sp.height = 7, sp.width = 10;
    if (m && be) {
        CHECK_EQ_INT(vgen_dit_session_new(m, be, &sp, &s, &err), VGEN_ERR_INVALID_ARGUMENT); /* odd H */
        CHECK_STR_CONTAINS(err.msg, "H=7");
        sp.height = 6;
        CHECK_EQ_INT(vgen_dit_session_new(m, be, &sp, &s, &err), 0);
    }
    size_t n = 0, nc = 0;
    const float *lat = io ? fixture_tensor(io, "in.latent", VGEN_ST_F32, &n) : NULL;
    const float *ctx = io ? fixture_tensor(io, "in.context", VGEN_ST_F32, &nc) : NULL;
    if (s && lat && ctx) {
        printf("  session arena %zu bytes (peak %zu)\n", vgen_dit_session_bytes(s), vgen_dit_session_peak(s));
        float *a = malloc(n * 4), *b = malloc(n * 4);
        vgen_tensor tl, tc, ta, tb, bad;
        int64_t ls[4] = {16, 3, 6, 10}, cs[2] = {512, 48}, cs_bad[2] = {512, 64};
        vgen_tensor_view(&tl, VGEN_DTYPE_F32, 4, ls, (void *)lat, NULL);
        vgen_tensor_view(&tc, VGEN_DTYPE_F32, 2, cs, (void *)ctx, NULL);
        vgen_tensor_view(&ta, VGEN_DTYPE_F32, 4, ls, a, NULL);
        vgen_tensor_view(&tb, VGEN_DTYPE_F32, 4, ls, b, NULL);
        vgen_tensor_view(&bad, VGEN_DTYPE_F32, 2, cs_bad, (void *)ctx, NULL);
        CHECK_EQ_INT(vgen_dit_forward(s, &tl, 421.0f, &tc, &ta, &err), 0);
        CHECK_EQ_INT(vgen_dit_forward(s, &tl, 421.0f, &tc, &tb, &err), 0);
        CHECK(!memcmp(a, b, n * 4)); /* a session is reusable and deterministic */
        CHECK_EQ_INT(vgen_dit_forward(s, &tl, 421.0f, &bad, &tb, &err), VGEN_ERR_SHAPE);
        CHECK_STR_CONTAINS(err.msg, "context");
        CHECK(vgen_dit_session_peak(s) <= vgen_dit_session_bytes(s));
        free(a);
        free(b);
    }
    vgen_dit_session_free(&s);
    int budget = 1; /* abort before the second block */
    sp.abort = abort_after, sp.abort_user_data = &budget;
    if (m && be && !vgen_dit_session_new(m, be, &sp, &s, &err) && lat && ctx) {
        float *a = malloc(n * 4);
        vgen_tensor tl, tc, ta;
        int64_t ls[4] = {16, 3, 6, 10}, cs[2] = {512, 48};
        vgen_tensor_view(&tl, VGEN_DTYPE_F32, 4, ls, (void *)lat, NULL);
        vgen_tensor_view(&tc, VGEN_DTYPE_F32, 2, cs, (void *)ctx, NULL);
        vgen_tensor_view(&ta, VGEN_DTYPE_F32, 4, ls, a, NULL);
        CHECK_EQ_INT(vgen_dit_forward(s, &tl, 421.0f, &tc, &ta, &err), VGEN_ERR_ABORTED);
        free(a);
    }
    vgen_dit_session_free(&s);
    vgen_dit_free(&m);
    vgen_backend_free(&be);
    vgen_st_close(&io);
}

int main(void) {
    RUN(test_f32_ref);
    RUN(test_f32_cpu);
    RUN(test_bf16_ref);
    RUN(test_bf16_cpu);
    RUN(test_layouts_bit_identical);
    RUN(test_fp8_scaled);
    RUN(test_session);
    return test_summary();
}

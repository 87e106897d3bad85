/* bench/dit.c - one Wan2.1 DiT forward on the CPU backend, with the machine's oneDNN bf16 matmul ceiling measured in
 * the same run.
 *
 *   bench_dit MODEL [--format bf16|int8|fp8|int4|<table name>] [--latent FxHxW] [--threads N] [--csv FILE]
 *             [--profile] [--no-forward]
 *
 * MODEL is any checkpoint vgen_dit_load reads (for benchmarks: vgen_gen_random_dit's random Wan2.1-T2V-1.3B). The
 * format quantizes the block linears while loading ("bf16": as stored). Computation is bf16. Prints one markdown
 * row: load seconds, forward seconds, GFLOP/s of the forward (linear + attention FLOPs, vgen_dit_flops), the
 * oneDNN bf16 x bf16 -> f32 matmul GFLOP/s at [L, D] x [D, Dff] with pre-packed weights, and the process's peak RSS
 * (getrusage ru_maxrss). Run one configuration per process so each peak is its own (bench/dit.sh does).
 * --profile also prints where the forward's time goes, from the DiT's hook points (self-attention sub-block,
 * cross-attention sub-block, FFN sub-block, the rest). */
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_rng.h"
#include "backend.h"
#include "numeric.h"
#include "quant_rules.h"
#include "threadpool.h"
#include "wan_dit.h"

typedef struct opts {
    const char *model, *format, *csv;
    int64_t f, h, w;
    int threads;
    int profile;
    int no_forward;   /* load and size the session only: memory figures for shapes too slow to run here */
} opts;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* ---- oneDNN ceiling: y[M, N] f32 = x[M, K] bf16 . w[K, N] bf16, weights reordered once, best of reps ---- */

#define DNNL_OK(call)                                                                                  \
    do {                                                                                               \
        dnnl_status_t s_ = (call);                                                                     \
        if (s_ != dnnl_success) {                                                                      \
            fprintf(stderr, "oneDNN %s: %s\n", #call, dnnl_status2str(s_));                            \
            goto done;                                                                                 \
        }                                                                                              \
    } while (0)

static double dnnl_bf16_peak(int64_t m, int64_t k, int64_t n, int reps) {
    double best = 0;
    dnnl_engine_t eng = NULL;
    dnnl_stream_t st = NULL;
    dnnl_primitive_desc_t pd = NULL, rpd = NULL;
    dnnl_primitive_t prim = NULL, reo = NULL;
    dnnl_memory_t xm = NULL, wsrc = NULL, wm = NULL, ym = NULL;
    uint16_t *x = malloc((size_t)(m * k) * 2), *w = malloc((size_t)(k * n) * 2);
    float *y = malloc((size_t)(m * n) * 4);
    uint64_t seed = 7;
    if (!x || !w || !y) goto done;
    for (int64_t i = 0; i < m * k; i++) x[i] = vgen_f32_to_bf16(rng_sym(&seed, 1.0f));
    for (int64_t i = 0; i < k * n; i++) w[i] = vgen_f32_to_bf16(rng_sym(&seed, 0.05f));
    DNNL_OK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    DNNL_OK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    dnnl_memory_desc_t xmd, wany, wplain, ymd;
    dnnl_dims_t xd = {m, k}, wd = {k, n}, yd = {m, n};
    DNNL_OK(dnnl_memory_desc_init_by_tag(&xmd, 2, xd, dnnl_bf16, dnnl_ab));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&wany, 2, wd, dnnl_bf16, dnnl_format_tag_any));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&wplain, 2, wd, dnnl_bf16, dnnl_ba));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&ymd, 2, yd, dnnl_f32, dnnl_ab));
    dnnl_matmul_desc_t d;
    DNNL_OK(dnnl_matmul_desc_init(&d, &xmd, &wany, NULL, &ymd));
    DNNL_OK(dnnl_primitive_desc_create(&pd, &d, NULL, eng, NULL));
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    DNNL_OK(dnnl_memory_create(&wsrc, &wplain, eng, w));
    DNNL_OK(dnnl_memory_create(&wm, wmd, eng, DNNL_MEMORY_ALLOCATE));
    DNNL_OK(dnnl_reorder_primitive_desc_create(&rpd, &wplain, eng, wmd, eng, NULL));
    DNNL_OK(dnnl_primitive_create(&reo, rpd));
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, wsrc}, {DNNL_ARG_TO, wm}};
    DNNL_OK(dnnl_primitive_execute(reo, st, 2, ra));
    DNNL_OK(dnnl_primitive_create(&prim, pd));
    DNNL_OK(dnnl_memory_create(&xm, &xmd, eng, x));
    DNNL_OK(dnnl_memory_create(&ym, &ymd, eng, y));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}};
    for (int r = 0; r <= reps; r++) { /* the first call is a warm-up */
        double t0 = now_s();
        DNNL_OK(dnnl_primitive_execute(prim, st, 3, args));
        DNNL_OK(dnnl_stream_wait(st));
        double g = 2.0 * (double)m * (double)k * (double)n / (now_s() - t0) / 1e9;
        if (r > 0 && g > best) best = g;
    }
done:
    if (prim) dnnl_primitive_destroy(prim);
    if (reo) dnnl_primitive_destroy(reo);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (xm) dnnl_memory_destroy(xm);
    if (wsrc) dnnl_memory_destroy(wsrc);
    if (wm) dnnl_memory_destroy(wm);
    if (ym) dnnl_memory_destroy(ym);
    if (st) dnnl_stream_destroy(st);
    if (eng) dnnl_engine_destroy(eng);
    free(x);
    free(w);
    free(y);
    return best;
}

/* ---- the DiT ---- */

/* Seconds between consecutive hook points, summed by what ended there. */
typedef struct profile {
    double last;
    double attn1, attn2, ffn, other;
} profile;

static void profile_hook(const char *name, const vgen_tensor *t, void *user) {
    (void)t;
    profile *p = user;
    double now = now_s(), dt = now - p->last;
    p->last = now;
    const char *dot = strrchr(name, '.');
    int in_block = !strncmp(name, "block.", 6);
    if (in_block && dot && !strcmp(dot - 5, "attn1.out")) p->attn1 += dt;
    else if (in_block && dot && !strcmp(dot - 5, "attn2.out")) p->attn2 += dt;
    else if (in_block && dot && !strcmp(dot - 3, "ffn.out")) p->ffn += dt;
    else p->other += dt;
}

static int parse_args(int argc, char **argv, opts *o) {
    *o = (opts){.format = "bf16", .f = 5, .h = 24, .w = 40, .threads = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--format") && v) o->format = v, i++;
        else if (!strcmp(a, "--csv") && v) o->csv = v, i++;
        else if (!strcmp(a, "--threads") && v) o->threads = atoi(v), i++;
        else if (!strcmp(a, "--profile")) o->profile = 1;
        else if (!strcmp(a, "--no-forward")) o->no_forward = 1;
        else if (!strcmp(a, "--latent") && v) {
            long long f, h, w;
            if (sscanf(v, "%lldx%lldx%lld", &f, &h, &w) != 3) return -1;
            o->f = f, o->h = h, o->w = w, i++;
        } else if (a[0] != '-' && !o->model) o->model = a;
        else return -1;
    }
    return o->model ? 0 : -1;
}

/* dit_format for vgen_dit_load: NULL for "bf16" (as stored), else the table name of the alias. */
static int format_name(const char *alias, const char **out, vgen_err *err) {
    if (!strcmp(alias, "bf16")) {
        *out = NULL;
        return 0;
    }
    vgen_wformat f;
    int rc = vgen_quant_parse_format(alias, &f, err);
    if (!rc) *out = vgen_wformat_get(f)->name;
    return rc;
}

typedef struct result {
    double load_s, fwd_s, flops, rss_mib;
    size_t session_bytes, owned, mapped;
    const char *block_format;
} result;

static int run_dit(const opts *o, vgen_threadpool *pool, vgen_backend *be, result *r, vgen_err *err) {
    vgen_dit_params p;
    vgen_dit_params_init(&p);
    p.pool = pool;
    int rc = format_name(o->format, &p.dit_format, err);
    vgen_dit_model *m = NULL;
    vgen_dit_session *s = NULL;
    double t0 = now_s();
    if (!rc) rc = vgen_dit_load(o->model, &p, &m, err);
    r->load_s = now_s() - t0;
    vgen_dit_session_params sp;
    vgen_dit_session_params_init(&sp);
    sp.frames = o->f, sp.height = o->h, sp.width = o->w;
    profile prof = {0};
    if (o->profile) sp.hook = profile_hook, sp.hook_user_data = &prof;
    if (!rc) rc = vgen_dit_session_new(m, be, &sp, &s, err);
    if (rc) goto out;
    const vgen_wan_config *c = vgen_dit_config(m);
    size_t nl = (size_t)(c->in_channels * o->f * o->h * o->w), nc = (size_t)(512 * c->text_dim);
    float *lat = malloc(nl * 4), *ctx = calloc(nc, 4), *y = malloc((size_t)(c->out_channels * o->f * o->h * o->w) * 4);
    uint64_t seed = 1;
    for (size_t i = 0; lat && i < nl; i++) lat[i] = rng_sym(&seed, 1.7f);
    for (size_t i = 0; ctx && i < (size_t)(64 * c->text_dim); i++) ctx[i] = rng_sym(&seed, 0.3f); /* 64 prompt rows */
    vgen_tensor tl, tc, ty;
    int64_t ls[4] = {c->in_channels, o->f, o->h, o->w}, ys[4] = {c->out_channels, o->f, o->h, o->w};
    int64_t cs[2] = {512, c->text_dim};
    if (!lat || !ctx || !y) rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "inputs");
    if (!rc) rc = vgen_tensor_view(&tl, VGEN_DTYPE_F32, 4, ls, lat, err);
    if (!rc) rc = vgen_tensor_view(&tc, VGEN_DTYPE_F32, 2, cs, ctx, err);
    if (!rc) rc = vgen_tensor_view(&ty, VGEN_DTYPE_F32, 4, ys, y, err);
    t0 = prof.last = now_s();
    if (!rc && !o->no_forward) rc = vgen_dit_forward(s, &tl, 999.0f, &tc, &ty, err);
    r->fwd_s = now_s() - t0;
    if (o->profile)
        fprintf(stderr, "profile: self-attention sub-blocks %.2f s, cross-attention %.2f s, FFN %.2f s, rest %.2f s\n",
                prof.attn1, prof.attn2, prof.ffn, prof.other + (now_s() - prof.last));
    r->flops = vgen_dit_flops(c, o->f * (o->h / 2) * (o->w / 2), 512);
    r->session_bytes = vgen_dit_session_bytes(s);
    r->owned = vgen_dit_owned_bytes(m);
    r->mapped = vgen_dit_mapped_bytes(m);
    r->block_format = vgen_wformat_get(vgen_dit_block_format(m))->name;
    double sum = 0;
    for (size_t i = 0; !rc && !o->no_forward && i < nl; i++) sum += (double)y[i] * y[i];
    if (!rc && !o->no_forward && !(sum > 0 && sum < 1e30)) rc = vgen_err_set(err, VGEN_ERR_NUMERIC, "output is not finite");
    free(lat);
    free(ctx);
    free(y);
out:
    vgen_dit_session_free(&s);
    vgen_dit_free(&m);
    r->rss_mib = peak_rss_mib();
    return rc;
}

int main(int argc, char **argv) {
    opts o;
    if (parse_args(argc, argv, &o)) {
        fprintf(stderr, "usage: bench_dit MODEL [--format bf16|int8|fp8|int4|NAME] [--latent FxHxW] [--threads N] "
                        "[--csv FILE] [--profile] [--no-forward]\n");
        return 2;
    }
    vgen_err err = {0};
    vgen_threadpool *pool = NULL;
    vgen_backend *be = NULL;
    int rc = vgen_threadpool_new(o.threads, &pool, &err);
    if (!rc) rc = vgen_backend_cpu_new(pool, &be, &err);
    result r = {0};
    if (!rc) rc = run_dit(&o, pool, be, &r, &err);
    if (rc) {
        fprintf(stderr, "bench_dit: %s\n", err.msg);
        vgen_backend_free(&be);
        vgen_threadpool_free(&pool);
        return 1;
    }
    const int64_t tokens = o.f * (o.h / 2) * (o.w / 2);
    if (o.no_forward) r.flops = 0; /* nothing was run: no speed to report */
    double peak = dnnl_bf16_peak(tokens, 1536, 8960, 3);
    printf("| %s (%s) | [16,%lld,%lld,%lld] | %lld | %.1f | %.1f | %.0f | %.1f | %.0f | %.0f | %.0f |\n", o.format,
           r.block_format, (long long)o.f, (long long)o.h, (long long)o.w, (long long)tokens, r.load_s, r.fwd_s,
           r.flops / 1e9, r.flops / r.fwd_s / 1e9, peak, r.rss_mib, (double)r.session_bytes / (1 << 20));
    if (o.csv) {
        FILE *f = fopen(o.csv, "a");
        if (f) {
            fprintf(f, "%s,%s,%lld,%lld,%lld,%lld,%.3f,%.3f,%.1f,%.2f,%.1f,%.1f,%zu,%zu,%zu\n", o.format,
                    r.block_format, (long long)o.f, (long long)o.h, (long long)o.w, (long long)tokens, r.load_s,
                    r.fwd_s, r.flops / 1e9, r.flops / r.fwd_s / 1e9, peak, r.rss_mib, r.session_bytes, r.owned,
                    r.mapped);
            fclose(f);
        }
    }
    vgen_backend_free(&be);
    vgen_threadpool_free(&pool);
    return 0;
}

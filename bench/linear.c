/* bench/linear.c - the CPU backend's linear at DiT shapes, per weight format, against oneDNN's own ceilings.
 *
 *   bench_linear [--csv FILE] [--reps N] [--quick] [--no-big4800] [--shape KxN]
 *
 * For each (K, N) of a Wan-like DiT block and M in {1200, 4800} tokens, with bf16 activations and f32 output, it
 * times vgen's CPU backend for each quantized weight format, and in the same run two direct oneDNN matmuls at the
 * same shape with weights pre-packed in oneDNN's preferred layout (reorder not timed): plain bf16 x bf16 -> f32 and
 * u8 x s8 -> f32 (int8 activations, the int8 ceiling). Per (K, N), every candidate at every M gets one warm-up call,
 * then --reps rounds (default 3) of one call each, round-robin, so that load from other processes on a shared machine
 * hits all candidates alike. Seconds per call is the median, GFLOP/s (2 M N K / s) uses the best call, and the last
 * column is that GFLOP/s over oneDNN bf16's at the same shape. Prints a markdown table; --csv also writes every row
 * to FILE. Memory: about 2 GB at the largest shape (all formats and both baselines are resident at once).
 */
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rng.h"
#include "backend.h"
#include "numeric.h"
#include "threadpool.h"

#define MAX_REPS 32

typedef struct opts {
    const char *csv;
    int reps;
    int quick;       /* M = 1200 only, first two shapes */
    int no_big4800;  /* skip M = 4800 at K = 5120, N = 13824 */
    long only_k, only_n; /* --shape: run only this (K, N) */
} opts;

typedef struct timing {
    double median, best; /* seconds per call */
} timing;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Uniform in [-a, a): enough for timing, and quantizes to every code range. */
/* ---- timed callables, run round-robin so that load from other processes spreads over all of them ---- */

typedef int (*run_fn)(void *ctx);

typedef struct runner {
    const char *name;
    run_fn fn;
    void *ctx;
    double t[MAX_REPS];
} runner;

/* One warm-up call each (primitive creation, scratch growth, page faults), then reps rounds of one call each. */
static int time_round_robin(runner *r, int n, int reps) {
    for (int i = 0; i < n; i++)
        if (r[i].fn(r[i].ctx)) return -1;
    for (int rep = 0; rep < reps; rep++) {
        for (int i = 0; i < n; i++) {
            double t0 = now_s();
            if (r[i].fn(r[i].ctx)) return -1;
            r[i].t[rep] = now_s() - t0;
        }
    }
    return 0;
}

static timing summarize(runner *r, int reps) {
    qsort(r->t, (size_t)reps, sizeof r->t[0], cmp_double);
    return (timing){r->t[reps / 2], r->t[0]};
}

/* ---- oneDNN baselines: y[M, N] f32 = x[M, K] w[K, N] with w reordered into the primitive's layout ---- */

typedef struct dnnl_base {
    dnnl_engine_t eng;
    dnnl_stream_t st;
    dnnl_primitive_t prim;
    dnnl_memory_t x, w, y;
    char impl[64];
} dnnl_base;

#define DNNL_OK(call)                                                                                  \
    do {                                                                                               \
        dnnl_status_t s_ = (call);                                                                     \
        if (s_ != dnnl_success) {                                                                      \
            fprintf(stderr, "oneDNN %s: %s\n", #call, dnnl_status2str(s_));                            \
            return -1;                                                                                 \
        }                                                                                              \
    } while (0)

/* Reorders plain w ([K, N] with tag ba, i.e. [N, K] row-major) into the layout the primitive asked for. */
static int pack_weights(dnnl_base *b, const dnnl_memory_desc_t *plain_md, void *plain, const dnnl_memory_desc_t *md) {
    dnnl_memory_t src;
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
    DNNL_OK(dnnl_memory_create(&src, plain_md, b->eng, plain));
    DNNL_OK(dnnl_memory_create(&b->w, md, b->eng, DNNL_MEMORY_ALLOCATE));
    DNNL_OK(dnnl_reorder_primitive_desc_create(&rpd, plain_md, b->eng, md, b->eng, NULL));
    DNNL_OK(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, b->w}};
    DNNL_OK(dnnl_primitive_execute(r, b->st, 2, args));
    DNNL_OK(dnnl_stream_wait(b->st));
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(src);
    return 0;
}

static int base_init(dnnl_base *b, int64_t m, int64_t k, int64_t n, dnnl_data_type_t xdt, dnnl_data_type_t wdt,
                     void *x, void *w_plain, float *y) {
    memset(b, 0, sizeof *b);
    DNNL_OK(dnnl_engine_create(&b->eng, dnnl_cpu, 0));
    DNNL_OK(dnnl_stream_create(&b->st, b->eng, dnnl_stream_default_flags));
    dnnl_memory_desc_t xmd, wany, wplain, ymd;
    dnnl_dims_t xd = {m, k}, wd = {k, n}, yd = {m, n};
    DNNL_OK(dnnl_memory_desc_init_by_tag(&xmd, 2, xd, xdt, dnnl_ab));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&wany, 2, wd, wdt, dnnl_format_tag_any));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&wplain, 2, wd, wdt, dnnl_ba));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&ymd, 2, yd, dnnl_f32, dnnl_ab));
    dnnl_matmul_desc_t d;
    dnnl_primitive_desc_t pd;
    DNNL_OK(dnnl_matmul_desc_init(&d, &xmd, &wany, NULL, &ymd));
    DNNL_OK(dnnl_primitive_desc_create(&pd, &d, NULL, b->eng, NULL));
    const char *impl = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(b->impl, sizeof b->impl, "%s", impl);
    int rc = pack_weights(b, &wplain, w_plain, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
    if (!rc && dnnl_primitive_create(&b->prim, pd) != dnnl_success) rc = -1;
    dnnl_primitive_desc_destroy(pd);
    if (rc) return rc;
    DNNL_OK(dnnl_memory_create(&b->x, &xmd, b->eng, x));
    DNNL_OK(dnnl_memory_create(&b->y, &ymd, b->eng, y));
    return 0;
}

static void base_free(dnnl_base *b) {
    if (b->prim) dnnl_primitive_destroy(b->prim);
    if (b->x) dnnl_memory_destroy(b->x);
    if (b->w) dnnl_memory_destroy(b->w);
    if (b->y) dnnl_memory_destroy(b->y);
    if (b->st) dnnl_stream_destroy(b->st);
    if (b->eng) dnnl_engine_destroy(b->eng);
    memset(b, 0, sizeof *b);
}

static int base_run(void *ctx) {
    dnnl_base *b = ctx;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, b->x}, {DNNL_ARG_WEIGHTS, b->w}, {DNNL_ARG_DST, b->y}};
    DNNL_OK(dnnl_primitive_execute(b->prim, b->st, 3, args));
    DNNL_OK(dnnl_stream_wait(b->st));
    return 0;
}

/* ---- vgen linear ---- */

typedef struct vgen_run {
    vgen_backend *be;
    vgen_tensor x, y;
    const vgen_qmatrix *w;
} vgen_run;

static int vgen_run_once(void *ctx) {
    vgen_run *r = ctx;
    vgen_err err;
    int rc = r->be->linear(r->be, &r->x, r->w, NULL, &r->y, &err);
    if (rc) fprintf(stderr, "linear: %s\n", err.msg);
    return rc;
}

/* ---- one shape ---- */

static const vgen_wformat k_formats[] = {
    VGEN_WF_BF16,        VGEN_WF_INT8_ROW,    VGEN_WF_FP8_E4M3_ROW, VGEN_WF_FP8_E4M3_TENSOR,
    VGEN_WF_INT4_G32,    VGEN_WF_INT4_G64,    VGEN_WF_INT4_G128,    VGEN_WF_INT4_G32_ZP,
    VGEN_WF_INT4_G64_ZP, VGEN_WF_INT4_G128_ZP,
};
#define N_FORMATS (int)(sizeof k_formats / sizeof k_formats[0])
#define N_RUNNERS (N_FORMATS + 2) /* + the two oneDNN baselines */

typedef struct bench_buf {
    float *w;       /* [N, K] source weights */
    uint16_t *x;    /* [M, K] bf16 activations */
    uint8_t *x8;    /* [M, K] u8 activations */
    int8_t *w8;     /* [N, K] s8 weights */
    uint16_t *wbf;  /* [N, K] bf16 weights */
    float *y;       /* [M, N] */
} bench_buf;

/* W quantized in every benchmarked format. */
typedef struct qset {
    vgen_qmatrix q[N_FORMATS];
    void *data[N_FORMATS];
    float *scales[N_FORMATS];
    uint8_t *zeros[N_FORMATS];
} qset;

static void qset_free(qset *s) {
    for (int f = 0; f < N_FORMATS; f++) free(s->data[f]), free(s->scales[f]), free(s->zeros[f]);
    memset(s, 0, sizeof *s);
}

static int qset_make(qset *s, const float *w, int64_t k, int64_t n) {
    memset(s, 0, sizeof *s);
    for (int f = 0; f < N_FORMATS; f++) {
        size_t bytes, n_scales, n_zeros;
        vgen_err err;
        if (vgen_wformat_data_bytes(k_formats[f], n, k, &bytes) ||
            vgen_wformat_scale_count(k_formats[f], n, k, &n_scales) ||
            vgen_wformat_zero_count(k_formats[f], n, k, &n_zeros))
            return -1;
        s->data[f] = malloc(bytes);
        s->scales[f] = malloc(n_scales ? n_scales * sizeof(float) : 1);
        s->zeros[f] = malloc(n_zeros ? n_zeros : 1);
        if (!s->data[f] || !s->scales[f] || !s->zeros[f]) return -1;
        if (vgen_wformat_quantize(k_formats[f], w, n, k, s->data[f], s->scales[f], s->zeros[f], &err)) {
            fprintf(stderr, "quantize: %s\n", err.msg);
            return -1;
        }
        s->q[f] = (vgen_qmatrix){k_formats[f], n, k, s->data[f], n_scales ? s->scales[f] : NULL,
                                 n_zeros ? s->zeros[f] : NULL};
    }
    return 0;
}

/* Everything timed at one M: two oneDNN baselines and vgen for every format. */
typedef struct m_set {
    int64_t m;
    dnnl_base bf16, u8s8;
    vgen_run runs[N_FORMATS];
    runner r[N_RUNNERS];
} m_set;

static int mset_init(m_set *ms, vgen_backend *be, bench_buf *b, const qset *qs, int64_t m, int64_t k, int64_t n) {
    memset(ms, 0, sizeof *ms);
    ms->m = m;
    if (base_init(&ms->bf16, m, k, n, dnnl_bf16, dnnl_bf16, b->x, b->wbf, b->y) ||
        base_init(&ms->u8s8, m, k, n, dnnl_u8, dnnl_s8, b->x8, b->w8, b->y))
        return -1;
    fprintf(stderr, "  M=%lld K=%lld N=%lld: oneDNN bf16 impl %s, u8s8 impl %s\n", (long long)m, (long long)k,
            (long long)n, ms->bf16.impl, ms->u8s8.impl);
    ms->r[0] = (runner){.name = "oneDNN bf16 (packed)", .fn = base_run, .ctx = &ms->bf16};
    ms->r[1] = (runner){.name = "oneDNN u8s8 (packed)", .fn = base_run, .ctx = &ms->u8s8};
    int64_t xs[2] = {m, k}, ys[2] = {m, n};
    for (int f = 0; f < N_FORMATS; f++) {
        vgen_run *r = &ms->runs[f];
        *r = (vgen_run){.be = be, .w = &qs->q[f]};
        if (vgen_tensor_view(&r->x, VGEN_DTYPE_BF16, 2, xs, b->x, NULL) ||
            vgen_tensor_view(&r->y, VGEN_DTYPE_F32, 2, ys, b->y, NULL))
            return -1;
        ms->r[2 + f] = (runner){.name = vgen_wformat_get(k_formats[f])->name, .fn = vgen_run_once, .ctx = r};
    }
    return 0;
}

static double gflops(int64_t m, int64_t k, int64_t n, double s) {
    return 2.0 * (double)m * (double)n * (double)k / s * 1e-9;
}

static void print_mset(m_set *ms, int64_t k, int64_t n, int reps, FILE *csv) {
    timing t[N_RUNNERS];
    for (int i = 0; i < N_RUNNERS; i++) t[i] = summarize(&ms->r[i], reps);
    double bf = gflops(ms->m, k, n, t[0].best), u8 = gflops(ms->m, k, n, t[1].best);
    for (int i = 0; i < N_RUNNERS; i++) {
        double gf = gflops(ms->m, k, n, t[i].best);
        printf("| %lld | %lld | %lld | %s | %.4f | %.0f | %.0f | %.0f | %.2f |\n", (long long)ms->m, (long long)k,
               (long long)n, ms->r[i].name, t[i].median, gf, bf, u8, gf / bf);
        if (csv)
            fprintf(csv, "%lld,%lld,%lld,%s,%.6f,%.6f,%.1f,%.1f,%.1f,%.4f\n", (long long)ms->m, (long long)k,
                    (long long)n, ms->r[i].name, t[i].median, t[i].best, gf, bf, u8, gf / bf);
    }
    fflush(stdout);
}

static int run_shape(vgen_backend *be, bench_buf *b, const int64_t *ms, int n_m, int64_t k, int64_t n,
                     const opts *op, FILE *csv) {
    qset qs;
    m_set *sets = calloc((size_t)n_m, sizeof *sets);
    int rc = sets ? qset_make(&qs, b->w, k, n) : -1;
    runner all[2 * N_RUNNERS];
    for (int i = 0; !rc && i < n_m; i++) {
        rc = mset_init(&sets[i], be, b, &qs, ms[i], k, n);
        memcpy(all + i * N_RUNNERS, sets[i].r, sizeof sets[i].r);
    }
    if (!rc) rc = time_round_robin(all, n_m * N_RUNNERS, op->reps);
    for (int i = 0; !rc && i < n_m; i++) {
        memcpy(sets[i].r, all + i * N_RUNNERS, sizeof sets[i].r);
        print_mset(&sets[i], k, n, op->reps, csv);
    }
    for (int i = 0; sets && i < n_m; i++) base_free(&sets[i].bf16), base_free(&sets[i].u8s8);
    free(sets);
    qset_free(&qs);
    return rc;
}

/* ---- buffers ---- */

static void bufs_free(bench_buf *b) {
    free(b->w), free(b->x), free(b->x8), free(b->w8), free(b->wbf), free(b->y);
    memset(b, 0, sizeof *b);
}

/* Buffers for the largest shape; random contents. */
static int bufs_alloc(bench_buf *b, int64_t m, int64_t k, int64_t n) {
    size_t mk = (size_t)(m * k), nk = (size_t)(n * k);
    b->w = malloc(nk * sizeof(float));
    b->x = malloc(mk * 2);
    b->x8 = malloc(mk);
    b->w8 = malloc(nk);
    b->wbf = malloc(nk * 2);
    b->y = malloc((size_t)(m * n) * sizeof(float));
    if (!b->w || !b->x || !b->x8 || !b->w8 || !b->wbf || !b->y) return -1;
    uint64_t s = 42;
    for (size_t i = 0; i < mk; i++) {
        b->x[i] = vgen_f32_to_bf16(rng_sym(&s, 2.0f));
        b->x8[i] = (uint8_t)(rng_next(&s) >> 56);
    }
    return 0;
}

/* Per shape: fresh weights [n, k] (f32, bf16, s8). */
static void fill_weights(bench_buf *b, int64_t k, int64_t n) {
    uint64_t s = (uint64_t)(k * 7919 + n);
    for (int64_t i = 0; i < n * k; i++) {
        b->w[i] = rng_sym(&s, 0.05f);
        b->wbf[i] = vgen_f32_to_bf16(b->w[i]);
        b->w8[i] = (int8_t)(rng_next(&s) >> 56);
    }
}

static int parse_opts(int argc, char **argv, opts *o) {
    *o = (opts){NULL, 3, 0, 0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--csv") && i + 1 < argc) o->csv = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) o->reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) o->quick = 1;
        else if (!strcmp(argv[i], "--no-big4800")) o->no_big4800 = 1;
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc &&
                 sscanf(argv[i + 1], "%ldx%ld", &o->only_k, &o->only_n) == 2)
            i++;
        else {
            fprintf(stderr, "usage: %s [--csv FILE] [--reps N (1..%d)] [--quick] [--no-big4800] [--shape KxN]\n",
                    argv[0], MAX_REPS);
            return -1;
        }
    }
    return (o->reps < 1 || o->reps > MAX_REPS) ? -1 : 0;
}

static int run_all(vgen_backend *be, const opts *op, FILE *csv) {
    static const int64_t shapes[3][2] = {{1536, 1536}, {1536, 8960}, {5120, 13824}};
    int64_t ms[2] = {1200, 4800};
    bench_buf b;
    memset(&b, 0, sizeof b);
    int rc = bufs_alloc(&b, op->quick ? 1200 : 4800, 5120, 13824);
    printf("| M | K | N | weights | s/call (median) | GFLOP/s (best) | oneDNN bf16 GFLOP/s | oneDNN u8s8 GFLOP/s | "
           "vs oneDNN bf16 |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int s = 0; !rc && s < (op->quick ? 2 : 3); s++) {
        int n_m = op->quick ? 1 : 2;
        if (s == 2 && op->no_big4800) n_m = 1;
        if (op->only_k && (op->only_k != shapes[s][0] || op->only_n != shapes[s][1])) continue;
        fill_weights(&b, shapes[s][0], shapes[s][1]);
        rc = run_shape(be, &b, ms, n_m, shapes[s][0], shapes[s][1], op, csv);
    }
    bufs_free(&b);
    return rc;
}

int main(int argc, char **argv) {
    opts op;
    if (parse_opts(argc, argv, &op)) return 2;
    FILE *csv = op.csv ? fopen(op.csv, "w") : NULL;
    if (op.csv && !csv) {
        perror(op.csv);
        return 1;
    }
    if (csv) fprintf(csv, "m,k,n,weights,median_s,best_s,gflops,onednn_bf16_gflops,onednn_u8s8_gflops,ratio_bf16\n");
    vgen_err err;
    vgen_threadpool *pool = NULL;
    vgen_backend *be = NULL;
    int rc = vgen_threadpool_new(0, &pool, &err);
    if (!rc) rc = vgen_backend_cpu_new(pool, &be, &err);
    if (rc) fprintf(stderr, "setup: %s\n", err.msg);
    double t0 = now_s();
    if (!rc) rc = run_all(be, &op, csv);
    fprintf(stderr, "total %.1f s\n", now_s() - t0);
    vgen_backend_free(&be);
    vgen_threadpool_free(&pool);
    if (csv) fclose(csv);
    return rc ? 1 : 0;
}

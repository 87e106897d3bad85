/* bench/cuda.c - the CUDA backend's GEMM paths and attention at Wan2.1 shapes, in TFLOP/s (built with VGEN_CUDA).
 *
 *   bench_cuda [--csv FILE] [--reps N] [--warmup N] [--m M] [--model 1.3b|14b|all] [--quick] [--no-gemm]
 *              [--no-attention]
 *
 * GEMM: y[M, N] = x[M, K] W[N, K]^T (linear, bf16 x, bf16 y, no bias) for each (K, N) of a Wan2.1 DiT block:
 * 1.3B (1536, 1536), (1536, 8960), (8960, 1536); 14B (5120, 5120), (5120, 13824), (13824, 5120); M = 32760 tokens
 * (81 frames at 480x832) unless --m says otherwise. Paths: bf16 weights (plain cuBLASLt GEMM), int8_row / int4 /
 * fp8 weights dequantized to bf16 per layer and then the bf16 GEMM (weight-only quantization), and on sm_89+ the
 * fp8 fast mode (a second backend with vgen_cuda_options.fp8_activations: activations quantized to e4m3 per token,
 * e4m3 x e4m3 GEMM; where cuBLASLt has no fp8 algorithm for a shape the backend quietly takes the dequant path, and
 * the row shows it). TFLOP/s = 2 M N K / s.
 * Attention: out[L, H, Dh] = softmax(q k^T / sqrt(Dh)) v with q, k, v, out bf16, L = M tokens, H = 12 (1.3B) or 40
 * (14B), Dh = 128, by the flash kernel (vgen_cuda_attention, the backend's op) and by the chunked cuBLASLt path kept
 * as its reference (vgen_cuda_attention_chunked). TFLOP/s = 4 L^2 H Dh / s (q k^T and p v).
 *
 * Timing: each candidate gets --warmup calls (default 2), then --reps calls (default 10), each followed by
 * be->synchronize and timed with clock_gettime (CLOCK_MONOTONIC); "ms/call" is the median, TFLOP/s uses the median
 * too. The last column is TFLOP/s over the bf16 GEMM's measured in the same run at the same (M, K, N); for attention
 * it is over the bf16 GEMM at (M = L, K = N = model dim), the block's square projection. Prints a markdown table;
 * --csv also writes every row to FILE. Without a usable device it prints "no CUDA device" and exits 0.
 * Device memory at 14B, M = 32760: about 3.5 GB (x and y 0.9 GB each, weights of every format, op scratch).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rng.h"
#include "backend.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_device.h"
#include "cuda/cuda_ops.h"
#include "numeric.h"

#define MAX_REPS 100
#define X_PATTERN_ROWS 512 /* host rows of random x, uploaded repeatedly to fill the device x */

typedef struct opts {
    const char *csv;
    int reps, warmup;
    int64_t m;
    int model; /* bit 0: 1.3B, bit 1: 14B */
    int gemm, attention;
} opts;

typedef struct model_cfg {
    const char *name;
    int64_t dim, ffn, heads;
} model_cfg;

static const model_cfg k_models[2] = {{"1.3B", 1536, 8960, 12}, {"14B", 5120, 13824, 40}};
#define HEAD_DIM 128

/* A GEMM path: a weight format, on the plain backend or the fp8-activation one. */
typedef struct gemm_path {
    const char *name;
    vgen_wformat fmt;
    int fast;
} gemm_path;

static const gemm_path k_paths[] = {
    {"bf16", VGEN_WF_BF16, 0},
    {"int8_row (dequant + bf16 GEMM)", VGEN_WF_INT8_ROW, 0},
    {"int4_g64 (dequant + bf16 GEMM)", VGEN_WF_INT4_G64, 0},
    {"int4_g128_zp (dequant + bf16 GEMM)", VGEN_WF_INT4_G128_ZP, 0},
    {"fp8_e4m3_row (dequant + bf16 GEMM)", VGEN_WF_FP8_E4M3_ROW, 0},
    {"fp8_e4m3_tensor (dequant + bf16 GEMM)", VGEN_WF_FP8_E4M3_TENSOR, 0},
    {"fp8_e4m3_row (fp8 fast mode)", VGEN_WF_FP8_E4M3_ROW, 1},
    {"fp8_e4m3_tensor (fp8 fast mode)", VGEN_WF_FP8_E4M3_TENSOR, 1},
};
#define N_PATHS (int)(sizeof k_paths / sizeof k_paths[0])

/* ---- the run: backends, output, the bf16 reference figure ---- */

typedef struct bench {
    vgen_backend *be;   /* default options */
    vgen_backend *fast; /* fp8 activations (sm_89+), else NULL */
    const opts *o;
    FILE *csv;
} bench;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- timing ---- */

typedef int (*run_fn)(void *ctx, vgen_err *err);

typedef struct timing {
    double median, best; /* seconds per call */
    int ok;
} timing;

/* warmup calls, then reps calls each followed by synchronize; median and best of the reps. */
static timing time_calls(vgen_backend *be, run_fn fn, void *ctx, const opts *o) {
    timing t = {0.0, 0.0, 0};
    double s[MAX_REPS];
    vgen_err err;
    vgen_err_clear(&err);
    for (int i = 0; i < o->warmup; i++)
        if (fn(ctx, &err) || be->synchronize(be, &err)) goto fail;
    for (int i = 0; i < o->reps; i++) {
        const double t0 = now_s();
        if (fn(ctx, &err) || be->synchronize(be, &err)) goto fail;
        s[i] = now_s() - t0;
    }
    qsort(s, (size_t)o->reps, sizeof s[0], cmp_double);
    t.median = s[o->reps / 2], t.best = s[0], t.ok = 1;
    return t;
fail:
    fprintf(stderr, "  failed: %s\n", err.msg);
    return t;
}

/* ---- device buffers ---- */

typedef struct dbuf {
    void *p;
    size_t bytes;
} dbuf;

static int dbuf_alloc(vgen_backend *be, dbuf *b, size_t bytes) {
    vgen_err err;
    b->bytes = bytes;
    b->p = be->alloc(be, bytes, &err);
    if (!b->p) fprintf(stderr, "alloc: %s\n", err.msg);
    return b->p ? 0 : -1;
}

static void dbuf_free(vgen_backend *be, dbuf *b) {
    if (b->p) be->buf_free(be, b->p, b->bytes);
    b->p = NULL, b->bytes = 0;
}

static int upload(vgen_backend *be, void *dst, const void *src, size_t bytes) {
    vgen_err err;
    int rc = be->upload(be, dst, src, bytes, &err);
    if (rc) fprintf(stderr, "upload: %s\n", err.msg);
    return rc;
}

/* Fills a device bf16 array [rows, cols] with random values in [-amp, amp) (a host pattern of X_PATTERN_ROWS rows,
 * uploaded repeatedly). */
static int fill_bf16(vgen_backend *be, void *dst, int64_t rows, int64_t cols, float amp, uint64_t seed) {
    const int64_t pr = rows < X_PATTERN_ROWS ? rows : X_PATTERN_ROWS;
    uint16_t *h = malloc((size_t)(pr * cols) * sizeof *h);
    if (!h) return -1;
    for (int64_t i = 0; i < pr * cols; i++) h[i] = vgen_f32_to_bf16(rng_sym(&seed, amp));
    int rc = 0;
    for (int64_t r = 0; !rc && r < rows; r += pr) {
        const int64_t n = rows - r < pr ? rows - r : pr;
        rc = upload(be, (uint16_t *)dst + r * cols, h, (size_t)(n * cols) * sizeof *h);
    }
    free(h);
    return rc;
}

/* ---- weights: [N, K] random, quantized on the host, on the device ---- */

typedef struct dweights {
    vgen_qmatrix q;
    dbuf data, scales, zeros;
} dweights;

static void dweights_free(vgen_backend *be, dweights *w) {
    dbuf_free(be, &w->data), dbuf_free(be, &w->scales), dbuf_free(be, &w->zeros);
    memset(w, 0, sizeof *w);
}

/* Host buffers of one quantized matrix. */
typedef struct hq {
    void *data;
    float *scales;
    uint8_t *zeros;
    size_t data_bytes, n_scales, n_zeros;
} hq;

static void hq_free(hq *h) {
    free(h->data), free(h->scales), free(h->zeros);
    memset(h, 0, sizeof *h);
}

static int hq_make(hq *h, vgen_wformat f, const float *w, int64_t n, int64_t k) {
    memset(h, 0, sizeof *h);
    vgen_err err;
    if (vgen_wformat_data_bytes(f, n, k, &h->data_bytes) || vgen_wformat_scale_count(f, n, k, &h->n_scales) ||
        vgen_wformat_zero_count(f, n, k, &h->n_zeros))
        return -1;
    h->data = malloc(h->data_bytes);
    h->scales = malloc((h->n_scales ? h->n_scales : 1) * sizeof(float));
    h->zeros = malloc(h->n_zeros ? h->n_zeros : 1);
    if (!h->data || !h->scales || !h->zeros) return -1;
    if (vgen_wformat_quantize(f, w, n, k, h->data, h->scales, h->zeros, &err)) {
        fprintf(stderr, "quantize: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int dweights_make(vgen_backend *be, dweights *d, vgen_wformat f, const float *w, int64_t n, int64_t k) {
    memset(d, 0, sizeof *d);
    hq h;
    int rc = hq_make(&h, f, w, n, k);
    if (!rc) rc = dbuf_alloc(be, &d->data, h.data_bytes);
    if (!rc && h.n_scales) rc = dbuf_alloc(be, &d->scales, h.n_scales * sizeof(float));
    if (!rc && h.n_zeros) rc = dbuf_alloc(be, &d->zeros, h.n_zeros);
    if (!rc) rc = upload(be, d->data.p, h.data, h.data_bytes);
    if (!rc && h.n_scales) rc = upload(be, d->scales.p, h.scales, h.n_scales * sizeof(float));
    if (!rc && h.n_zeros) rc = upload(be, d->zeros.p, h.zeros, h.n_zeros);
    hq_free(&h);
    d->q = (vgen_qmatrix){f, n, k, d->data.p, d->scales.p, d->zeros.p};
    return rc;
}

/* ---- output rows ---- */

static void print_header(void) {
    printf("| model | op | shape | path | ms/call (median) | TFLOP/s | vs bf16 GEMM |\n"
           "|---|---|---|---|---|---|---|\n");
}

static void emit(const bench *b, const char *model, const char *op, const char *shape, const char *path,
                 const timing *t, double flops, double ref_tflops) {
    if (!t->ok) {
        printf("| %s | %s | %s | %s | failed | - | - |\n", model, op, shape, path);
        if (b->csv) fprintf(b->csv, "%s,%s,\"%s\",\"%s\",,,,\n", model, op, shape, path);
        fflush(stdout);
        return;
    }
    const double tf = flops / t->median * 1e-12;
    char ratio[32] = "-";
    if (ref_tflops > 0.0) snprintf(ratio, sizeof ratio, "%.2f", tf / ref_tflops);
    printf("| %s | %s | %s | %s | %.3f | %.1f | %s |\n", model, op, shape, path, t->median * 1e3, tf, ratio);
    if (b->csv)
        fprintf(b->csv, "%s,%s,\"%s\",\"%s\",%.6f,%.6f,%.2f,%s\n", model, op, shape, path, t->median, t->best, tf,
                ref_tflops > 0.0 ? ratio : "");
    fflush(stdout);
}

/* ---- GEMM ---- */

typedef struct gemm_ctx {
    vgen_backend *be;
    vgen_tensor x, y;
    const vgen_qmatrix *w;
} gemm_ctx;

static int gemm_once(void *ctx, vgen_err *err) {
    gemm_ctx *g = ctx;
    return g->be->linear(g->be, &g->x, g->w, NULL, &g->y, err);
}

static vgen_tensor dev_tensor(vgen_dtype dt, int nd, const int64_t *shape, void *p) {
    vgen_tensor t;
    vgen_tensor_view(&t, dt, nd, shape, p, NULL);
    t.device = VGEN_DEVICE_CUDA;
    return t;
}

/* The formats the paths need, each made once per (K, N). */
static int needs_format(const bench *b, vgen_wformat f) {
    for (int p = 0; p < N_PATHS; p++)
        if (k_paths[p].fmt == f && (!k_paths[p].fast || b->fast)) return 1;
    return 0;
}

/* Every path at (M, K, N); returns the bf16 TFLOP/s (0 if it failed). */
static double gemm_shape(bench *b, const char *model, int64_t m, int64_t k, int64_t n, void *x, void *y) {
    float *w = malloc((size_t)(n * k) * sizeof *w);
    if (!w) return 0.0;
    uint64_t seed = (uint64_t)(k * 7919 + n);
    for (int64_t i = 0; i < n * k; i++) w[i] = rng_sym(&seed, 0.05f);
    dweights dw[VGEN_WF_COUNT];
    memset(dw, 0, sizeof dw);
    int rc = 0;
    for (int f = 0; !rc && f < VGEN_WF_COUNT; f++)
        if (needs_format(b, (vgen_wformat)f)) rc = dweights_make(b->be, &dw[f], (vgen_wformat)f, w, n, k);
    free(w);
    const int64_t xs[2] = {m, k}, ys[2] = {m, n};
    char shape[64];
    snprintf(shape, sizeof shape, "M=%lld K=%lld N=%lld", (long long)m, (long long)k, (long long)n);
    const double flops = 2.0 * (double)m * (double)n * (double)k;
    double ref = 0.0;
    for (int p = 0; !rc && p < N_PATHS; p++) {
        if (k_paths[p].fast && !b->fast) continue;
        gemm_ctx g = {k_paths[p].fast ? b->fast : b->be, dev_tensor(VGEN_DTYPE_BF16, 2, xs, x),
                      dev_tensor(VGEN_DTYPE_BF16, 2, ys, y), &dw[k_paths[p].fmt].q};
        fprintf(stderr, "  %s %s: %s\n", model, shape, k_paths[p].name);
        const timing t = time_calls(g.be, gemm_once, &g, b->o);
        if (p == 0 && t.ok) ref = flops / t.median * 1e-12;
        emit(b, model, "linear", shape, k_paths[p].name, &t, flops, ref);
    }
    for (int f = 0; f < VGEN_WF_COUNT; f++) dweights_free(b->be, &dw[f]);
    return rc ? 0.0 : ref;
}

/* The three GEMM shapes of the model; returns the bf16 TFLOP/s of the square (dim x dim) one. */
static double gemm_model(bench *b, const model_cfg *mc, int64_t m) {
    const int64_t shapes[3][2] = {{mc->dim, mc->dim}, {mc->dim, mc->ffn}, {mc->ffn, mc->dim}};
    dbuf x = {NULL, 0}, y = {NULL, 0};
    double square = 0.0;
    const size_t maxk = (size_t)mc->ffn, bytes = (size_t)m * maxk * 2;
    if (dbuf_alloc(b->be, &x, bytes) || dbuf_alloc(b->be, &y, bytes) ||
        fill_bf16(b->be, x.p, m, (int64_t)maxk, 2.0f, 42)) {
        fprintf(stderr, "%s: cannot set up x [%lld, %zu] and y\n", mc->name, (long long)m, maxk);
    } else {
        for (int s = 0; s < 3; s++) {
            const double r = gemm_shape(b, mc->name, m, shapes[s][0], shapes[s][1], x.p, y.p);
            if (s == 0) square = r;
        }
    }
    dbuf_free(b->be, &x);
    dbuf_free(b->be, &y);
    return square;
}

/* ---- attention ---- */

typedef int (*attn_fn)(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                       float scale, const vgen_tensor *bias, vgen_tensor *out, vgen_err *err);

typedef struct attn_ctx {
    vgen_backend *be;
    attn_fn fn;
    vgen_tensor q, k, v, o;
} attn_ctx;

static int attn_once(void *ctx, vgen_err *err) {
    attn_ctx *a = ctx;
    return a->fn(a->be, &a->q, &a->k, &a->v, 1.0f / sqrtf((float)HEAD_DIM), NULL, &a->o, err);
}

static void attn_model(bench *b, const model_cfg *mc, int64_t l, double ref_tflops) {
    const int64_t dims[3] = {l, mc->heads, HEAD_DIM};
    const size_t bytes = (size_t)(l * mc->heads * HEAD_DIM) * 2;
    dbuf d[4];
    memset(d, 0, sizeof d);
    int rc = 0;
    for (int i = 0; !rc && i < 4; i++) rc = dbuf_alloc(b->be, &d[i], bytes);
    for (int i = 0; !rc && i < 3; i++) rc = fill_bf16(b->be, d[i].p, l * mc->heads, HEAD_DIM, 2.0f, 7u + (uint64_t)i);
    char shape[64];
    snprintf(shape, sizeof shape, "L=%lld H=%lld Dh=%d", (long long)l, (long long)mc->heads, HEAD_DIM);
    const double flops = 4.0 * (double)l * (double)l * (double)mc->heads * HEAD_DIM;
    static const attn_fn fns[2] = {vgen_cuda_attention, vgen_cuda_attention_chunked};
    static const char *const names[2] = {"flash (vgen_cuda_attention)", "chunked (vgen_cuda_attention_chunked)"};
    for (int p = 0; !rc && p < 2; p++) {
        attn_ctx a = {b->be, fns[p], dev_tensor(VGEN_DTYPE_BF16, 3, dims, d[0].p),
                      dev_tensor(VGEN_DTYPE_BF16, 3, dims, d[1].p), dev_tensor(VGEN_DTYPE_BF16, 3, dims, d[2].p),
                      dev_tensor(VGEN_DTYPE_BF16, 3, dims, d[3].p)};
        fprintf(stderr, "  %s %s: %s\n", mc->name, shape, names[p]);
        const timing t = time_calls(b->be, attn_once, &a, b->o);
        emit(b, mc->name, "attention", shape, names[p], &t, flops, ref_tflops);
    }
    if (rc) fprintf(stderr, "%s: cannot set up attention at %s\n", mc->name, shape);
    for (int i = 0; i < 4; i++) dbuf_free(b->be, &d[i]);
}

/* ---- setup ---- */

static int parse_opts(int argc, char **argv, opts *o) {
    *o = (opts){NULL, 10, 2, 32760, 3, 1, 1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--csv") && i + 1 < argc) o->csv = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) o->reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) o->warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--m") && i + 1 < argc) o->m = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            const char *m = argv[++i];
            o->model = !strcmp(m, "1.3b") ? 1 : !strcmp(m, "14b") ? 2 : !strcmp(m, "all") ? 3 : 0;
        } else if (!strcmp(argv[i], "--quick")) o->m = 4096, o->model = 1, o->reps = 3, o->warmup = 1;
        else if (!strcmp(argv[i], "--no-gemm")) o->gemm = 0;
        else if (!strcmp(argv[i], "--no-attention")) o->attention = 0;
        else o->model = 0;
    }
    if (o->reps < 1 || o->reps > MAX_REPS || o->warmup < 0 || o->m < 1 || !o->model) {
        fprintf(stderr,
                "usage: %s [--csv FILE] [--reps N (1..%d)] [--warmup N] [--m M] [--model 1.3b|14b|all] [--quick] "
                "[--no-gemm] [--no-attention]\n",
                argv[0], MAX_REPS);
        return -1;
    }
    return 0;
}

/* The default backend; on sm_89+ also the fp8-activation one. Returns 1 when there is no usable device. */
static int open_backends(bench *b) {
    vgen_cuda_options co;
    vgen_cuda_options_init(&co);
    vgen_err err;
    vgen_err_clear(&err);
    int rc = vgen_backend_cuda_new(&co, &b->be, &err);
    if (rc == VGEN_ERR_UNSUPPORTED) {
        printf("no CUDA device (%s)\n", err.msg);
        return 1;
    }
    if (rc) {
        fprintf(stderr, "vgen_backend_cuda_new: %s\n", err.msg);
        return -1;
    }
    int major = 0, minor = 0;
    vgen_cuda_compute_capability(b->be, &major, &minor);
    vgen_cuda_device_info info;
    char msg[256] = "";
    if (!vgen_cuda_device_query(0, &info, msg, sizeof msg))
        printf("device: %s, sm_%d%d, %.1f GiB\n", info.name, major, minor, (double)info.total_bytes / (1u << 30));
    if (major * 10 + minor < 89) {
        printf("fp8 fast mode: needs sm_89+, not measured\n");
        return 0;
    }
    co.fp8_activations = 1;
    if (vgen_backend_cuda_new(&co, &b->fast, &err)) fprintf(stderr, "fp8 fast-mode backend: %s\n", err.msg);
    return 0;
}

static void run_models(bench *b) {
    print_header();
    for (int i = 0; i < 2; i++) {
        if (!(b->o->model & (1 << i))) continue;
        const double square = b->o->gemm ? gemm_model(b, &k_models[i], b->o->m) : 0.0;
        if (b->o->attention) attn_model(b, &k_models[i], b->o->m, square);
    }
}

int main(int argc, char **argv) {
    opts o;
    if (parse_opts(argc, argv, &o)) return 2;
    bench b = {NULL, NULL, &o, NULL};
    const int dev = open_backends(&b);
    if (dev) return dev > 0 ? 0 : 1;
    b.csv = o.csv ? fopen(o.csv, "w") : NULL;
    if (o.csv && !b.csv) {
        perror(o.csv);
        vgen_backend_free(&b.fast);
        vgen_backend_free(&b.be);
        return 1;
    }
    if (b.csv) fprintf(b.csv, "model,op,shape,path,median_s,best_s,tflops,ratio_bf16_gemm\n");
    const double t0 = now_s();
    run_models(&b);
    fprintf(stderr, "total %.1f s; device memory peak %.2f GiB (default backend)\n", now_s() - t0,
            (double)b.be->mem.peak / (1u << 30));
    if (b.csv) fclose(b.csv);
    vgen_backend_free(&b.fast);
    vgen_backend_free(&b.be);
    return 0;
}

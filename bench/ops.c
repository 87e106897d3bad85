/* bench/ops.c - speed of the CPU backend's attention and conv3d at Wan-like shapes.
 *
 *   bench_ops [--reps N] [--threads N] [--attn-only | --conv-only | --misc-only] [--dtype f32|bf16] [--tiles BQxBK]
 *             [--quick]
 *
 * Each timing is one warm-up call, then --reps calls (default 3); the table shows the best and the median seconds,
 * and GFLOP/s from the best: attention 4 Lq Lk Dh H (the two GEMMs), conv3d 2 Cout Cin kt kh kw F' H' W'.
 * "GFLOP/cpu-s" divides by the process CPU time of the best call instead (on a shared machine it says what the
 * threads achieved while they ran; OpenMP spin-waiting in oneDNN counts as CPU time).
 * The streaming ops (norms, rope, activations, binary, gated_add, convert) are timed at a DiT activation of
 * [4800, 1536] and reported in GB/s of tensor data read and written.
 * Inputs are random; outputs are discarded. The machine's GEMM ceiling is measured in the same run with the
 * backend's own linear (x[M, K] W[N, K]^T) at M = N = K = 2048 for f32 and bf16 weights and activations.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rng.h"
#include "backend.h"
#include "cpu/ops_cpu.h"
#include "numeric.h"
#include "threadpool.h"
#include "wformat.h"

#define MAX_REPS 32

typedef struct opts {
    int reps, threads, attn, conv, misc, quick;
    int dtypes; /* bit 0: bf16, bit 1: f32 */
    int64_t bq, bk;
} opts;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct timing {
    double best, median, cpu; /* wall seconds, and CPU seconds of the best call */
} timing;

static int cmp_timing(const void *a, const void *b) {
    double x = ((const timing *)a)->best, y = ((const timing *)b)->best;
    return (x > y) - (x < y);
}

/* A random heap tensor in [-a, a). */
static int rand_tensor(vgen_tensor *t, vgen_dtype dt, int nd, const int64_t *shape, float a, uint64_t *seed) {
    if (vgen_tensor_alloc(t, dt, nd, shape, NULL)) return -1;
    for (int64_t i = 0; i < vgen_tensor_numel(t); i++) {
        float v = rng_sym(seed, a);
        if (dt == VGEN_DTYPE_BF16) ((uint16_t *)t->data)[i] = vgen_f32_to_bf16(v);
        else ((float *)t->data)[i] = v;
    }
    return 0;
}

typedef int (*run_fn)(void *ctx);

/* best and median seconds of reps calls after a warm-up; -1 on failure */
static int time_it(run_fn fn, void *ctx, int reps, timing *out) {
    timing t[MAX_REPS];
    if (fn(ctx)) return -1;
    for (int i = 0; i < reps; i++) {
        double t0 = now_s(), c0 = cpu_s();
        if (fn(ctx)) return -1;
        t[i].best = now_s() - t0;
        t[i].cpu = cpu_s() - c0;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_timing);
    *out = t[0];
    out->median = t[reps / 2].best;
    return 0;
}

static void print_row(const char *what, const char *dtype, const timing *t, double flop) {
    printf("| %s | %s | %.4f | %.4f | %.0f | %.0f |\n", what, dtype, t->best, t->median, flop / t->best * 1e-9,
           flop / t->cpu * 1e-9);
}

/* ---- GEMM ceiling through the backend's linear ---- */

typedef struct lin_ctx {
    vgen_backend *be;
    vgen_tensor x, y;
    vgen_qmatrix w;
} lin_ctx;

static int run_linear(void *p) {
    lin_ctx *c = p;
    vgen_err err;
    int rc = c->be->linear(c->be, &c->x, &c->w, NULL, &c->y, &err);
    if (rc) fprintf(stderr, "linear: %s\n", err.msg);
    return rc;
}

static void bench_ceiling(vgen_backend *be, const opts *o) {
    const int64_t n = 2048, xs[2] = {n, n};
    for (int bf = 0; bf < 2; bf++) {
        uint64_t seed = 7;
        lin_ctx c = {.be = be};
        vgen_tensor wt;
        const vgen_dtype dt = bf ? VGEN_DTYPE_BF16 : VGEN_DTYPE_F32;
        if (rand_tensor(&c.x, dt, 2, xs, 1, &seed) || rand_tensor(&wt, dt, 2, xs, 1, &seed) ||
            vgen_tensor_alloc(&c.y, VGEN_DTYPE_F32, 2, xs, NULL))
            return;
        c.w = (vgen_qmatrix){.format = bf ? VGEN_WF_BF16 : VGEN_WF_F32, .rows = n, .cols = n, .data = wt.data};
        timing t;
        char what[96];
        snprintf(what, sizeof what, "GEMM ceiling (linear %lldx%lldx%lld)", (long long)n, (long long)n, (long long)n);
        if (!time_it(run_linear, &c, o->reps, &t)) print_row(what, bf ? "bf16" : "f32", &t, 2.0 * (double)(n * n * n));
        vgen_tensor_release(&c.x);
        vgen_tensor_release(&c.y);
        vgen_tensor_release(&wt);
    }
}

/* ---- attention ---- */

typedef struct attn_ctx {
    vgen_backend *be;
    vgen_tensor q, k, v, bias, out;
    int has_bias;
    float scale;
    int64_t bq, bk;
} attn_ctx;

static int run_attention(void *p) {
    attn_ctx *c = p;
    vgen_err err;
    const vgen_cpu_attn_opts o = {.bq = c->bq, .bk = c->bk, .simd = VGEN_SIMD_AVX512_BF16};
    int rc = vgen_cpu_attention_tiled(c->be, &c->q, &c->k, &c->v, c->scale, c->has_bias ? &c->bias : NULL, &c->out,
                                      &o, &err);
    if (rc) fprintf(stderr, "attention: %s\n", err.msg);
    return rc;
}

static void bench_attention(vgen_backend *be, const opts *o, const char *name, int64_t lq, int64_t lk, int64_t h,
                            int64_t dh, int bias, vgen_dtype dt) {
    uint64_t seed = 11;
    attn_ctx c = {.be = be, .has_bias = bias, .scale = 1.0f / sqrtf((float)dh), .bq = o->bq, .bk = o->bk};
    const int64_t qs[3] = {lq, h, dh}, ks[3] = {lk, h, dh}, bs[3] = {h, lq, lk};
    if (rand_tensor(&c.q, dt, 3, qs, 2, &seed) || rand_tensor(&c.k, dt, 3, ks, 2, &seed) ||
        rand_tensor(&c.v, dt, 3, ks, 1, &seed) || vgen_tensor_alloc(&c.out, dt, 3, qs, NULL) ||
        (bias && rand_tensor(&c.bias, VGEN_DTYPE_F32, 3, bs, 3, &seed))) {
        fprintf(stderr, "attention %s: out of memory\n", name);
        return;
    }
    timing t;
    if (!time_it(run_attention, &c, o->reps, &t)) {
        char what[160];
        snprintf(what, sizeof what, "attention %s: Lq %lld Lk %lld H %lld Dh %lld%s", name, (long long)lq,
                 (long long)lk, (long long)h, (long long)dh, bias ? " +bias" : "");
        print_row(what, vgen_dtype_name(dt), &t, 4.0 * (double)lq * (double)lk * (double)dh * (double)h);
    }
    vgen_tensor_release(&c.q);
    vgen_tensor_release(&c.k);
    vgen_tensor_release(&c.v);
    vgen_tensor_release(&c.out);
    if (bias) vgen_tensor_release(&c.bias);
}

/* ---- conv3d ---- */

typedef struct conv_ctx {
    vgen_backend *be;
    vgen_tensor x, w, y;
    float *bias;
    vgen_conv3d_params p;
} conv_ctx;

static int run_conv(void *p) {
    conv_ctx *c = p;
    vgen_err err;
    int rc = c->be->conv3d(c->be, &c->x, &c->w, c->bias, &c->p, &c->y, &err);
    if (rc) fprintf(stderr, "conv3d: %s\n", err.msg);
    return rc;
}

static int64_t out_dim(int64_t in, int64_t k, const int pad[2], int stride) {
    return (in + pad[0] + pad[1] - k) / stride + 1;
}

static void bench_conv(vgen_backend *be, const opts *o, const char *name, const int64_t xs[4], const int64_t ws[5],
                       vgen_conv3d_params p, vgen_dtype dt) {
    uint64_t seed = 13;
    conv_ctx c = {.be = be, .p = p};
    const int64_t ys[4] = {ws[0], out_dim(xs[1], ws[2], p.pad_t, p.stride_t), out_dim(xs[2], ws[3], p.pad_h, p.stride_h),
                           out_dim(xs[3], ws[4], p.pad_w, p.stride_w)};
    c.bias = calloc((size_t)ws[0], sizeof *c.bias);
    if (!c.bias || rand_tensor(&c.x, dt, 4, xs, 1, &seed) || rand_tensor(&c.w, dt, 5, ws, 0.1f, &seed) ||
        vgen_tensor_alloc(&c.y, dt, 4, ys, NULL)) {
        fprintf(stderr, "conv3d %s: out of memory\n", name);
        free(c.bias);
        return;
    }
    timing t;
    if (!time_it(run_conv, &c, o->reps, &t)) {
        char what[160];
        snprintf(what, sizeof what, "conv3d %s: x [%lld, %lld, %lld, %lld] k %lldx%lldx%lld -> %lld", name,
                 (long long)xs[0], (long long)xs[1], (long long)xs[2], (long long)xs[3], (long long)ws[2],
                 (long long)ws[3], (long long)ws[4], (long long)ws[0]);
        print_row(what, vgen_dtype_name(dt), &t,
                  2.0 * (double)(ws[0] * ws[1] * ws[2] * ws[3] * ws[4]) * (double)(ys[1] * ys[2] * ys[3]));
    }
    free(c.bias);
    vgen_tensor_release(&c.x);
    vgen_tensor_release(&c.w);
    vgen_tensor_release(&c.y);
}

/* ---- streaming ops ---- */

typedef enum misc_op { M_LN, M_RMS, M_ROPE, M_GELU, M_SILU, M_ADD, M_GATED, M_CONVERT, M_COUNT } misc_op;

typedef struct misc_ctx {
    vgen_backend *be;
    misc_op op;
    vgen_tensor x, y, x3; /* x [L, D], y [L, D] (convert: the other dtype), x3 = x as [L, H, 128] */
    float *vec;           /* [D] (and cos/sin tables [L, 64] for rope) */
    float *cs, *sn;
} misc_ctx;

static int run_misc(void *p) {
    misc_ctx *c = p;
    vgen_backend *be = c->be;
    switch (c->op) {
    case M_LN: return be->layer_norm(be, &c->x, NULL, NULL, c->vec, c->vec, 1e-6f, &c->x, NULL);
    case M_RMS: return be->rms_norm(be, &c->x, c->vec, 1e-6f, &c->x, NULL);
    case M_ROPE: return be->rope(be, &c->x3, c->cs, c->sn, NULL);
    case M_GELU: return be->unary(be, VGEN_UNARY_GELU_TANH, &c->x, &c->x, NULL);
    case M_SILU: return be->unary(be, VGEN_UNARY_SILU, &c->x, &c->x, NULL);
    case M_ADD: return be->binary(be, VGEN_BINARY_ADD, &c->x, &c->x3, &c->x, NULL);
    case M_GATED: return be->gated_add(be, &c->x, c->vec, &c->x3, NULL);
    default: return be->convert(be, &c->x, &c->y, NULL);
    }
}

static void run_misc_set(vgen_backend *be, const opts *o) {
    static const char *const names[M_COUNT] = {"layer_norm (+shift, scale) in place", "rms_norm in place",
                                                "rope in place", "gelu_tanh in place", "silu in place",
                                                "binary add (full b) in place", "gated_add", "convert"};
    const int64_t l = 4800, d = 1536, xs[2] = {l, d}, x3s[3] = {l, d / 128, 128};
    for (int dd = 0; dd < 2; dd++) {
        const vgen_dtype dt = dd ? VGEN_DTYPE_F32 : VGEN_DTYPE_BF16;
        if (!(o->dtypes >> dd & 1)) continue;
        uint64_t seed = 17;
        misc_ctx c = {.be = be};
        vgen_tensor other;
        c.vec = calloc((size_t)d, sizeof *c.vec);
        c.cs = calloc((size_t)(l * 64), sizeof *c.cs);
        c.sn = calloc((size_t)(l * 64), sizeof *c.sn);
        if (!c.vec || !c.cs || !c.sn || rand_tensor(&c.x, dt, 2, xs, 1, &seed) ||
            rand_tensor(&other, dt, 2, xs, 1, &seed) ||
            vgen_tensor_alloc(&c.y, dt == VGEN_DTYPE_F32 ? VGEN_DTYPE_BF16 : VGEN_DTYPE_F32, 2, xs, NULL))
            return;
        c.x3 = other;
        const double bytes = (double)(l * d) * (double)vgen_dtype_size(dt);
        const double traffic[M_COUNT] = {2, 2, 2, 2, 2, 3, 3, 1 + (dt == VGEN_DTYPE_F32 ? 0.5 : 2.0)};
        for (int op = 0; op < M_COUNT; op++) {
            c.op = (misc_op)op;
            if (op == M_ROPE) c.x3 = (vgen_tensor){0}, vgen_tensor_view(&c.x3, dt, 3, x3s, c.x.data, NULL);
            else c.x3 = other;
            timing t;
            if (time_it(run_misc, &c, o->reps, &t)) continue;
            printf("| %s [%lld, %lld] | %s | %.5f | %.5f | %.1f GB/s | |\n", names[op], (long long)l, (long long)d,
                   vgen_dtype_name(dt), t.best, t.median, traffic[op] * bytes / t.best * 1e-9);
        }
        free(c.vec), free(c.cs), free(c.sn);
        vgen_tensor_release(&c.x);
        vgen_tensor_release(&other);
        vgen_tensor_release(&c.y);
    }
}

/* ---- main ---- */

static void run_attention_set(vgen_backend *be, const opts *o) {
    for (int d = 0; d < 2; d++) {
        const vgen_dtype dt = d ? VGEN_DTYPE_F32 : VGEN_DTYPE_BF16;
        if (!(o->dtypes >> d & 1)) continue;
        bench_attention(be, o, "DiT-1.3B self, 33f 480x272", 4800, 4800, 12, 128, 0, dt);
        if (o->quick) continue;
        bench_attention(be, o, "DiT-1.3B cross", 4800, 512, 12, 128, 0, dt);
        bench_attention(be, o, "UMT5", 512, 512, 64, 64, 1, dt);
        bench_attention(be, o, "VAE mid, 480x832 frame", 6240, 6240, 1, 384, 0, dt);
    }
}

static void run_conv_set(vgen_backend *be, const opts *o) {
    const vgen_conv3d_params causal = {{2, 0}, {1, 1}, {1, 1}, 1, 1, 1}, sp = {{0, 0}, {1, 1}, {1, 1}, 1, 1, 1};
    const vgen_conv3d_params one = {{0, 0}, {0, 0}, {0, 0}, 1, 1, 1}, patch = {{0, 0}, {0, 0}, {0, 0}, 1, 2, 2};
    for (int d = 0; d < 2; d++) {
        const vgen_dtype dt = d ? VGEN_DTYPE_F32 : VGEN_DTYPE_BF16;
        if (!(o->dtypes >> d & 1)) continue;
        /* VAE decoder, one latent frame of 480x832 with its 2 cached frames: mid (60x104), up1 (120x208), up2/3 */
        bench_conv(be, o, "VAE 384 @60x104", (int64_t[4]){384, 3, 60, 104}, (int64_t[5]){384, 384, 3, 3, 3},
                   (vgen_conv3d_params){{0, 0}, {1, 1}, {1, 1}, 1, 1, 1}, dt);
        if (o->quick) continue;
        bench_conv(be, o, "VAE 192 @240x416", (int64_t[4]){192, 3, 240, 416}, (int64_t[5]){192, 192, 3, 3, 3},
                   (vgen_conv3d_params){{0, 0}, {1, 1}, {1, 1}, 1, 1, 1}, dt);
        bench_conv(be, o, "VAE 96 @480x832 (1 frame, causal pad)", (int64_t[4]){96, 1, 480, 832},
                   (int64_t[5]){96, 96, 3, 3, 3}, causal, dt);
        bench_conv(be, o, "VAE conv_out 96->3 @480x832", (int64_t[4]){96, 1, 480, 832}, (int64_t[5]){3, 96, 3, 3, 3},
                   causal, dt);
        bench_conv(be, o, "VAE upsample 2-D 3x3 @480x832", (int64_t[4]){192, 1, 480, 832},
                   (int64_t[5]){96, 192, 1, 3, 3}, sp, dt);
        bench_conv(be, o, "VAE 1x1 shortcut @120x208", (int64_t[4]){192, 1, 120, 208},
                   (int64_t[5]){384, 192, 1, 1, 1}, one, dt);
        bench_conv(be, o, "DiT patch embed 21f 60x104", (int64_t[4]){16, 21, 60, 104},
                   (int64_t[5]){1536, 16, 1, 2, 2}, patch, dt);
    }
}

static int parse(int argc, char **argv, opts *o) {
    *o = (opts){.reps = 3, .threads = 0, .attn = 1, .conv = 1, .misc = 1, .dtypes = 3};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) o->reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) o->threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--attn-only")) o->conv = o->misc = 0;
        else if (!strcmp(argv[i], "--conv-only")) o->attn = o->misc = 0;
        else if (!strcmp(argv[i], "--misc-only")) o->attn = o->conv = 0;
        else if (!strcmp(argv[i], "--quick")) o->quick = 1;
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
            i++;
            o->dtypes = !strcmp(argv[i], "bf16") ? 1 : !strcmp(argv[i], "f32") ? 2 : 0;
            if (!o->dtypes) return -1;
        }
        else if (!strcmp(argv[i], "--tiles") && i + 1 < argc) {
            long long bq = 0, bk = 0;
            if (sscanf(argv[++i], "%lldx%lld", &bq, &bk) != 2) return -1;
            o->bq = bq, o->bk = bk;
        } else return -1;
    }
    if (o->reps < 1) o->reps = 1;
    if (o->reps > MAX_REPS) o->reps = MAX_REPS;
    return 0;
}

int main(int argc, char **argv) {
    opts o;
    if (parse(argc, argv, &o)) {
        fprintf(stderr, "usage: bench_ops [--reps N] [--threads N] [--attn-only | --conv-only | --misc-only] "
                        "[--dtype f32|bf16] [--tiles BQxBK] [--quick]\n");
        return 2;
    }
    vgen_err err = {0};
    vgen_threadpool *pool = NULL;
    vgen_backend *be = NULL;
    if (vgen_threadpool_new(o.threads, &pool, &err) || vgen_backend_cpu_new(pool, &be, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    vgen_cpu_ops_install(be);
    printf("threads %d, SIMD level %d, reps %d\n\n", vgen_threadpool_size(pool), vgen_cpu_simd_level(), o.reps);
    printf("| op | dtype | best s | median s | GFLOP/s | GFLOP/cpu-s |\n|---|---|---|---|---|---|\n");
    bench_ceiling(be, &o);
    if (o.attn) run_attention_set(be, &o);
    if (o.conv) run_conv_set(be, &o);
    if (o.misc) run_misc_set(be, &o);
    vgen_backend_free(&be);
    vgen_threadpool_free(&pool);
    return 0;
}

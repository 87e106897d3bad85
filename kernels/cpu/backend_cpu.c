/* backend_cpu.c - the fast CPU backend: linear through oneDNN matmul.
 *
 * linear, y[M, N] = x[M, K] W[N, K]^T + bias[N]:
 *   - compute precision = x's dtype (backend.h): f32 x -> f32 GEMM, bf16 x -> bf16 GEMM with f32 accumulation.
 *     The weights are brought to that precision; nothing else is converted.
 *   - W [N, K] row-major is the [K, N] matrix oneDNN calls `ba`, so f32 W with f32 x, and bf16 W with bf16 x, are
 *     read in place. Every other format is dequantized, a tile of rows of W (= a block of columns of y) at a time,
 *     into a scratch tile in the compute dtype, with its scales applied (bit for bit the reference's values, bf16-
 *     rounded for bf16 compute), and the GEMM for that block writes y[:, n0:n0+nt] in place (row stride N), with the
 *     bias slice bias[n0:n0+nt] added by oneDNN.
 *   - Scales are applied while dequantizing rather than as a per-column output scale: oneDNN 2.6 adds the matmul
 *     bias before output scales (dst = scale * (acc + bias)), and a per-column bias post-op on a strided y falls
 *     back to its reference kernel (ref:any), both measured; one multiply per weight in a pass that runs anyway
 *     costs nothing measurable, and the GEMM then uses exactly the reference's bf16 weights.
 *   - oneDNN 2.6 has no f32 x f32 -> bf16 matmul, so f32 compute with a bf16 y writes f32 into a staging buffer that
 *     is then rounded (RNE) into y, in bounded blocks of rows.
 *   - Dequantization runs on the vgen thread pool and the GEMM on oneDNN's OpenMP threads, one after the other, so
 *     they do not oversubscribe the cores (OpenMP workers spin for a moment after each GEMM, which slows the next
 *     tile's dequantization a little; all dequantization together is 2-4% of a call at M = 1200 on 2 cores).
 *   - Tile widths (below) were measured with oneDNN 2.6.3 on a 2-core AVX-512 (bf16, VNNI) EPYC: gemm:jit on a
 *     strided y is as fast as brgemm on packed weights from about 1024 columns up (docs/bench-linear.md).
 * Primitives are cached per backend (dnnl_matmul.c); scratch buffers grow as needed and live as long as the
 * backend. A backend serves one caller at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cpu/backend_cpu.h"
#include "cpu/dequant_row.h"
#include "cpu/dequant_tile.h"
#include "cpu/dnnl_matmul.h"
#include "cpu/ops_cpu.h"
#include "cpu/scratch.h"
#include "numeric.h"
#include "ref/backend_common.h"
#include "ref/linear_check.h"
#include "threadpool.h"

#define CPU_PRIMITIVE_CACHE 64
#define TILE_BYTES (16u << 20)       /* dequantized tile budget: within L3 (32 MiB here), read warm by the GEMM */
#define TILE_MIN_COLS 256            /* below this the GEMM loses efficiency (measured: ~10% at 256 vs 1024+) */
#define TILE_MAX_COLS 2048           /* the best block width measured for oneDNN 2.6 bf16 and f32 GEMM */
#define STAGE_BYTES (32u << 20)      /* f32 staging for bf16 y with f32 compute */

typedef struct cpu_impl {
    vgen_threadpool *pool; /* borrowed */
    vgen_dnnl *dnnl;
    vgen_scratch tile;     /* [nt, K] dequantized weights, compute dtype */
    vgen_scratch rowbuf;   /* [n_threads, K] f32, reference-dequantizer staging */
    vgen_scratch stage;    /* [mc, nt] f32 GEMM output when y is bf16 and compute f32 */
    int simd;
    int64_t tile_cols;     /* 0: chosen per call by tile_cols(); else this width (vgen_backend_cpu_set_tile_cols) */
} cpu_impl;

/* One linear call, resolved. */
typedef struct lin_call {
    const vgen_qmatrix *w;
    const float *bias;
    const void *x;     /* [M, K] */
    void *y;           /* [M, N] */
    int64_t m, k, n;
    vgen_dtype cdt;    /* compute dtype = x's */
    vgen_dtype ydt;
    int direct;        /* W is read in place */
    int staged;        /* f32 compute into a bf16 y */
    int64_t nt;        /* columns of y per tile */
} lin_call;

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

/* Columns per tile: TILE_MAX_COLS for weights read in place; else as many as fit TILE_BYTES, clamped; then evened
 * out over the tiles (multiples of 64) so the last tile is not a sliver. */
static int64_t tile_cols(int64_t k, int64_t n, size_t es, int direct, int64_t forced) {
    if (forced > 0) return forced < n ? forced : n;
    int64_t nt = TILE_MAX_COLS;
    if (!direct) {
        nt = (int64_t)(TILE_BYTES / ((size_t)k * es)) / 64 * 64;
        if (nt < TILE_MIN_COLS) nt = TILE_MIN_COLS;
        if (nt > TILE_MAX_COLS) nt = TILE_MAX_COLS;
    }
    if (nt >= n) return n;
    int64_t tiles = (n + nt - 1) / nt;
    nt = round_up((n + tiles - 1) / tiles, 64);
    return nt < n ? nt : n;
}

/* ---- f32 staging -> bf16 y ---- */

typedef struct stage_ctx {
    const float *src; /* [rows, nc] */
    uint16_t *dst;    /* row stride ldd */
    int64_t nc, ldd;
} stage_ctx;

static void stage_row(void *arg, int64_t i, int thread) {
    (void)thread;
    const stage_ctx *c = arg;
    const float *s = c->src + i * c->nc;
    uint16_t *d = c->dst + i * c->ldd;
    for (int64_t j = 0; j < c->nc; j++) d[j] = vgen_f32_to_bf16(s[j]);
}

/* y[:, n0:n0+nc] (bf16) via f32 staging, mc rows at a time. */
static int gemm_staged(cpu_impl *im, const lin_call *c, const void *w, int64_t n0, int64_t nc, vgen_err *err) {
    int64_t mc = (int64_t)(STAGE_BYTES / ((size_t)nc * sizeof(float)));
    if (mc < 1) mc = 1;
    if (mc > c->m) mc = c->m;
    int rc = vgen_scratch_reserve(&im->stage, (size_t)(mc * nc) * sizeof(float), "f32 staging of y", err);
    if (rc) return rc;
    for (int64_t m0 = 0; m0 < c->m; m0 += mc) {
        int64_t rows = c->m - m0 < mc ? c->m - m0 : mc;
        vgen_mm_desc d = {rows, c->k, nc, nc, VGEN_DTYPE_F32, VGEN_DTYPE_F32, c->bias != NULL};
        const float *x = (const float *)c->x + m0 * c->k;
        rc = vgen_dnnl_matmul(im->dnnl, &d, x, w, c->bias ? c->bias + n0 : NULL, im->stage.ptr, err);
        if (rc) return rc;
        stage_ctx sc = {im->stage.ptr, (uint16_t *)c->y + m0 * c->n + n0, nc, c->n};
        vgen_threadpool_for(im->pool, rows, stage_row, &sc);
    }
    return VGEN_OK;
}

/* y[:, n0:n0+nc] = x w^T + bias[n0:n0+nc], w: [nc, K] in the compute dtype. */
static int gemm_block(cpu_impl *im, const lin_call *c, const void *w, int64_t n0, int64_t nc, vgen_err *err) {
    if (c->staged) return gemm_staged(im, c, w, n0, nc, err);
    vgen_mm_desc d = {c->m, c->k, nc, c->n, c->cdt, c->ydt, c->bias != NULL};
    void *y = (char *)c->y + (size_t)n0 * vgen_dtype_size(c->ydt);
    return vgen_dnnl_matmul(im->dnnl, &d, c->x, w, c->bias ? c->bias + n0 : NULL, y, err);
}

/* Weights of rows [n0, n0 + nc) in the compute dtype: in place, or dequantized into the tile scratch. */
static const void *block_weights(cpu_impl *im, const lin_call *c, int64_t n0, int64_t nc) {
    size_t es = vgen_dtype_size(c->cdt);
    if (c->direct) return (const char *)c->w->data + (size_t)(n0 * c->k) * es;
    vgen_dequant_job job = {c->w, n0, nc, c->cdt, im->tile.ptr, im->rowbuf.ptr, im->simd};
    vgen_dequant_tile(im->pool, &job);
    return im->tile.ptr;
}

static int reserve_tiles(cpu_impl *im, const lin_call *c, vgen_err *err) {
    if (c->direct) return VGEN_OK;
    size_t es = vgen_dtype_size(c->cdt);
    int rc = vgen_scratch_reserve(&im->tile, (size_t)(c->nt * c->k) * es, "dequantized weight tile", err);
    if (rc || c->cdt != VGEN_DTYPE_BF16) return rc;
    size_t threads = (size_t)vgen_threadpool_size(im->pool);
    return vgen_scratch_reserve(&im->rowbuf, threads * (size_t)c->k * sizeof(float), "dequantization rows", err);
}

static void resolve(const cpu_impl *im, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias,
                    vgen_tensor *y, int64_t m, lin_call *c) {
    memset(c, 0, sizeof *c);
    c->w = w;
    c->bias = bias;
    c->x = x->data;
    c->y = y->data;
    c->m = m;
    c->k = w->cols;
    c->n = w->rows;
    c->cdt = x->dtype;
    c->ydt = y->dtype;
    c->direct = (w->format == VGEN_WF_F32 && c->cdt == VGEN_DTYPE_F32) ||
                (w->format == VGEN_WF_BF16 && c->cdt == VGEN_DTYPE_BF16);
    c->staged = c->cdt == VGEN_DTYPE_F32 && c->ydt == VGEN_DTYPE_BF16;
    c->nt = tile_cols(c->k, c->n, vgen_dtype_size(c->cdt), c->direct, im->tile_cols);
}

static int cpu_linear(vgen_backend *be, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias,
                      vgen_tensor *y, vgen_err *err) {
    cpu_impl *im = be->impl;
    int64_t m;
    int rc = vgen_linear_check("cpu", x, w, y, &m, err);
    if (rc || m == 0) return rc;
    lin_call c;
    resolve(im, x, w, bias, y, m, &c);
    rc = reserve_tiles(im, &c, err);
    for (int64_t n0 = 0; !rc && n0 < c.n; n0 += c.nt) {
        int64_t nc = c.n - n0 < c.nt ? c.n - n0 : c.nt;
        rc = gemm_block(im, &c, block_weights(im, &c, n0, nc), n0, nc, err);
    }
    return rc;
}

int64_t vgen_backend_cpu_primitive_builds(const vgen_backend *be) {
    if (!be || be->linear != cpu_linear || !be->impl) return -1;
    return vgen_dnnl_build_count(((const cpu_impl *)be->impl)->dnnl);
}

int vgen_backend_cpu_set_tile_cols(vgen_backend *be, int64_t cols) {
    if (!be || be->linear != cpu_linear || !be->impl || cols < 0) return VGEN_ERR_INVALID_ARGUMENT;
    ((cpu_impl *)be->impl)->tile_cols = cols;
    return VGEN_OK;
}

/* ---- planning (backend_cpu.h) ---- */

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

void vgen_cpu_plan_linear(vgen_cpu_scratch_plan *p, vgen_wformat f, vgen_dtype x_dt, vgen_dtype y_dt, int64_t m,
                          int64_t n, int64_t k, int threads) {
    const vgen_qmatrix w = {.format = f, .rows = n, .cols = k};
    const vgen_tensor x = {.dtype = x_dt}, y = {.dtype = y_dt};
    const cpu_impl im = {0};
    lin_call c;
    resolve(&im, &x, &w, NULL, (vgen_tensor *)&y, m, &c);
    const size_t es = vgen_dtype_size(c.cdt);
    if (!c.direct) {
        p->tile = max_size(p->tile, (size_t)(c.nt * c.k) * es);
        if (c.cdt == VGEN_DTYPE_BF16) p->rows = max_size(p->rows, (size_t)threads * (size_t)k * sizeof(float));
    }
    if (c.staged) {
        int64_t mc = (int64_t)(STAGE_BYTES / ((size_t)c.nt * sizeof(float)));
        mc = mc < 1 ? 1 : mc > m ? m : mc;
        p->stage = max_size(p->stage, (size_t)(mc * c.nt) * sizeof(float));
    }
}

size_t vgen_cpu_scratch_peak(const vgen_cpu_scratch_plan *p) { return p->tile + p->rows + p->stage + p->attention; }

static bool cpu_supports(const vgen_backend *be, vgen_op op, vgen_wformat format) {
    return vgen_backend_has_op(be, op, format);
}

static void cpu_destroy(vgen_backend *be) {
    cpu_impl *im = be->impl;
    if (!im) return;
    vgen_dnnl_free(&im->dnnl);
    vgen_scratch_release(&im->tile);
    vgen_scratch_release(&im->rowbuf);
    vgen_scratch_release(&im->stage);
    free(im);
    be->impl = NULL;
}

int vgen_backend_cpu_new(vgen_threadpool *pool, vgen_backend **out, vgen_err *err) {
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_backend_cpu_new: out is NULL");
    *out = NULL;
    vgen_backend *be = calloc(1, sizeof *be);
    cpu_impl *im = calloc(1, sizeof *im);
    if (!be || !im) {
        free(be);
        free(im);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the CPU backend");
    }
    int rc = vgen_dnnl_new(CPU_PRIMITIVE_CACHE, &im->dnnl, err);
    if (rc) {
        free(be);
        free(im);
        return rc;
    }
    im->pool = pool;
    im->simd = vgen_dequant_have_avx512();
    *be = (vgen_backend){.name = "cpu", .device = VGEN_DEVICE_CPU, .impl = im, .pool = pool,
                         .supports = cpu_supports, .linear = cpu_linear, .destroy = cpu_destroy};
    vgen_cpu_ops_install(be); /* every other op (kernels/cpu/ops_*.c) */
    vgen_backend_host_install(be);
    *out = be;
    return VGEN_OK;
}

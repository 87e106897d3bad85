/* test_linear.c - the CPU backend's linear against the reference backend, for every weight format.
 *
 * For each format (random N(0,1) weights quantized with vgen_wformat_quantize), x in f32 and bf16, y in f32 (and
 * bf16 for a subset), with and without bias, over shapes that cover M = 1, odd K below a group, K not a multiple
 * of 32/64/128, and several weight tiles plus a remainder, y_cpu is compared with y_ref. Each case runs on three CPU
 * backends: default tiles, tiles capped at 64 columns (so that N = 300 is 4 full tiles and a remainder of 44; the
 * default tiles are 256..2048 columns wide and only split real DiT shapes), and no thread pool.
 *
 * Error budgets. u = 2^-24 (f32 unit roundoff); S[m, n] = sum_k |x[m, k]| |w[n, k]| + |b[n]| over the operands in
 * the compute precision (bf16-rounded for bf16 compute). The reference sums exact products in double and rounds
 * once, so its error is <= u |y| <= u S; any f32-accumulating GEMM, in any summation order, is within
 * gamma_(K+1) S ~= (K + 1) u S of the exact sum (Higham, Accuracy and Stability, 3.1). Hence, per element:
 *   f32 compute:   |y_cpu - y_ref| <= (K + 3) u S.
 *   bf16 compute:  products of two bf16 values are exact in f32, so the same (K + 3) u S holds when both backends
 *                  use the same bf16 weights; a backend may instead round each dequantized weight differently (e.g.
 *                  apply a row scale after the GEMM instead of to the bf16 weight): one more bf16 rounding per
 *                  product, 2^-8 S. Budget: (2^-8 + (K + 3) u) S. (test_dequant_tiles_exact separately checks that
 *                  the CPU backend's tiles are the reference's values bit for bit.)
 *   bf16 y:        both outputs are rounded once more to bf16, which moves each by at most 2^-8 of its magnitude:
 *                  add 2^-7 (1 + 2^-7) |y_ref|.
 * Relative L2 error ||y_cpu - y_ref|| / ||y_ref||, the brief's aggregate budget:
 *   f32 compute, f32 y: 1e-5. Rounding errors of random sign grow like sqrt(K) u relative to ||y||: 2.4e-6 at
 *                  K = 1536 for plain sequential summation, less for blocked sums; 1e-5 leaves a factor of 4.
 *   bf16 compute or bf16 y: 4e-3 ~= 2^-8, one bf16 rounding per product or per output (RMS 2^-8 / sqrt(3) for
 *                  uniformly distributed rounding errors; the bound is the worst case of a single rounding).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cpu/backend_cpu.h"
#include "cpu/dequant_row.h"
#include "cpu/dequant_tile.h"
#include "numeric.h"
#include "testutil.h"
#include "threadpool.h"

#define GUARD 64
#define GUARD_BYTE 0xA5

/* The CPU backends under test: default tiles on a 2-thread pool; 64-column tiles, so that small shapes span many
 * tiles; and default tiles with no pool (everything on the caller). */
#define N_CPU 3
static vgen_backend *g_ref, *g_cpu[N_CPU];
static const char *const g_cpu_label[N_CPU] = {"default tiles", "64-column tiles", "no thread pool"};
static vgen_threadpool *g_pool;
static double g_worst[2]; /* largest |error| / per-element budget seen, per compute dtype (0 f32, 1 bf16) */

/* ---- random numbers (splitmix64 + Box-Muller) ---- */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_uniform(uint64_t *s) { return ((double)(rng_next(s) >> 11) + 0.5) * 0x1.0p-53; }

static float rng_gauss(uint64_t *s) {
    double u = rng_uniform(s), v = rng_uniform(s);
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* ---- quantized weights ---- */

typedef struct qweights {
    vgen_qmatrix q;
    void *data;
    float *scales;
    uint8_t *zeros;
    float *deq; /* [N, K] reference dequantization */
} qweights;

static void qweights_free(qweights *w) {
    free(w->data);
    free(w->scales);
    free(w->zeros);
    free(w->deq);
    memset(w, 0, sizeof *w);
}

/* Random N(0, amp^2) weights [n, k] quantized as f; returns 0 on success. */
static int qweights_make(qweights *w, vgen_wformat f, int64_t n, int64_t k, float amp, uint64_t seed) {
    memset(w, 0, sizeof *w);
    size_t data_bytes, n_scales, n_zeros;
    if (vgen_wformat_data_bytes(f, n, k, &data_bytes) || vgen_wformat_scale_count(f, n, k, &n_scales) ||
        vgen_wformat_zero_count(f, n, k, &n_zeros))
        return -1;
    float *src = malloc((size_t)(n * k) * sizeof *src);
    w->data = malloc(data_bytes);
    w->scales = n_scales ? malloc(n_scales * sizeof(float)) : NULL;
    w->zeros = n_zeros ? malloc(n_zeros) : NULL;
    w->deq = malloc((size_t)(n * k) * sizeof(float));
    int rc = (!src || !w->data || (n_scales && !w->scales) || (n_zeros && !w->zeros) || !w->deq) ? -1 : 0;
    for (int64_t i = 0; !rc && i < n * k; i++) src[i] = amp * rng_gauss(&seed);
    vgen_err err;
    if (!rc) rc = vgen_wformat_quantize(f, src, n, k, w->data, w->scales, w->zeros, &err);
    free(src);
    if (rc) {
        qweights_free(w);
        return -1;
    }
    w->q = (vgen_qmatrix){f, n, k, w->data, w->scales, w->zeros};
    vgen_wformat_dequantize_rows(&w->q, 0, n, w->deq);
    return 0;
}

/* ---- activations and guarded outputs ---- */

static float elem(const void *p, vgen_dtype t, int64_t i) {
    return t == VGEN_DTYPE_BF16 ? vgen_bf16_to_f32(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

static void fill_gauss(vgen_tensor *t, uint64_t seed) {
    int64_t n = vgen_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        float v = rng_gauss(&seed);
        if (t->dtype == VGEN_DTYPE_BF16) ((uint16_t *)t->data)[i] = vgen_f32_to_bf16(v);
        else ((float *)t->data)[i] = v;
    }
}

/* A tensor whose data sits between two guard zones of GUARD_BYTE; base is what to free. */
static int guarded_alloc(vgen_tensor *t, void **base, vgen_dtype dt, int n_dims, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < n_dims; i++) n *= shape[i];
    size_t bytes = (size_t)n * vgen_dtype_size(dt);
    unsigned char *b = malloc(bytes + 2 * GUARD);
    if (!b) return -1;
    memset(b, GUARD_BYTE, bytes + 2 * GUARD);
    *base = b;
    return vgen_tensor_view(t, dt, n_dims, shape, b + GUARD, NULL);
}

static int guards_intact(const vgen_tensor *t) {
    const unsigned char *d = t->data;
    size_t bytes = vgen_tensor_bytes(t);
    for (size_t i = 0; i < GUARD; i++)
        if (d[-(ptrdiff_t)GUARD + (ptrdiff_t)i] != GUARD_BYTE || d[bytes + i] != GUARD_BYTE) return 0;
    return 1;
}

/* ---- comparison ---- */

typedef struct lin_case {
    vgen_wformat fmt;
    int64_t m, k, n;
    vgen_dtype xdt, ydt;
    int bias;
} lin_case;

/* S[m, n] = sum_k |x||w| + |b| with w in the compute precision. */
static double abs_dot(const lin_case *c, const vgen_tensor *x, const qweights *w, const float *b, int64_t m,
                      int64_t n) {
    double s = b ? fabs(b[n]) : 0.0;
    for (int64_t k = 0; k < c->k; k++) {
        float wv = w->deq[n * c->k + k];
        if (c->xdt == VGEN_DTYPE_BF16) wv = vgen_bf16_to_f32(vgen_f32_to_bf16(wv));
        s += fabs((double)elem(x->data, c->xdt, m * c->k + k) * wv);
    }
    return s;
}

static double elem_budget(const lin_case *c, double s, double yref) {
    double u = 0x1.0p-24, e = (double)(c->k + 3) * u * s;
    if (c->xdt == VGEN_DTYPE_BF16) e += 0x1.0p-8 * s;
    if (c->ydt == VGEN_DTYPE_BF16) e += 0x1.0p-7 * (1.0 + 0x1.0p-7) * fabs(yref);
    return e;
}

static const char *case_str(const lin_case *c, char *buf, size_t size) {
    snprintf(buf, size, "%s M=%lld K=%lld N=%lld x=%s y=%s%s", vgen_wformat_get(c->fmt)->name, (long long)c->m,
             (long long)c->k, (long long)c->n, vgen_dtype_name(c->xdt), vgen_dtype_name(c->ydt),
             c->bias ? " bias" : "");
    return buf;
}

/* s: [M, N] the S of each element (abs_dot). */
static void compare(const lin_case *c, const char *label, const double *s, const vgen_tensor *yr,
                    const vgen_tensor *yc) {
    char name[200], cs[160];
    double d2 = 0.0, r2 = 0.0, worst = 0.0;
    int64_t bad = -1, nonfinite = -1;
    for (int64_t m = 0; m < c->m; m++) {
        for (int64_t n = 0; n < c->n; n++) {
            int64_t i = m * c->n + n;
            double vr = elem(yr->data, c->ydt, i), vc = elem(yc->data, c->ydt, i), d = fabs(vc - vr);
            if (!isfinite(vc) || !isfinite(vr)) nonfinite = i;
            double ratio = d / elem_budget(c, s[i], vr);
            if (ratio > worst) worst = ratio;
            if (ratio > 1.0 && bad < 0) bad = i;
            d2 += d * d;
            r2 += vr * vr;
        }
    }
    snprintf(name, sizeof name, "%s (%s)", case_str(c, cs, sizeof cs), label);
    CHECKF(nonfinite < 0, "%s: non-finite output at %lld", name, (long long)nonfinite);
    CHECKF(bad < 0, "%s: element %lld off by %.3g x its budget", name, (long long)bad, worst);
    double rel = sqrt(d2 / (r2 > 0.0 ? r2 : 1.0));
    double rel_budget = (c->xdt == VGEN_DTYPE_F32 && c->ydt == VGEN_DTYPE_F32) ? 1e-5 : 4e-3;
    CHECKF(rel <= rel_budget, "%s: relative L2 error %.3g > %.3g", name, rel, rel_budget);
    int slot = c->xdt == VGEN_DTYPE_BF16;
    if (worst > g_worst[slot]) g_worst[slot] = worst;
    if (getenv("VGEN_TEST_VERBOSE")) printf("  %s: worst %.3g rel %.3g\n", name, worst, rel);
}

/* Runs the reference and every CPU backend on one case (x has rank 3 when M splits as 2 x M/2, to cover leading
 * dims). */
static void run_case(const lin_case *c, const qweights *w, uint64_t seed) {
    int rank3 = c->m % 2 == 0 && c->m >= 4;
    int64_t xs[3] = {2, c->m / 2, c->k}, ys[3] = {2, c->m / 2, c->n};
    if (!rank3) xs[0] = c->m, xs[1] = c->k, ys[0] = c->m, ys[1] = c->n;
    int nd = rank3 ? 3 : 2;
    vgen_tensor x, yr, yc;
    void *xb = NULL, *rb = NULL, *cb = NULL;
    float *bias = c->bias ? malloc((size_t)c->n * sizeof *bias) : NULL;
    double *s = malloc((size_t)(c->m * c->n) * sizeof *s);
    int ok = !guarded_alloc(&x, &xb, c->xdt, nd, xs) && !guarded_alloc(&yr, &rb, c->ydt, nd, ys) &&
             !guarded_alloc(&yc, &cb, c->ydt, nd, ys) && (!c->bias || bias) && s;
    CHECK(ok);
    if (ok) {
        fill_gauss(&x, seed);
        for (int64_t n = 0; bias && n < c->n; n++) bias[n] = rng_gauss(&seed);
        for (int64_t i = 0; i < c->m * c->n; i++) s[i] = abs_dot(c, &x, w, bias, i / c->n, i % c->n);
        vgen_err err;
        int rc = g_ref->linear(g_ref, &x, &w->q, bias, &yr, &err);
        CHECKF(rc == VGEN_OK, "ref: %s", err.msg);
        for (int b = 0; b < N_CPU; b++) {
            vgen_backend *be = g_cpu[b];
            memset(yc.data, 0, vgen_tensor_bytes(&yc));
            int rc2 = be->linear(be, &x, &w->q, bias, &yc, &err);
            CHECKF(rc2 == VGEN_OK, "cpu: %s", err.msg);
            CHECK(guards_intact(&yr) && guards_intact(&yc));
            if (rc == VGEN_OK && rc2 == VGEN_OK) compare(c, g_cpu_label[b], s, &yr, &yc);
        }
    }
    free(bias);
    free(s);
    free(xb);
    free(rb);
    free(cb);
}

/* ---- tests ---- */

static const int64_t k_shapes[][3] = {{1, 64, 32}, {7, 33, 5}, {5, 200, 17}, {64, 256, 96}, {130, 1536, 300}};
#define N_SHAPES (int)(sizeof k_shapes / sizeof k_shapes[0])

/* Every format x shape x {f32, bf16} x: y f32 with and without bias (alternating on the largest shape), plus a
 * bf16 y with bias on two shapes. */
static void test_parity_all_formats(void) {
    uint64_t seed = 1;
    for (int f = 0; f < VGEN_WF_COUNT; f++) {
        for (int s = 0; s < N_SHAPES; s++) {
            const int64_t *sh = k_shapes[s];
            qweights w;
            int made = qweights_make(&w, (vgen_wformat)f, sh[2], sh[1], 1.0f, seed++) == 0;
            CHECKF(made, "quantize %s [%lld, %lld]", vgen_wformat_get((vgen_wformat)f)->name, (long long)sh[2],
                   (long long)sh[1]);
            if (!made) continue;
            for (int xi = 0; xi < 2; xi++) {
                vgen_dtype xdt = xi ? VGEN_DTYPE_BF16 : VGEN_DTYPE_F32;
                for (int b = 0; b < 2; b++) {
                    if (s == N_SHAPES - 1 && b != (f + xi) % 2) continue;
                    lin_case c = {(vgen_wformat)f, sh[0], sh[1], sh[2], xdt, VGEN_DTYPE_F32, b};
                    run_case(&c, &w, seed++);
                }
                if (s == 1 || s == 3) {
                    lin_case c = {(vgen_wformat)f, sh[0], sh[1], sh[2], xdt, VGEN_DTYPE_BF16, 1};
                    run_case(&c, &w, seed++);
                }
            }
            qweights_free(&w);
        }
    }
    printf("  worst error / per-element budget: f32 compute %.3g, bf16 compute %.3g\n", g_worst[0], g_worst[1]);
}

/* The CPU backend's dequantized tiles are the reference dequantizer's values, bit for bit (bf16: its RNE; an f32
 * NaN only has to be a NaN, as x86 may propagate either operand's payload through a multiply). */
static void check_tile(const qweights *w, vgen_dtype dt, int simd) {
    int64_t n = w->q.rows, k = w->q.cols, r0 = 1, nr = n - 1; /* from row 1: the tile is offset in W */
    size_t es = vgen_dtype_size(dt);
    void *tile = malloc((size_t)(nr * k) * es);
    float *rowbuf = malloc((size_t)(vgen_threadpool_size(g_pool) * k) * sizeof(float));
    CHECK(tile && rowbuf);
    if (tile && rowbuf) {
        vgen_dequant_job job = {&w->q, r0, nr, dt, tile, rowbuf, simd};
        vgen_dequant_tile(g_pool, &job);
        int64_t bad = -1;
        for (int64_t i = 0; i < nr * k && bad < 0; i++) {
            float ref = w->deq[r0 * k + i];
            float got = dt == VGEN_DTYPE_F32 ? ((float *)tile)[i] : 0.0f;
            int same = dt == VGEN_DTYPE_BF16 ? ((uint16_t *)tile)[i] == vgen_f32_to_bf16(ref)
                                             : vgen_f32_bits(got) == vgen_f32_bits(ref) || (isnan(got) && isnan(ref));
            if (!same) bad = i;
        }
        CHECKF(bad < 0, "%s K=%lld %s simd=%d: tile element %lld differs from the reference",
               vgen_wformat_get(w->q.format)->name, (long long)k, vgen_dtype_name(dt), simd, (long long)bad);
    }
    free(tile);
    free(rowbuf);
}

/* Every format, K from 1 to several SIMD blocks plus tails, with the AVX-512 kernels and without; also weights of
 * 1e-5 magnitude, which are subnormal in f16 and bf16-round near the bottom of the f32 range of scales. */
static void test_dequant_tiles_exact(void) {
    static const int64_t ks[] = {1, 31, 33, 200, 1536};
    int simd_max = vgen_dequant_have_avx512();
    uint64_t seed = 99;
    for (int f = 0; f < VGEN_WF_COUNT; f++) {
        for (size_t i = 0; i < 2 * sizeof ks / sizeof ks[0]; i++) {
            qweights w;
            size_t ki = i % (sizeof ks / sizeof ks[0]);
            float amp = i == ki ? 1.0f : 1e-5f;
            if (qweights_make(&w, (vgen_wformat)f, 9, ks[ki], amp, seed++)) {
                CHECK(!"quantize");
                continue;
            }
            for (int simd = 0; simd <= simd_max; simd++) {
                check_tile(&w, VGEN_DTYPE_F32, simd);
                check_tile(&w, VGEN_DTYPE_BF16, simd);
            }
            qweights_free(&w);
        }
    }
}

/* Every code of the 8-bit and 4-bit formats (bytes 0..255 along each row, all zero points), with scales that are
 * ordinary, negative, zero, subnormal, huge (products overflow to Inf), Inf and NaN: the SIMD tiles still match the
 * reference. Such scales never come out of the quantizer, but a file may hold them. */
static void test_dequant_all_codes(void) {
    static const float row_scales[] = {0.37f, 0.37f, -1.5f, 0.0f, 1e-40f, 3e38f, INFINITY, NAN}; /* row 0 unchecked */
    const int64_t n = (int64_t)(sizeof row_scales / sizeof row_scales[0]), k = 2 * 256 + 37;
    static const vgen_wformat fmts[] = {VGEN_WF_INT8_ROW, VGEN_WF_FP8_E4M3_ROW, VGEN_WF_FP8_E4M3_TENSOR,
                                        VGEN_WF_INT4_G32, VGEN_WF_INT4_G128_ZP};
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
        const vgen_wformat_traits *tr = vgen_wformat_get(fmts[f]);
        size_t row_bytes, n_scales, n_zeros;
        vgen_wformat_row_bytes(fmts[f], k, &row_bytes);
        vgen_wformat_scale_count(fmts[f], n, k, &n_scales);
        vgen_wformat_zero_count(fmts[f], n, k, &n_zeros);
        qweights w = {0};
        w.data = malloc(row_bytes * (size_t)n);
        w.scales = malloc(n_scales * sizeof(float));
        w.zeros = n_zeros ? malloc(n_zeros) : NULL;
        w.deq = malloc((size_t)(n * k) * sizeof(float));
        if (!w.data || !w.scales || (n_zeros && !w.zeros) || !w.deq) {
            CHECK(!"allocation");
            qweights_free(&w);
            continue;
        }
        for (size_t i = 0; i < row_bytes * (size_t)n; i++) ((uint8_t *)w.data)[i] = (uint8_t)(i * 7 % 256);
        size_t per_row = n_scales / (size_t)n;
        for (size_t i = 0; i < n_scales; i++) w.scales[i] = row_scales[(per_row ? i / per_row : i) % (size_t)n];
        for (size_t i = 0; i < n_zeros; i++) w.zeros[i] = (uint8_t)(i % 16);
        w.q = (vgen_qmatrix){fmts[f], n, k, w.data, w.scales, w.zeros};
        vgen_wformat_dequantize_rows(&w.q, 0, n, w.deq);
        for (int simd = 0; simd <= vgen_dequant_have_avx512(); simd++) {
            check_tile(&w, VGEN_DTYPE_F32, simd);
            check_tile(&w, VGEN_DTYPE_BF16, simd);
        }
        CHECK(tr != NULL);
        qweights_free(&w);
    }
}

/* A hand-computed case: x = [1, 2, 3], W = [[1, 0, -1], [2, 2, 2]], b = [0.5, -1] -> y = [-1.5, 11]. */
static void test_known_values(void) {
    float wv[6] = {1, 0, -1, 2, 2, 2}, xv[3] = {1, 2, 3}, b[2] = {0.5f, -1.0f}, y[2];
    vgen_qmatrix q = {VGEN_WF_F32, 2, 3, wv, NULL, NULL};
    vgen_tensor x, yt;
    int64_t xs[1] = {3}, ys[1] = {2};
    vgen_tensor_view(&x, VGEN_DTYPE_F32, 1, xs, xv, NULL);
    vgen_tensor_view(&yt, VGEN_DTYPE_F32, 1, ys, y, NULL);
    vgen_backend *bes[2] = {g_ref, g_cpu[0]};
    for (int i = 0; i < 2; i++) {
        vgen_err err;
        memset(y, 0, sizeof y);
        CHECK_EQ_INT(bes[i]->linear(bes[i], &x, &q, b, &yt, &err), VGEN_OK);
        CHECKF(y[0] == -1.5f && y[1] == 11.0f, "%s: y = [%g, %g]", bes[i]->name, y[0], y[1]);
    }
}

static void expect_shape_error(vgen_backend *be, const vgen_tensor *x, const vgen_qmatrix *q, vgen_tensor *y,
                               const char *needle) {
    vgen_err err;
    vgen_err_clear(&err);
    int rc = be->linear(be, x, q, NULL, y, &err);
    CHECKF(rc == VGEN_ERR_SHAPE, "%s: expected VGEN_ERR_SHAPE, got %d (%s)", be->name, rc, err.msg);
    CHECK_STR_CONTAINS(err.msg, needle);
}

static void test_shape_errors(void) {
    float wv[5 * 4] = {0}, xv[3 * 5] = {0}, yv[3 * 8] = {0};
    vgen_qmatrix q = {VGEN_WF_F32, 5, 4, wv, NULL, NULL}; /* W [5, 4]: K = 4, N = 5 */
    vgen_backend *bes[2] = {g_ref, g_cpu[0]};
    for (int i = 0; i < 2; i++) {
        vgen_backend *be = bes[i];
        vgen_tensor x, y;
        int64_t x35[2] = {3, 5}, x34[2] = {3, 4}, y35[2] = {3, 5}, y34[2] = {3, 4}, y25[2] = {2, 5};
        int64_t y135[3] = {1, 3, 5};
        vgen_tensor_view(&x, VGEN_DTYPE_F32, 2, x35, xv, NULL); /* K mismatch: 5 vs 4 */
        vgen_tensor_view(&y, VGEN_DTYPE_F32, 2, y35, yv, NULL);
        expect_shape_error(be, &x, &q, &y, "x [3, 5]");
        vgen_tensor_view(&x, VGEN_DTYPE_F32, 2, x34, xv, NULL);
        vgen_tensor_view(&y, VGEN_DTYPE_F32, 2, y34, yv, NULL); /* y innermost 4, N = 5 */
        expect_shape_error(be, &x, &q, &y, "y [3, 4]");
        vgen_tensor_view(&y, VGEN_DTYPE_F32, 2, y25, yv, NULL); /* leading dims 2 vs 3 */
        expect_shape_error(be, &x, &q, &y, "y [2, 5]");
        vgen_tensor_view(&y, VGEN_DTYPE_F32, 3, y135, yv, NULL); /* rank 3 vs 2 */
        expect_shape_error(be, &x, &q, &y, "W [5, 4]");
        vgen_tensor_view(&y, VGEN_DTYPE_I32, 2, y35, yv, NULL); /* dtype */
        expect_shape_error(be, &x, &q, &y, "i32");
        vgen_tensor_view(&y, VGEN_DTYPE_F32, 2, y35, yv, NULL);
        vgen_err err;
        CHECK_EQ_INT(be->linear(be, &x, &q, NULL, &y, &err), VGEN_OK); /* bias NULL is fine */
        int64_t x04[2] = {0, 4}, y05[2] = {0, 5};
        vgen_tensor_view(&x, VGEN_DTYPE_F32, 2, x04, xv, NULL); /* M = 0: nothing to do */
        vgen_tensor_view(&y, VGEN_DTYPE_F32, 2, y05, yv, NULL);
        CHECK_EQ_INT(be->linear(be, &x, &q, NULL, &y, &err), VGEN_OK);
        vgen_qmatrix bad = q;
        bad.format = VGEN_WF_INT8_ROW; /* a scaled format without scales */
        vgen_tensor_view(&x, VGEN_DTYPE_F32, 2, x34, xv, NULL);
        vgen_tensor_view(&y, VGEN_DTYPE_F32, 2, y35, yv, NULL);
        CHECK_EQ_INT(be->linear(be, &x, &bad, NULL, &y, &err), VGEN_ERR_INVALID_ARGUMENT);
        CHECK(be->supports(be, VGEN_OP_LINEAR, VGEN_WF_INT4_G64_ZP));
        CHECK(!be->supports(be, VGEN_OP_COUNT, VGEN_WF_F32));
        CHECK(be->supports(be, VGEN_OP_CONV3D, VGEN_WF_F32) == (be->conv3d != NULL)); /* other ops: pointer set */
    }
}

/* Repeated calls reuse the cached primitives; many distinct shapes keep the cache bounded and still work. */
static void test_primitive_cache(void) {
    qweights w;
    if (qweights_make(&w, VGEN_WF_INT8_ROW, 40, 24, 1.0f, 7)) {
        CHECK(!"quantize");
        return;
    }
    float xv[80 * 24], yv[80 * 40];
    for (int i = 0; i < 80 * 24; i++) xv[i] = (float)(i % 7) - 3.0f;
    vgen_err err;
    int64_t builds0 = -1;
    for (int64_t m = 1; m <= 80; m++) {
        vgen_tensor x, y;
        int64_t xs[2] = {m, 24}, ys[2] = {m, 40};
        vgen_tensor_view(&x, VGEN_DTYPE_F32, 2, xs, xv, NULL);
        vgen_tensor_view(&y, VGEN_DTYPE_F32, 2, ys, yv, NULL);
        CHECK_EQ_INT(g_cpu[0]->linear(g_cpu[0], &x, &w.q, NULL, &y, &err), VGEN_OK);
        if (m == 1) {
            builds0 = vgen_backend_cpu_primitive_builds(g_cpu[0]);
            CHECK_EQ_INT(g_cpu[0]->linear(g_cpu[0], &x, &w.q, NULL, &y, &err), VGEN_OK);
            CHECK_EQ_INT(vgen_backend_cpu_primitive_builds(g_cpu[0]), builds0);
        }
    }
    CHECK(vgen_backend_cpu_primitive_builds(g_cpu[0]) >= builds0 + 79);
    CHECK_EQ_INT(vgen_backend_cpu_primitive_builds(g_ref), -1);
    qweights_free(&w);
}

int main(void) {
    vgen_err err;
    vgen_err_clear(&err);
    if (vgen_threadpool_new(2, &g_pool, &err) || vgen_backend_ref_new(&g_ref, &err) ||
        vgen_backend_cpu_new(g_pool, &g_cpu[0], &err) || vgen_backend_cpu_new(g_pool, &g_cpu[1], &err) ||
        vgen_backend_cpu_set_tile_cols(g_cpu[1], 64) || vgen_backend_cpu_new(NULL, &g_cpu[2], &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    RUN(test_known_values);
    RUN(test_shape_errors);
    RUN(test_dequant_tiles_exact);
    RUN(test_dequant_all_codes);
    RUN(test_primitive_cache);
    RUN(test_parity_all_formats);
    for (int i = 0; i < N_CPU; i++) vgen_backend_free(&g_cpu[i]);
    vgen_backend_free(&g_ref);
    vgen_threadpool_free(&g_pool);
    return test_summary();
}

/* test_backend_ops.c - backend parity for every op after linear (in the manner of ggml's test-backend-ops).
 *
 * 1. Hand-computed cases check the reference itself (kernels/ref) against known values, and the CPU backend too.
 * 2. Parity: for each op, several shapes (odd ones included) and dtype combinations, the CPU backend (AVX-512 when
 *    the machine has it, on a thread pool), the CPU backend pinned to its portable C paths (serial), and the
 *    reference run on identical inputs; outputs are compared with per-op budgets (below), checked for NaN/Inf, and
 *    every output buffer is followed by guard bytes that must stay untouched.
 * 3. Shape and argument errors: each op rejects bad calls with VGEN_ERR_SHAPE / VGEN_ERR_INVALID_ARGUMENT and a
 *    message naming the op and the shapes, without touching the output.
 *
 * Budgets (f32 outputs; see docs/ops.md). rel = ||cpu - ref||_2 / ||ref||_2; elem = per-element bound
 * |cpu - ref| <= e_rel |ref| + e_abs rms(ref).
 *   binary, convert                    exact (one f32 operation / RNE rounding, the same as the reference)
 *   copy_strided                       exact (bytes moved; positions it does not address untouched)
 *   gated_add                          rel 1e-7 (x + g y: two f32 roundings against one)
 *   rope                               rel 1e-6 (x0 c - x1 s in f32: a few ulp, with cancellation)
 *   layer_norm, rms_norm, channel_rms  rel 2e-6 (statistics in double on the CPU too; the apply chain in f32)
 *   gelu_tanh, silu                    elem 1e-6 |ref| + 1e-9 absolute (vector exp within 2 ulp; in gelu's far
 *                                      negative tail y ~ x e^(2u) and f32 u alone costs |2u| 2^-24 relative)
 *   attention, f32 tiles               rel 1e-5 (f32 dot products and sums in another order, exp within 2 ulp)
 *   attention, bf16 tiles (q, k, v all bf16 on AVX512-BF16)
 *                                      rel 6e-3: probabilities are rounded to bf16 before p v (as FlashAttention
 *                                      does); each weight carries up to 2^-9 relative error
 *   conv3d                             rel 1e-5 (oneDNN f32 GEMM, or bf16 products exact with f32 sums, K <= 3456)
 * bf16 outputs: both sides round their own f32 value, so they may differ by one bf16 ulp where the f32 values
 * straddle a rounding boundary: add 2^-7 |ref| per element and 2^-8 to rel.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cpu/ops_cpu.h"
#include "numeric.h"
#include "ref/ops_ref.h"
#include "testutil.h"
#include "threadpool.h"

#if defined(__SANITIZE_ADDRESS__)
#define SMALL 1 /* ASan + UBSan: smaller shapes */
#else
#define SMALL 0
#endif

#define GUARD_BYTES 64
#define GUARD_BYTE 0xA5

static const vgen_dtype ACT[2] = {VGEN_DTYPE_F32, VGEN_DTYPE_BF16};

/* ---- the backends under test ---- */

typedef struct backends {
    vgen_threadpool *pool;
    vgen_backend *ref, *cpu, *portable;
} backends;

static backends g_be;

/* The CPU variants compared with the reference. */
#define N_VARIANTS 2
static vgen_backend *variant(int i) { return i == 0 ? g_be.cpu : g_be.portable; }
static const char *variant_name(int i) { return i == 0 ? "cpu" : "cpu-portable"; }

/* ---- random numbers ---- */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float rng_uniform(uint64_t *s, float lo, float hi) {
    return lo + (hi - lo) * (float)((double)(rng_next(s) >> 11) * 0x1.0p-53);
}

/* ---- test tensors: heap data followed by guard bytes ---- */

typedef struct tt {
    vgen_tensor t;
    size_t bytes;
} tt;

static void tt_new(tt *x, vgen_dtype dt, int nd, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    x->bytes = (size_t)n * vgen_dtype_size(dt);
    unsigned char *p = malloc(x->bytes + GUARD_BYTES);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(p, 0, x->bytes);
    memset(p + x->bytes, GUARD_BYTE, GUARD_BYTES);
    vgen_tensor_view(&x->t, dt, nd, shape, p, NULL);
}

static int64_t tt_n(const tt *x) { return vgen_tensor_numel(&x->t); }
static double tt_get(const tt *x, int64_t i) { return vgen_ops_get(x->t.data, x->t.dtype, i); }
static void tt_set(tt *x, int64_t i, float v) { vgen_ops_put(x->t.data, x->t.dtype, i, v); }

static int tt_guard_ok(const tt *x) {
    const unsigned char *g = (const unsigned char *)x->t.data + x->bytes;
    for (int i = 0; i < GUARD_BYTES; i++)
        if (g[i] != GUARD_BYTE) return 0;
    return 1;
}

static void tt_free(tt *x) {
    free(x->t.data);
    memset(x, 0, sizeof *x);
}

static void tt_rand(tt *x, uint64_t *rng, float lo, float hi) {
    for (int64_t i = 0; i < tt_n(x); i++) tt_set(x, i, rng_uniform(rng, lo, hi));
}

/* Raw copy (same dtype), guard included. */
static void tt_dup(tt *dst, const tt *src) {
    tt_new(dst, src->t.dtype, src->t.n_dims, src->t.shape);
    memcpy(dst->t.data, src->t.data, src->bytes);
}

static float *vec_rand(int64_t n, uint64_t *rng, float lo, float hi) {
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) exit(1);
    for (int64_t i = 0; i < n; i++) v[i] = rng_uniform(rng, lo, hi);
    return v;
}

/* ---- comparison ---- */

typedef struct budget {
    double rel;   /* relative L2 */
    double e_rel; /* per element, relative to |ref| */
    double e_abs; /* per element, relative to rms(ref) */
    double floor; /* per element, absolute */
} budget;

static budget for_output(budget b, vgen_dtype out) {
    if (out == VGEN_DTYPE_BF16) {
        b.rel += 0x1.0p-8;
        b.e_rel += 0x1.0p-7;
    }
    return b;
}

/* Compares got with want (same element count) under b; checks finiteness and got's guard. */
static void check_close(const char *what, const tt *got, const tt *want, budget b) {
    const int64_t n = tt_n(want);
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double w = tt_get(want, i);
        den += w * w;
    }
    const double rms = n ? sqrt(den / (double)n) : 0.0;
    int64_t bad = -1, nonfinite = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = tt_get(got, i), w = tt_get(want, i);
        if (!isfinite(g) && isfinite(w)) nonfinite++;
        if (!isfinite(w)) continue;
        num += (g - w) * (g - w);
        if (bad < 0 && !(fabs(g - w) <= b.e_rel * fabs(w) + b.e_abs * rms + b.floor)) bad = i;
    }
    const double rel = den > 0.0 ? sqrt(num / den) : sqrt(num);
    if (getenv("VGEN_TEST_VERBOSE")) printf("    %-100s rel %.3g\n", what, rel);
    CHECKF(nonfinite == 0, "%s: %lld non-finite outputs", what, (long long)nonfinite);
    CHECKF(rel <= b.rel, "%s: relative L2 error %.3g > budget %.3g", what, rel, b.rel);
    if (bad >= 0)
        CHECKF(0, "%s: element %lld: got %.9g, want %.9g (budget %.3g |want| + %.3g rms)", what, (long long)bad,
               tt_get(got, bad), tt_get(want, bad), b.e_rel, b.e_abs);
    CHECKF(tt_guard_ok(got), "%s: guard bytes after the output were overwritten", what);
}

static const char *dn(vgen_dtype t) { return vgen_dtype_name(t); }

/* ==================================================================================================== */
/* 1. hand-computed cases                                                                               */
/* ==================================================================================================== */

/* Runs fn on the reference and on both CPU variants. */
static void on_each_backend(void (*fn)(vgen_backend *be)) {
    fn(g_be.ref);
    fn(g_be.cpu);
    fn(g_be.portable);
}

static void exact_layer_norm_on(vgen_backend *be) {
    const int64_t shape[2] = {2, 4};
    tt x, y;
    tt_new(&x, VGEN_DTYPE_F32, 2, shape);
    tt_new(&y, VGEN_DTYPE_F32, 2, shape);
    const float vals[8] = {1, 2, 3, 4, 3.25f, 3.25f, 3.25f, 3.25f}; /* a ramp, and a constant row */
    for (int i = 0; i < 8; i++) tt_set(&x, i, vals[i]);
    const float w[4] = {1, 2, 1, 1}, b[4] = {0.5f, -1, 0, 2};
    CHECK_EQ_INT(be->layer_norm(be, &x.t, NULL, NULL, NULL, NULL, 0.0f, &y.t, NULL), VGEN_OK);
    const double s = 1.0 / sqrt(1.25); /* mean 2.5, biased variance 1.25 */
    for (int i = 0; i < 4; i++) CHECK_NEAR(tt_get(&y, i), (vals[i] - 2.5) * s, 2e-7);
    CHECK_EQ_INT(be->layer_norm(be, &x.t, NULL, NULL, NULL, NULL, 1e-6f, &y.t, NULL), VGEN_OK);
    for (int i = 4; i < 8; i++) CHECK(tt_get(&y, i) == 0.0); /* a constant row normalises to exactly 0 */
    CHECK_EQ_INT(be->layer_norm(be, &x.t, w, b, NULL, NULL, 1e-6f, &y.t, NULL), VGEN_OK);
    for (int i = 4; i < 8; i++) CHECK(tt_get(&y, i) == b[i - 4]); /* ... and then to exactly b */
    const float shift[4] = {1, 1, 1, 1}, scale[4] = {1, 0, -1, 0.5f};
    CHECK_EQ_INT(be->layer_norm(be, &x.t, NULL, NULL, shift, scale, 0.0f, &y.t, NULL), VGEN_OK);
    for (int i = 0; i < 4; i++) CHECK_NEAR(tt_get(&y, i), (vals[i] - 2.5) * s * (1 + scale[i]) + 1, 4e-7);
    tt_free(&x);
    tt_free(&y);
}

static void test_exact_layer_norm(void) { on_each_backend(exact_layer_norm_on); }

static void exact_rms_norms_on(vgen_backend *be) {
    const int64_t s2[2] = {1, 2}, c2[2] = {2, 1};
    tt x, y;
    tt_new(&x, VGEN_DTYPE_F32, 2, s2);
    tt_new(&y, VGEN_DTYPE_F32, 2, s2);
    tt_set(&x, 0, 3);
    tt_set(&x, 1, 4);
    const float w[2] = {1, -2};
    CHECK_EQ_INT(be->rms_norm(be, &x.t, w, 0.0f, &y.t, NULL), VGEN_OK); /* rms = sqrt(12.5) */
    CHECK_NEAR(tt_get(&y, 0), 3 / sqrt(12.5), 2e-7);
    CHECK_NEAR(tt_get(&y, 1), -8 / sqrt(12.5), 2e-7);
    tt_free(&x);
    tt_free(&y);
    /* channel-first: x [2, 1] = (3, 4), ||x|| = 5: y = x / 5 * sqrt(2) * gamma + bias */
    tt_new(&x, VGEN_DTYPE_F32, 2, c2);
    tt_new(&y, VGEN_DTYPE_F32, 2, c2);
    tt_set(&x, 0, 3);
    tt_set(&x, 1, 4);
    const float gamma[2] = {1, 0.5f}, bias[2] = {0, 1};
    CHECK_EQ_INT(be->channel_rms_norm(be, &x.t, gamma, bias, &y.t, NULL), VGEN_OK);
    CHECK_NEAR(tt_get(&y, 0), 0.6 * sqrt(2.0), 2e-7);
    CHECK_NEAR(tt_get(&y, 1), 0.4 * sqrt(2.0) + 1, 2e-7);
    /* an all-zero position: the norm is clamped to 1e-12, so y = bias */
    tt_set(&x, 0, 0);
    tt_set(&x, 1, 0);
    CHECK_EQ_INT(be->channel_rms_norm(be, &x.t, gamma, bias, &y.t, NULL), VGEN_OK);
    CHECK(tt_get(&y, 0) == 0.0 && tt_get(&y, 1) == 1.0);
    tt_free(&x);
    tt_free(&y);
}

static void test_exact_rms_norms(void) { on_each_backend(exact_rms_norms_on); }

static void exact_rope_on(vgen_backend *be) {
    const int64_t shape[3] = {2, 2, 4}; /* L = 2, H = 2, Dh = 4 */
    tt x;
    tt_new(&x, VGEN_DTYPE_F32, 3, shape);
    for (int i = 0; i < 16; i++) tt_set(&x, i, (float)(i + 1));
    /* token 0: angle 0 (identity); token 1: pair 0 by pi/2 (exact 0 and 1), pair 1 by pi */
    const float cs[4] = {1, 1, 0, -1}, sn[4] = {0, 0, 1, 0};
    CHECK_EQ_INT(be->rope(be, &x.t, cs, sn, NULL), VGEN_OK);
    for (int i = 0; i < 8; i++) CHECK(tt_get(&x, i) == i + 1);
    for (int h = 0; h < 2; h++) {
        const int b = 8 + 4 * h;
        CHECK(tt_get(&x, b) == -(b + 2) && tt_get(&x, b + 1) == b + 1);      /* (x0, x1) -> (-x1, x0) */
        CHECK(tt_get(&x, b + 2) == -(b + 3) && tt_get(&x, b + 3) == -(b + 4)); /* -> (-x0, -x1) */
    }
    tt_free(&x);
}

static void test_exact_rope(void) { on_each_backend(exact_rope_on); }

/* q [Lq, 1, 2], k/v [Lk, 1, 2] filled from arrays (rounded to dt); out [Lq, 1, 2] f32. */
static int run_small_attention(vgen_backend *be, vgen_dtype dt, int lq, int lk, const float *q, const float *k,
                               const float *v, const float *bias, float *out) {
    const int64_t qs[3] = {lq, 1, 2}, ks[3] = {lk, 1, 2}, bs[3] = {1, lq, lk};
    tt tq, tk, tv, to;
    tt_new(&tq, dt, 3, qs);
    tt_new(&tk, dt, 3, ks);
    tt_new(&tv, dt, 3, ks);
    tt_new(&to, VGEN_DTYPE_F32, 3, qs);
    for (int i = 0; i < 2 * lq; i++) tt_set(&tq, i, q[i]);
    for (int i = 0; i < 2 * lk; i++) tt_set(&tk, i, k[i]), tt_set(&tv, i, v[i]);
    vgen_tensor tb;
    vgen_tensor_view(&tb, VGEN_DTYPE_F32, 3, bs, (void *)(uintptr_t)bias, NULL);
    int rc = be->attention(be, &tq.t, &tk.t, &tv.t, 1.0f, bias ? &tb : NULL, &to.t, NULL);
    memcpy(out, to.t.data, to.bytes);
    CHECK(tt_guard_ok(&to));
    tt_free(&tq);
    tt_free(&tk);
    tt_free(&tv);
    tt_free(&to);
    return rc;
}

static void exact_attention_on(vgen_backend *be) {
    const vgen_dtype F = VGEN_DTYPE_F32;
    float out[6];
    /* one key: out = v whatever q */
    const float q1[4] = {3, -1, 0.5f, 2}, k1[2] = {1, 2}, v1[2] = {-7, 0.25f};
    CHECK_EQ_INT(run_small_attention(be, F, 2, 1, q1, k1, v1, NULL, out), VGEN_OK);
    CHECK(out[0] == -7 && out[1] == 0.25f && out[2] == -7 && out[3] == 0.25f);
    /* q = 0: equal weights, out = mean of v */
    const float q0[2] = {0, 0}, k3[6] = {1, 2, 3, 4, 5, 6}, v3[6] = {1, 10, 2, 20, 6, 60};
    CHECK_EQ_INT(run_small_attention(be, F, 1, 3, q0, k3, v3, NULL, out), VGEN_OK);
    CHECK_NEAR(out[0], 3.0, 1e-6);
    CHECK_NEAR(out[1], 30.0, 1e-5);
    /* two keys with scores 0 and ln 3: weights 1/4, 3/4 */
    const float qa[2] = {(float)log(3.0), 0}, ka[4] = {0, 0, 1, 0}, va[4] = {4, 0, 8, 1};
    CHECK_EQ_INT(run_small_attention(be, F, 1, 2, qa, ka, va, NULL, out), VGEN_OK);
    CHECK_NEAR(out[0], 7.0, 2e-6);
    CHECK_NEAR(out[1], 0.75, 2e-7);
    /* -inf bias masks a key: row 0 masks keys 1, 2 (out = v0), row 1 keys 0, 2 (out = v1), row 2 masks everything
     * (out = 0 by definition). The masked key 2 carries v = 3e38, so any weight leaking to it shows, in f32 and on
     * the bf16 tiles alike. */
    const float qm[6] = {5, 5, -3, 1, 0, 0}, vm[6] = {1, 10, 2, 20, 3e38f, -3e38f};
    const float bm[9] = {0, -INFINITY, -INFINITY, -INFINITY, 0.5f, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    /* no keys at all: out = 0, like a fully masked row */
    out[0] = out[1] = 1;
    CHECK_EQ_INT(run_small_attention(be, F, 1, 0, q1, k1, v1, NULL, out), VGEN_OK);
    CHECK(out[0] == 0 && out[1] == 0);
    for (int d = 0; d < 2; d++) {
        CHECK_EQ_INT(run_small_attention(be, ACT[d], 3, 3, qm, k3, vm, bm, out), VGEN_OK);
        CHECKF(out[0] == 1 && out[1] == 10 && out[2] == 2 && out[3] == 20 && out[4] == 0 && out[5] == 0,
               "%s masked keys (%s): %g %g %g %g %g %g", be->name, dn(ACT[d]), out[0], out[1], out[2], out[3], out[4],
               out[5]);
    }
}

static void test_exact_attention(void) { on_each_backend(exact_attention_on); }

static void exact_unary_on(vgen_backend *be) {
    /* gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), silu(x) = x / (1 + e^-x), evaluated in double */
    const float xs[6] = {0.0f, 1.0f, -1.0f, 2.0f, -3.0f, 10.0f};
    const double gelu[6] = {0.0, 0.8411919906082768, -0.15880800939172324, 1.954597694087775,
                            -0.0036373920817729943, 10.0};
    const double silu[6] = {0.0, 0.7310585786300049, -0.2689414213699951, 1.7615941559557646,
                            -0.14227761953270035, 9.999546021312975};
    const int64_t shape[1] = {6};
    tt x, y;
    tt_new(&x, VGEN_DTYPE_F32, 1, shape);
    tt_new(&y, VGEN_DTYPE_F32, 1, shape);
    for (int i = 0; i < 6; i++) tt_set(&x, i, xs[i]);
    CHECK_EQ_INT(be->unary(be, VGEN_UNARY_GELU_TANH, &x.t, &y.t, NULL), VGEN_OK);
    for (int i = 0; i < 6; i++) CHECK_NEAR(tt_get(&y, i), gelu[i], 1e-6 * fabs(gelu[i]) + 1e-12);
    CHECK(tt_get(&y, 0) == 0.0);
    CHECK_EQ_INT(be->unary(be, VGEN_UNARY_SILU, &x.t, &y.t, NULL), VGEN_OK);
    for (int i = 0; i < 6; i++) CHECK_NEAR(tt_get(&y, i), silu[i], 1e-6 * fabs(silu[i]) + 1e-12);
    CHECK(tt_get(&y, 0) == 0.0);
    tt_free(&x);
    tt_free(&y);
}

static void test_exact_unary(void) { on_each_backend(exact_unary_on); }

static void exact_binary_convert_on(vgen_backend *be) {
    const int64_t s23[2] = {2, 3}, s3[1] = {3};
    tt a, b, y;
    tt_new(&a, VGEN_DTYPE_F32, 2, s23);
    tt_new(&b, VGEN_DTYPE_F32, 1, s3);
    tt_new(&y, VGEN_DTYPE_F32, 2, s23);
    for (int i = 0; i < 6; i++) tt_set(&a, i, (float)i);
    for (int i = 0; i < 3; i++) tt_set(&b, i, (float)(10 * (i + 1)));
    CHECK_EQ_INT(be->binary(be, VGEN_BINARY_ADD, &a.t, &b.t, &y.t, NULL), VGEN_OK); /* row broadcast */
    CHECK(tt_get(&y, 0) == 10 && tt_get(&y, 2) == 32 && tt_get(&y, 4) == 24);
    CHECK_EQ_INT(be->binary(be, VGEN_BINARY_MUL, &a.t, &b.t, &y.t, NULL), VGEN_OK);
    CHECK(tt_get(&y, 1) == 20 && tt_get(&y, 5) == 150);
    const float gate[3] = {1, 0.5f, -2};
    CHECK_EQ_INT(be->gated_add(be, &y.t, gate, &a.t, NULL), VGEN_OK); /* y += gate * a */
    CHECK(tt_get(&y, 1) == 20.5 && tt_get(&y, 5) == 140);
    CHECK_EQ_INT(be->gated_add(be, &y.t, NULL, &a.t, NULL), VGEN_OK);
    CHECK(tt_get(&y, 1) == 21.5);
    tt_free(&a);
    tt_free(&b);
    tt_free(&y);
    /* convert: RNE ties, NaN, infinities, f16 */
    const int64_t s5[1] = {5};
    tt f, h, g;
    tt_new(&f, VGEN_DTYPE_F32, 1, s5);
    tt_new(&h, VGEN_DTYPE_BF16, 1, s5);
    tt_new(&g, VGEN_DTYPE_F16, 1, s5);
    const float cv[5] = {1.0f + 0x1.0p-8f, 1.0f + 3 * 0x1.0p-8f, NAN, -INFINITY, 65520.0f};
    for (int i = 0; i < 5; i++) tt_set(&f, i, cv[i]);
    CHECK_EQ_INT(be->convert(be, &f.t, &h.t, NULL), VGEN_OK);
    const uint16_t *hb = h.t.data;
    CHECK(hb[0] == 0x3f80 && hb[1] == 0x3f82 && hb[2] == 0x7fc0 && hb[3] == 0xff80);
    CHECK_EQ_INT(be->convert(be, &f.t, &g.t, NULL), VGEN_OK);
    CHECK(((const uint16_t *)g.t.data)[4] == 0x7c00); /* 65520 rounds to +inf in f16 */
    CHECK(tt_guard_ok(&h) && tt_guard_ok(&g));
    tt_free(&f);
    tt_free(&h);
    tt_free(&g);
}

static void test_exact_binary_convert(void) { on_each_backend(exact_binary_convert_on); }

static void exact_conv3d_on(vgen_backend *be) {
    /* 1x1x1: y[co, p] = sum_ci w[co, ci] x[ci, p] + b[co], a matmul */
    const int64_t xs[4] = {2, 1, 1, 3}, ws[5] = {2, 2, 1, 1, 1}, ys[4] = {2, 1, 1, 3};
    tt x, w, y;
    tt_new(&x, VGEN_DTYPE_F32, 4, xs);
    tt_new(&w, VGEN_DTYPE_F32, 5, ws);
    tt_new(&y, VGEN_DTYPE_F32, 4, ys);
    const float xv[6] = {1, 2, 3, 4, 5, 6}, wv[4] = {1, 10, -1, 0.5f}, bias[2] = {0.25f, 0};
    for (int i = 0; i < 6; i++) tt_set(&x, i, xv[i]);
    for (int i = 0; i < 4; i++) tt_set(&w, i, wv[i]);
    const vgen_conv3d_params p1 = {{0, 0}, {0, 0}, {0, 0}, 1, 1, 1};
    CHECK_EQ_INT(be->conv3d(be, &x.t, &w.t, bias, &p1, &y.t, NULL), VGEN_OK);
    const double want[6] = {41.25, 52.25, 63.25, 1, 0.5, 0};
    for (int i = 0; i < 6; i++) CHECK(tt_get(&y, i) == want[i]);
    tt_free(&x);
    tt_free(&w);
    tt_free(&y);
    /* 3x3x3 of ones, causal time padding {2, 0}, spatial {1, 1}, on x = 1 [1, 2, 3, 3]: each output counts its
     * in-range taps; frame 0 sees one input frame, frame 1 two. */
    const int64_t xs2[4] = {1, 2, 3, 3}, ws2[5] = {1, 1, 3, 3, 3}, ys2[4] = {1, 2, 3, 3};
    tt_new(&x, VGEN_DTYPE_F32, 4, xs2);
    tt_new(&w, VGEN_DTYPE_F32, 5, ws2);
    tt_new(&y, VGEN_DTYPE_F32, 4, ys2);
    for (int i = 0; i < 18; i++) tt_set(&x, i, 1);
    for (int i = 0; i < 27; i++) tt_set(&w, i, 1);
    const vgen_conv3d_params p3 = {{2, 0}, {1, 1}, {1, 1}, 1, 1, 1};
    CHECK_EQ_INT(be->conv3d(be, &x.t, &w.t, NULL, &p3, &y.t, NULL), VGEN_OK);
    const double plane[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    for (int i = 0; i < 9; i++) CHECK(tt_get(&y, i) == plane[i] && tt_get(&y, 9 + i) == 2 * plane[i]);
    CHECK(tt_guard_ok(&y));
    tt_free(&x);
    tt_free(&w);
    tt_free(&y);
}

static void test_exact_conv3d(void) { on_each_backend(exact_conv3d_on); }

/* ==================================================================================================== */
/* 2. parity                                                                                            */
/* ==================================================================================================== */

/* ---- norms ---- */

static void parity_layer_norm(int64_t m, int64_t d, vgen_dtype xdt, vgen_dtype ydt, int affine, int mod,
                              uint64_t seed) {
    const int64_t shape[2] = {m, d};
    tt x, want;
    tt_new(&x, xdt, 2, shape);
    tt_new(&want, ydt, 2, shape);
    tt_rand(&x, &seed, -3.0f, 5.0f);
    float *w = affine ? vec_rand(d, &seed, 0.5f, 1.5f) : NULL, *b = affine ? vec_rand(d, &seed, -1, 1) : NULL;
    float *sh = mod ? vec_rand(d, &seed, -1, 1) : NULL, *sc = mod ? vec_rand(d, &seed, -0.5f, 0.5f) : NULL;
    CHECK_EQ_INT(g_be.ref->layer_norm(g_be.ref, &x.t, w, b, sh, sc, 1e-6f, &want.t, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        vgen_backend *be = variant(v);
        tt got, xin;
        tt_new(&got, ydt, 2, shape);
        CHECK_EQ_INT(be->layer_norm(be, &x.t, w, b, sh, sc, 1e-6f, &got.t, NULL), VGEN_OK);
        char what[160];
        snprintf(what, sizeof what, "%s layer_norm [%lld, %lld] %s->%s affine %d mod %d", variant_name(v),
                 (long long)m, (long long)d, dn(xdt), dn(ydt), affine, mod);
        check_close(what, &got, &want, for_output((budget){2e-6, 2e-5, 2e-6, 0}, ydt));
        if (xdt == ydt) { /* in place */
            tt_dup(&xin, &x);
            CHECK_EQ_INT(be->layer_norm(be, &xin.t, w, b, sh, sc, 1e-6f, &xin.t, NULL), VGEN_OK);
            check_close(what, &xin, &want, for_output((budget){2e-6, 2e-5, 2e-6, 0}, ydt));
            tt_free(&xin);
        }
        tt_free(&got);
    }
    free(w), free(b), free(sh), free(sc);
    tt_free(&x);
    tt_free(&want);
}

static void parity_rms_norm(int64_t m, int64_t d, vgen_dtype xdt, vgen_dtype ydt, int affine, uint64_t seed) {
    const int64_t shape[2] = {m, d};
    tt x, want;
    tt_new(&x, xdt, 2, shape);
    tt_new(&want, ydt, 2, shape);
    tt_rand(&x, &seed, -2.0f, 2.0f);
    float *w = affine ? vec_rand(d, &seed, -1.5f, 1.5f) : NULL;
    CHECK_EQ_INT(g_be.ref->rms_norm(g_be.ref, &x.t, w, 1e-6f, &want.t, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        vgen_backend *be = variant(v);
        tt got;
        tt_new(&got, ydt, 2, shape);
        CHECK_EQ_INT(be->rms_norm(be, &x.t, w, 1e-6f, &got.t, NULL), VGEN_OK);
        char what[160];
        snprintf(what, sizeof what, "%s rms_norm [%lld, %lld] %s->%s affine %d", variant_name(v), (long long)m,
                 (long long)d, dn(xdt), dn(ydt), affine);
        check_close(what, &got, &want, for_output((budget){2e-6, 2e-5, 2e-6, 0}, ydt));
        tt_free(&got);
    }
    free(w);
    tt_free(&x);
    tt_free(&want);
}

static void parity_channel_rms(const int64_t *shape, int nd, vgen_dtype xdt, vgen_dtype ydt, int with_bias,
                               uint64_t seed) {
    tt x, want;
    tt_new(&x, xdt, nd, shape);
    tt_new(&want, ydt, nd, shape);
    tt_rand(&x, &seed, -2.0f, 2.0f);
    float *gamma = vec_rand(shape[0], &seed, 0.5f, 1.5f), *bias = with_bias ? vec_rand(shape[0], &seed, -1, 1) : NULL;
    CHECK_EQ_INT(g_be.ref->channel_rms_norm(g_be.ref, &x.t, gamma, bias, &want.t, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        vgen_backend *be = variant(v);
        tt got;
        tt_new(&got, ydt, nd, shape);
        CHECK_EQ_INT(be->channel_rms_norm(be, &x.t, gamma, bias, &got.t, NULL), VGEN_OK);
        char what[160], sh[64];
        snprintf(what, sizeof what, "%s channel_rms_norm %s %s->%s bias %d", variant_name(v),
                 vgen_shape_str(shape, nd, sh, sizeof sh), dn(xdt), dn(ydt), with_bias);
        check_close(what, &got, &want, for_output((budget){2e-6, 2e-5, 2e-6, 0}, ydt));
        if (xdt == ydt) {
            tt xin;
            tt_dup(&xin, &x);
            CHECK_EQ_INT(be->channel_rms_norm(be, &xin.t, gamma, bias, &xin.t, NULL), VGEN_OK);
            check_close(what, &xin, &want, for_output((budget){2e-6, 2e-5, 2e-6, 0}, ydt));
            tt_free(&xin);
        }
        tt_free(&got);
    }
    free(gamma);
    free(bias);
    tt_free(&x);
    tt_free(&want);
}

static void test_parity_norms(void) {
    const int64_t rows[][2] = {{1, 1}, {3, 7}, {5, 1536}, {17, 65}, {2, 5120}, {40, 128}};
    for (size_t s = 0; s < sizeof rows / sizeof rows[0]; s++)
        for (int xi = 0; xi < 2; xi++)
            for (int yi = 0; yi < 2; yi++) {
                parity_layer_norm(rows[s][0], rows[s][1], ACT[xi], ACT[yi], (int)(s & 1), (int)(s % 3 == 0), 11 + s);
                parity_layer_norm(rows[s][0], rows[s][1], ACT[xi], ACT[yi], 1, 1, 21 + s);
                parity_rms_norm(rows[s][0], rows[s][1], ACT[xi], ACT[yi], (int)(s & 1), 31 + s);
            }
    const int64_t ch[][4] = {{96, 2, 3, 5}, {4, 1, 1, 1}, {16, 1, 17, 19}, {384, 1, 4, 5}, {3, 1, 1, 300}};
    for (size_t s = 0; s < sizeof ch / sizeof ch[0]; s++)
        for (int xi = 0; xi < 2; xi++)
            for (int yi = 0; yi < 2; yi++) parity_channel_rms(ch[s], 4, ACT[xi], ACT[yi], (int)(s & 1), 41 + s);
    const int64_t ch2[2] = {8, 1000};
    parity_channel_rms(ch2, 2, VGEN_DTYPE_F32, VGEN_DTYPE_F32, 1, 99);
}

/* ---- rope ---- */

static void parity_rope(int64_t l, int64_t h, int64_t dh, vgen_dtype dt, uint64_t seed) {
    const int64_t shape[3] = {l, h, dh};
    tt x, want;
    tt_new(&x, dt, 3, shape);
    tt_rand(&x, &seed, -2, 2);
    float *cs = malloc((size_t)(l * dh / 2 + 1) * sizeof *cs), *sn = malloc((size_t)(l * dh / 2 + 1) * sizeof *sn);
    if (!cs || !sn) exit(1);
    for (int64_t i = 0; i < l * dh / 2; i++) {
        double a = rng_uniform(&seed, -40.0f, 40.0f);
        cs[i] = (float)cos(a);
        sn[i] = (float)sin(a);
    }
    tt_dup(&want, &x);
    CHECK_EQ_INT(g_be.ref->rope(g_be.ref, &want.t, cs, sn, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        tt got;
        tt_dup(&got, &x);
        CHECK_EQ_INT(variant(v)->rope(variant(v), &got.t, cs, sn, NULL), VGEN_OK);
        char what[128];
        snprintf(what, sizeof what, "%s rope [%lld, %lld, %lld] %s", variant_name(v), (long long)l, (long long)h,
                 (long long)dh, dn(dt));
        check_close(what, &got, &want, for_output((budget){1e-6, 1e-6, 1e-6, 0}, dt));
        tt_free(&got);
    }
    free(cs);
    free(sn);
    tt_free(&x);
    tt_free(&want);
}

static void test_parity_rope(void) {
    const int64_t shapes[][3] = {{1, 1, 2}, {5, 3, 128}, {7, 2, 64}, {33, 12, 128}, {3, 1, 1026}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int d = 0; d < 2; d++) parity_rope(shapes[s][0], shapes[s][1], shapes[s][2], ACT[d], 50 + s);
}

/* ---- attention ---- */

typedef struct attn_case {
    int64_t lq, lk, h, dh;
    int bias;               /* 0 none, 1 random, 2 random with -inf masked keys (and one fully masked row) */
    vgen_dtype q, k, v, out;
    int64_t bq, bk, group;  /* CPU tile sizes and heads per group (0 = default) */
} attn_case;

static void attn_fill_bias(tt *b, const attn_case *c, uint64_t *seed) {
    for (int64_t h = 0; h < c->h; h++)
        for (int64_t i = 0; i < c->lq; i++)
            for (int64_t j = 0; j < c->lk; j++) {
                float v = rng_uniform(seed, -4.0f, 4.0f);
                if (c->bias == 2 && (j % 3 == 1 || (i == 1 && h == 0) || j >= c->lk - 2)) v = -INFINITY;
                if (c->bias == 2 && j == 0 && !(i == 1 && h == 0)) v = 0.0f; /* keep one key per live row */
                tt_set(b, (h * c->lq + i) * c->lk + j, v);
            }
}

static void parity_attention(const attn_case *c, uint64_t seed) {
    const int64_t qs[3] = {c->lq, c->h, c->dh}, ks[3] = {c->lk, c->h, c->dh}, bs[3] = {c->h, c->lq, c->lk};
    tt q, k, v, b, want;
    tt_new(&q, c->q, 3, qs);
    tt_new(&k, c->k, 3, ks);
    tt_new(&v, c->v, 3, ks);
    tt_new(&b, VGEN_DTYPE_F32, 3, bs);
    tt_new(&want, c->out, 3, qs);
    tt_rand(&q, &seed, -1.5f, 1.5f);
    tt_rand(&k, &seed, -1.5f, 1.5f);
    tt_rand(&v, &seed, -2.0f, 2.0f);
    if (c->bias) attn_fill_bias(&b, c, &seed);
    const float scale = 1.0f / sqrtf((float)c->dh) * 2.0f; /* scores of a few units: peaked but not one-hot */
    const vgen_tensor *bias = c->bias ? &b.t : NULL;
    CHECK_EQ_INT(g_be.ref->attention(g_be.ref, &q.t, &k.t, &v.t, scale, bias, &want.t, NULL), VGEN_OK);
    const int bf16_tiles = c->q == VGEN_DTYPE_BF16 && c->k == VGEN_DTYPE_BF16 && c->v == VGEN_DTYPE_BF16 &&
                           vgen_cpu_simd_level() >= VGEN_SIMD_AVX512_BF16;
    for (int vi = 0; vi < N_VARIANTS; vi++) {
        tt got;
        tt_new(&got, c->out, 3, qs);
        const vgen_cpu_attn_opts o = {c->bq, c->bk, c->group, vi == 0 ? VGEN_SIMD_AVX512_BF16 : VGEN_SIMD_NONE};
        CHECK_EQ_INT(vgen_cpu_attention_tiled(variant(vi), &q.t, &k.t, &v.t, scale, bias, &got.t, &o, NULL), VGEN_OK);
        char what[200];
        snprintf(what, sizeof what, "%s attention Lq %lld Lk %lld H %lld Dh %lld bias %d q/k/v/out %s/%s/%s/%s "
                 "tiles %lld/%lld/%lld", variant_name(vi), (long long)c->lq, (long long)c->lk, (long long)c->h,
                 (long long)c->dh, c->bias, dn(c->q), dn(c->k), dn(c->v), dn(c->out), (long long)c->bq,
                 (long long)c->bk, (long long)c->group);
        budget bud = (vi == 0 && bf16_tiles) ? (budget){6e-3, 2e-2, 2e-2, 0} : (budget){1e-5, 1e-4, 1e-5, 0};
        check_close(what, &got, &want, for_output(bud, c->out));
        tt_free(&got);
    }
    tt_free(&q);
    tt_free(&k);
    tt_free(&v);
    tt_free(&b);
    tt_free(&want);
}

static void test_parity_attention(void) {
    const vgen_dtype F = VGEN_DTYPE_F32, B = VGEN_DTYPE_BF16;
    const attn_case shapes[] = {
        {1, 1, 1, 32, 0, F, F, F, F, 0, 0, 0},
        {7, 5, 2, 64, 0, F, F, F, F, 0, 0, 0},
        {130, 200, 3, 128, 0, F, F, F, F, 0, 0, 2},   /* several query and key tiles, ragged ends; head groups 2 + 1 */
        {64, SMALL ? 192 : 512, 2, 128, 0, F, F, F, F, 0, 0, 0}, /* cross-attention: Lk = 512 context */
        {50, 70, 2, 40, 0, F, F, F, F, 0, 0, 1},      /* Dh not a multiple of 16; one head per group */
        {33, 17, 1, 384, 0, F, F, F, F, 0, 0, 0},     /* the VAE's single head of 384 */
        {37, 37, 4, 64, 1, F, F, F, F, 0, 0, 3},      /* UMT5-style bias */
        {37, 41, 4, 64, 2, F, F, F, F, 0, 0, 0},      /* bias with -inf masked keys and a fully masked row */
        {97, 150, 2, 96, 2, F, F, F, F, 8, 64, 1},    /* small tiles: many tasks and key tiles */
        {20, 300, 1, 16, 0, F, F, F, F, 4, 64, 0},
        {5, 3, 3, 33, 0, F, F, F, F, 0, 0, 0},        /* odd Dh */
    };
    const vgen_dtype combos[][4] = {{F, F, F, F}, {B, B, B, B}, {B, B, B, F}, {B, F, B, B}, {F, B, F, F}};
    uint64_t seed = 600;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < sizeof combos / sizeof combos[0]; d++) {
            if (SMALL && d > 2 && s > 3) continue;
            attn_case c = shapes[s];
            c.q = combos[d][0], c.k = combos[d][1], c.v = combos[d][2], c.out = combos[d][3];
            parity_attention(&c, seed++);
        }
}

/* ---- unary, binary, gated_add, convert ---- */

static void parity_unary(int64_t n, vgen_unary_op op, vgen_dtype xdt, vgen_dtype ydt, uint64_t seed) {
    const int64_t shape[1] = {n};
    tt x, want;
    tt_new(&x, xdt, 1, shape);
    tt_new(&want, ydt, 1, shape);
    tt_rand(&x, &seed, -12.0f, 12.0f);
    if (n > 3) tt_set(&x, 0, 0.0f), tt_set(&x, 1, -100.0f), tt_set(&x, 2, 100.0f);
    CHECK_EQ_INT(g_be.ref->unary(g_be.ref, op, &x.t, &want.t, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        tt got;
        tt_new(&got, ydt, 1, shape);
        CHECK_EQ_INT(variant(v)->unary(variant(v), op, &x.t, &got.t, NULL), VGEN_OK);
        char what[128];
        snprintf(what, sizeof what, "%s %s [%lld] %s->%s", variant_name(v), op == VGEN_UNARY_SILU ? "silu" : "gelu_tanh",
                 (long long)n, dn(xdt), dn(ydt));
        /* 1e-6 relative where |y| >= 1e-3; below that (gelu's tail, x < -3.4) 1e-9 absolute: there y ~ x e^(2u)
         * has relative condition |2u| >> 1, so u rounded to f32 alone costs |2u| 2^-24 > 1e-6 */
        const budget bud = for_output((budget){1e-6, 1e-6, 0, 1e-9}, ydt);
        check_close(what, &got, &want, bud);
        if (xdt == ydt) {
            tt xin;
            tt_dup(&xin, &x);
            CHECK_EQ_INT(variant(v)->unary(variant(v), op, &xin.t, &xin.t, NULL), VGEN_OK);
            check_close(what, &xin, &want, bud);
            tt_free(&xin);
        }
        tt_free(&got);
    }
    tt_free(&x);
    tt_free(&want);
}

static void parity_binary(int64_t m, int64_t d, vgen_binary_op op, int bcast, vgen_dtype adt, vgen_dtype bdt,
                          vgen_dtype ydt, uint64_t seed) {
    const int64_t shape[2] = {m, d}, bshape[1] = {d};
    tt a, b, want;
    tt_new(&a, adt, 2, shape);
    if (bcast) tt_new(&b, bdt, 1, bshape);
    else tt_new(&b, bdt, 2, shape);
    tt_new(&want, ydt, 2, shape);
    tt_rand(&a, &seed, -3, 3);
    tt_rand(&b, &seed, -3, 3);
    CHECK_EQ_INT(g_be.ref->binary(g_be.ref, op, &a.t, &b.t, &want.t, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        tt got;
        tt_new(&got, ydt, 2, shape);
        CHECK_EQ_INT(variant(v)->binary(variant(v), op, &a.t, &b.t, &got.t, NULL), VGEN_OK);
        char what[128];
        snprintf(what, sizeof what, "%s binary %s [%lld, %lld] bcast %d %s,%s->%s", variant_name(v),
                 op == VGEN_BINARY_ADD ? "add" : "mul", (long long)m, (long long)d, bcast, dn(adt), dn(bdt), dn(ydt));
        check_close(what, &got, &want, (budget){0, 0, 0, 0});
        if (adt == ydt) {
            tt ain;
            tt_dup(&ain, &a);
            CHECK_EQ_INT(variant(v)->binary(variant(v), op, &ain.t, &b.t, &ain.t, NULL), VGEN_OK);
            check_close(what, &ain, &want, (budget){0, 0, 0, 0});
            tt_free(&ain);
        }
        tt_free(&got);
    }
    tt_free(&a);
    tt_free(&b);
    tt_free(&want);
}

static void parity_gated_add(int64_t m, int64_t d, int with_gate, vgen_dtype xdt, vgen_dtype ydt, uint64_t seed) {
    const int64_t shape[2] = {m, d};
    tt x, y, want;
    tt_new(&x, xdt, 2, shape);
    tt_new(&y, ydt, 2, shape);
    tt_rand(&x, &seed, -3, 3);
    tt_rand(&y, &seed, -3, 3);
    float *gate = with_gate ? vec_rand(d, &seed, -2, 2) : NULL;
    tt_dup(&want, &x);
    CHECK_EQ_INT(g_be.ref->gated_add(g_be.ref, &want.t, gate, &y.t, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        tt got;
        tt_dup(&got, &x);
        CHECK_EQ_INT(variant(v)->gated_add(variant(v), &got.t, gate, &y.t, NULL), VGEN_OK);
        char what[128];
        snprintf(what, sizeof what, "%s gated_add [%lld, %lld] gate %d %s += %s", variant_name(v), (long long)m,
                 (long long)d, with_gate, dn(xdt), dn(ydt));
        check_close(what, &got, &want, for_output((budget){1e-7, 1.2e-7, 1e-7, 0}, xdt));
        tt_free(&got);
    }
    free(gate);
    tt_free(&x);
    tt_free(&y);
    tt_free(&want);
}

/* Values that exercise the conversions: ties, NaN, infinities, f16 overflow and subnormals, bf16 subnormals. */
static float convert_value(int64_t i, uint64_t *seed) {
    static const float special[] = {0.0f, -0.0f, 1.0f + 0x1.0p-8f, 1.0f + 3 * 0x1.0p-8f, NAN, INFINITY, -INFINITY,
                                    65504.0f, 65520.0f, 1e-5f, 3e-8f, 1e-39f, -1e-39f, 3.4e38f};
    const int64_t n_special = (int64_t)(sizeof special / sizeof special[0]);
    if (i < n_special) return special[i];
    return rng_uniform(seed, -1000, 1000) * (i % 7 == 0 ? 1e-6f : 1.0f);
}

/* Bitwise comparison, NaN payloads included (both sides use numeric.h's canonical NaNs). */
static void check_bits(const char *what, const tt *got, const tt *want) {
    CHECKF(memcmp(got->t.data, want->t.data, want->bytes) == 0, "%s: not bit-identical to the reference", what);
    CHECKF(tt_guard_ok(got), "%s: guard bytes overwritten", what);
}

static void parity_convert(int64_t n, vgen_dtype xdt, vgen_dtype ydt, uint64_t seed) {
    const int64_t shape[1] = {n};
    tt x, want;
    tt_new(&x, xdt, 1, shape);
    tt_new(&want, ydt, 1, shape);
    for (int64_t i = 0; i < n; i++) tt_set(&x, i, convert_value(i, &seed));
    CHECK_EQ_INT(g_be.ref->convert(g_be.ref, &x.t, &want.t, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        tt got;
        tt_new(&got, ydt, 1, shape);
        CHECK_EQ_INT(variant(v)->convert(variant(v), &x.t, &got.t, NULL), VGEN_OK);
        char what[128];
        snprintf(what, sizeof what, "%s convert [%lld] %s->%s", variant_name(v), (long long)n, dn(xdt), dn(ydt));
        check_bits(what, &got, &want);
        tt_free(&got);
        /* in place: one buffer big enough for both, x at its start */
        tt buf;
        const int64_t big[1] = {n * 4 / (int64_t)vgen_dtype_size(VGEN_DTYPE_F16)};
        tt_new(&buf, VGEN_DTYPE_F16, 1, big);
        memcpy(buf.t.data, x.t.data, x.bytes);
        vgen_tensor xi = x.t, yi = want.t;
        xi.data = yi.data = buf.t.data;
        CHECK_EQ_INT(variant(v)->convert(variant(v), &xi, &yi, NULL), VGEN_OK);
        CHECKF(memcmp(buf.t.data, want.t.data, want.bytes) == 0, "%s in place: differs", what);
        CHECK(tt_guard_ok(&buf));
        tt_free(&buf);
    }
    tt_free(&x);
    tt_free(&want);
}

static void test_parity_elementwise(void) {
    const int64_t ns[] = {1, 17, 3000, SMALL ? 40000 : 70001};
    const vgen_dtype all[3] = {VGEN_DTYPE_F32, VGEN_DTYPE_BF16, VGEN_DTYPE_F16};
    uint64_t seed = 900;
    for (size_t s = 0; s < sizeof ns / sizeof ns[0]; s++) {
        for (int xi = 0; xi < 2; xi++)
            for (int yi = 0; yi < 2; yi++) {
                parity_unary(ns[s], VGEN_UNARY_GELU_TANH, ACT[xi], ACT[yi], seed++);
                parity_unary(ns[s], VGEN_UNARY_SILU, ACT[xi], ACT[yi], seed++);
            }
        for (int xi = 0; xi < 3; xi++)
            for (int yi = 0; yi < 3; yi++) parity_convert(ns[s], all[xi], all[yi], seed++);
    }
    const int64_t md[][2] = {{1, 1}, {5, 7}, {3, 1536}, {2, 40000}, {70, 33}};
    for (size_t s = 0; s < sizeof md / sizeof md[0]; s++)
        for (int ai = 0; ai < 2; ai++)
            for (int bi = 0; bi < 2; bi++)
                for (int yi = 0; yi < 2; yi++) {
                    parity_binary(md[s][0], md[s][1], VGEN_BINARY_ADD, (int)(s & 1), ACT[ai], ACT[bi], ACT[yi], seed++);
                    parity_binary(md[s][0], md[s][1], VGEN_BINARY_MUL, (int)!(s & 1), ACT[ai], ACT[bi], ACT[yi],
                                  seed++);
                    if (yi == 0) parity_gated_add(md[s][0], md[s][1], bi, ACT[ai], ACT[bi], seed++);
                }
}

/* ---- conv3d ---- */

typedef struct conv_case {
    int64_t cin, f, h, w, cout, kt, kh, kw;
    vgen_conv3d_params p;
    size_t col_bytes; /* CPU im2col budget (0 = default) */
} conv_case;

static void parity_conv3d(const conv_case *c, vgen_dtype xdt, vgen_dtype wdt, vgen_dtype ydt, int with_bias,
                          uint64_t seed) {
    const int64_t xs[4] = {c->cin, c->f, c->h, c->w}, ws[5] = {c->cout, c->cin, c->kt, c->kh, c->kw};
    const int64_t fo = (c->f + c->p.pad_t[0] + c->p.pad_t[1] - c->kt) / c->p.stride_t + 1;
    const int64_t ho = (c->h + c->p.pad_h[0] + c->p.pad_h[1] - c->kh) / c->p.stride_h + 1;
    const int64_t wo = (c->w + c->p.pad_w[0] + c->p.pad_w[1] - c->kw) / c->p.stride_w + 1;
    const int64_t ys[4] = {c->cout, fo, ho, wo};
    tt x, w, want;
    tt_new(&x, xdt, 4, xs);
    tt_new(&w, wdt, 5, ws);
    tt_new(&want, ydt, 4, ys);
    tt_rand(&x, &seed, -1, 1);
    tt_rand(&w, &seed, -0.5f, 0.5f);
    float *bias = with_bias ? vec_rand(c->cout, &seed, -1, 1) : NULL;
    CHECK_EQ_INT(g_be.ref->conv3d(g_be.ref, &x.t, &w.t, bias, &c->p, &want.t, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        tt got;
        tt_new(&got, ydt, 4, ys);
        const int simd = v == 0 ? VGEN_SIMD_AVX512_BF16 : VGEN_SIMD_NONE;
        vgen_err err = {0};
        CHECK_EQ_INT(vgen_cpu_conv3d_tiled(variant(v), &x.t, &w.t, bias, &c->p, &got.t, c->col_bytes, simd, &err),
                     VGEN_OK);
        char what[256], sx[64], sw[64];
        snprintf(what, sizeof what, "%s conv3d x %s w %s pads t%d/%d h%d/%d w%d/%d strides %d/%d/%d %s,%s->%s bias %d "
                 "col %zu", variant_name(v), vgen_shape_str(xs, 4, sx, sizeof sx), vgen_shape_str(ws, 5, sw, sizeof sw),
                 c->p.pad_t[0], c->p.pad_t[1], c->p.pad_h[0], c->p.pad_h[1], c->p.pad_w[0], c->p.pad_w[1],
                 c->p.stride_t, c->p.stride_h, c->p.stride_w, dn(xdt), dn(wdt), dn(ydt), with_bias, c->col_bytes);
        if (err.code) fprintf(stderr, "  %s\n", err.msg);
        check_close(what, &got, &want, for_output((budget){1e-5, 1e-4, 1e-5, 0}, ydt));
        tt_free(&got);
    }
    free(bias);
    tt_free(&x);
    tt_free(&w);
    tt_free(&want);
}

static void test_parity_conv3d(void) {
    const conv_case cases[] = {
        /* VAE 3x3x3, causal time padding {2, 0}, spatial {1, 1}; default and tiny im2col budgets */
        {5, 3, 7, 9, 6, 3, 3, 3, {{2, 0}, {1, 1}, {1, 1}, 1, 1, 1}, 0},
        {5, 3, 7, 9, 6, 3, 3, 3, {{2, 0}, {1, 1}, {1, 1}, 1, 1, 1}, 5 * 27 * 4 * 10}, /* 10 positions per tile */
        {8, 2, 6, 5, 4, 3, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1, 1, 1}, 0},
        /* 1x1x1 (x read in place unless dtypes differ), and in tiles */
        {8, 2, 5, 6, 4, 1, 1, 1, {{0, 0}, {0, 0}, {0, 0}, 1, 1, 1}, 0},
        {8, 2, 5, 6, 4, 1, 1, 1, {{0, 0}, {0, 0}, {0, 0}, 1, 1, 1}, 8 * 4 * 7},
        /* (3, 1, 1) time conv of upsample3d */
        {4, 4, 5, 3, 8, 3, 1, 1, {{2, 0}, {0, 0}, {0, 0}, 1, 1, 1}, 0},
        /* 2-D 3x3 (kt = 1), odd sizes */
        {6, 1, 11, 13, 5, 1, 3, 3, {{0, 0}, {1, 1}, {1, 1}, 1, 1, 1}, 0},
        {6, 1, 11, 13, 5, 1, 3, 3, {{0, 0}, {1, 1}, {1, 1}, 1, 1, 1}, 6 * 9 * 4 * 7},
        /* DiT patch embedding: kernel = stride = (1, 2, 2) */
        {16, 2, 8, 10, 12, 1, 2, 2, {{0, 0}, {0, 0}, {0, 0}, 1, 2, 2}, 0},
        /* strided with asymmetric padding, odd sizes */
        {3, 5, 9, 7, 4, 3, 3, 3, {{1, 0}, {0, 1}, {1, 0}, 2, 2, 2}, 0},
        {3, 5, 9, 7, 4, 3, 3, 3, {{1, 0}, {0, 1}, {1, 0}, 1, 2, 3}, 3 * 27 * 4 * 3},
        /* a wide K (Cin 128 x 27 = 3456): several channel chunks (slab) and K chunks (im2col) */
        {128, 2, 5, 4, 8, 3, 3, 3, {{2, 0}, {1, 1}, {1, 1}, 1, 1, 1}, 0},
        /* output rows wider than a task's 128 positions: segments 128 + 128 + 44, and 128 + 2 */
        {4, 1, 3, 300, 5, 1, 3, 3, {{0, 0}, {1, 1}, {1, 1}, 1, 1, 1}, 0},
        {3, 2, 3, 130, 6, 3, 3, 3, {{2, 0}, {1, 1}, {1, 1}, 1, 1, 1}, 0},
        /* strided W (im2col path) with several K chunks and position tiles */
        {48, 3, 20, 30, 8, 3, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1, 2, 2}, 0},
    };
    const vgen_dtype F = VGEN_DTYPE_F32, B = VGEN_DTYPE_BF16;
    const vgen_dtype combos[][3] = {{F, F, F}, {B, B, B}, {B, B, F}, {F, B, F}, {B, F, B}};
    uint64_t seed = 1200;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++)
        for (size_t d = 0; d < sizeof combos / sizeof combos[0]; d++) {
            if (SMALL && d > 1 && s % 2) continue;
            parity_conv3d(&cases[s], combos[d][0], combos[d][1], combos[d][2], (int)((s + d) & 1), seed++);
        }
}

/* ==================================================================================================== */
/* 3. errors                                                                                            */
/* ==================================================================================================== */

/* rc must be `code`, the message must name the op and (for shape errors) a shape. */
static void expect_error(const char *what, int rc, const vgen_err *err, int code, const char *op) {
    CHECKF(rc == code, "%s: rc %d, want %d", what, rc, code);
    CHECKF(strstr(err->msg, op) != NULL, "%s: message \"%s\" should name %s", what, err->msg, op);
    if (code == VGEN_ERR_SHAPE) CHECKF(strchr(err->msg, '[') != NULL, "%s: message \"%s\" has no shape", what, err->msg);
}

static void errors_on(vgen_backend *be) {
    vgen_err err;
    const int64_t s23[2] = {2, 3}, s32[2] = {3, 2}, s4[1] = {4}, l3[3] = {4, 2, 8}, l3b[3] = {4, 3, 8},
                  odd[3] = {4, 2, 7}, x4[4] = {2, 3, 4, 4}, w5[5] = {3, 2, 3, 3, 3}, w5b[5] = {3, 5, 3, 3, 3},
                  y4[4] = {3, 1, 1, 1}, y4b[4] = {3, 1, 2, 1};
    tt a, b, c, i32, q, k, kb, qo, x, w, wb, y, yb;
    tt_new(&a, VGEN_DTYPE_F32, 2, s23);
    tt_new(&b, VGEN_DTYPE_F32, 2, s32);
    tt_new(&c, VGEN_DTYPE_F32, 1, s4);
    tt_new(&i32, VGEN_DTYPE_I32, 2, s23);
    tt_new(&q, VGEN_DTYPE_F32, 3, l3);
    tt_new(&k, VGEN_DTYPE_F32, 3, l3);
    tt_new(&kb, VGEN_DTYPE_F32, 3, l3b);
    tt_new(&qo, VGEN_DTYPE_F32, 3, odd);
    tt_new(&x, VGEN_DTYPE_F32, 4, x4);
    tt_new(&w, VGEN_DTYPE_F32, 5, w5);
    tt_new(&wb, VGEN_DTYPE_F32, 5, w5b);
    tt_new(&y, VGEN_DTYPE_F32, 4, y4);
    tt_new(&yb, VGEN_DTYPE_F32, 4, y4b);
    float par[16] = {0};
    const vgen_conv3d_params p = {{0, 0}, {0, 0}, {0, 0}, 1, 2, 2}, pbad = {{0, 0}, {-1, 0}, {0, 0}, 1, 1, 1};
    char what[64];
    snprintf(what, sizeof what, "%s errors", be->name);

    expect_error(what, be->layer_norm(be, &a.t, NULL, NULL, NULL, NULL, 1e-6f, &b.t, &err), &err, VGEN_ERR_SHAPE,
                 "layer_norm");
    expect_error(what, be->rms_norm(be, &i32.t, NULL, 1e-6f, &i32.t, &err), &err, VGEN_ERR_SHAPE, "rms_norm");
    expect_error(what, be->rms_norm(be, NULL, NULL, 1e-6f, &a.t, &err), &err, VGEN_ERR_INVALID_ARGUMENT, "rms_norm");
    expect_error(what, be->channel_rms_norm(be, &a.t, NULL, NULL, &a.t, &err), &err, VGEN_ERR_INVALID_ARGUMENT,
                 "channel_rms_norm");
    expect_error(what, be->channel_rms_norm(be, &a.t, par, NULL, &b.t, &err), &err, VGEN_ERR_SHAPE,
                 "channel_rms_norm");
    expect_error(what, be->rope(be, &qo.t, par, par, &err), &err, VGEN_ERR_SHAPE, "rope");
    expect_error(what, be->rope(be, &a.t, par, par, &err), &err, VGEN_ERR_SHAPE, "rope");
    expect_error(what, be->attention(be, &q.t, &kb.t, &kb.t, 1.0f, NULL, &qo.t, &err), &err, VGEN_ERR_SHAPE,
                 "attention");
    expect_error(what, be->attention(be, &q.t, &kb.t, &kb.t, 1.0f, NULL, &q.t, &err), &err, VGEN_ERR_SHAPE,
                 "attention"); /* heads differ */
    expect_error(what, be->attention(be, &q.t, &k.t, &k.t, 1.0f, &a.t, &qo.t, &err), &err, VGEN_ERR_SHAPE,
                 "attention"); /* bias shape (out checked first is fine: both are shape errors) */
    expect_error(what, be->attention(be, &q.t, &k.t, &k.t, 1.0f, &a.t, &k.t, &err), &err, VGEN_ERR_SHAPE,
                 "attention");
    expect_error(what, be->attention(be, &q.t, &k.t, &k.t, 1.0f, NULL, &q.t, &err), &err, VGEN_ERR_INVALID_ARGUMENT,
                 "attention"); /* out aliases q */
    expect_error(what, be->unary(be, VGEN_UNARY_COUNT, &a.t, &a.t, &err), &err, VGEN_ERR_INVALID_ARGUMENT, "unary");
    expect_error(what, be->unary(be, VGEN_UNARY_SILU, &a.t, &b.t, &err), &err, VGEN_ERR_SHAPE, "unary");
    expect_error(what, be->binary(be, VGEN_BINARY_ADD, &a.t, &c.t, &a.t, &err), &err, VGEN_ERR_SHAPE, "binary");
    expect_error(what, be->binary(be, VGEN_BINARY_MUL, &a.t, &b.t, &a.t, &err), &err, VGEN_ERR_SHAPE, "binary");
    expect_error(what, be->gated_add(be, &a.t, par, &b.t, &err), &err, VGEN_ERR_SHAPE, "gated_add");
    expect_error(what, be->gated_add(be, &a.t, par, &a.t, &err), &err, VGEN_ERR_INVALID_ARGUMENT, "gated_add");
    expect_error(what, be->convert(be, &a.t, &c.t, &err), &err, VGEN_ERR_SHAPE, "convert");
    expect_error(what, be->convert(be, &a.t, &i32.t, &err), &err, VGEN_ERR_SHAPE, "convert");
    expect_error(what, be->conv3d(be, &x.t, &wb.t, NULL, &p, &y.t, &err), &err, VGEN_ERR_SHAPE, "conv3d");
    expect_error(what, be->conv3d(be, &x.t, &w.t, NULL, &p, &yb.t, &err), &err, VGEN_ERR_SHAPE, "conv3d");
    expect_error(what, be->conv3d(be, &x.t, &w.t, NULL, &pbad, &y.t, &err), &err, VGEN_ERR_SHAPE, "conv3d");
    expect_error(what, be->conv3d(be, &x.t, &w.t, NULL, NULL, &y.t, &err), &err, VGEN_ERR_INVALID_ARGUMENT, "conv3d");
    expect_error(what, be->conv3d(be, &x.t, &w.t, NULL, &p, &x.t, &err), &err, VGEN_ERR_SHAPE, "conv3d");
    /* the valid call works, and the failed ones left every buffer's guard intact */
    CHECK_EQ_INT(be->conv3d(be, &x.t, &w.t, NULL, &p, &y.t, &err), VGEN_OK);
    tt *all[] = {&a, &b, &c, &i32, &q, &k, &kb, &qo, &x, &w, &wb, &y, &yb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK(tt_guard_ok(all[i]));
        tt_free(all[i]);
    }
}

static void test_errors(void) {
    errors_on(g_be.ref);
    errors_on(g_be.cpu);
    errors_on(g_be.portable);
}

/* Empty tensors are accepted and do nothing; installing twice changes nothing. */
static void empty_on(vgen_backend *be) {
    const int64_t s0[2] = {0, 5}, q0[3] = {0, 2, 8}, k1[3] = {3, 2, 8};
    tt a, q, k, o;
    tt_new(&a, VGEN_DTYPE_F32, 2, s0);
    tt_new(&q, VGEN_DTYPE_F32, 3, q0);
    tt_new(&k, VGEN_DTYPE_F32, 3, k1);
    tt_new(&o, VGEN_DTYPE_F32, 3, q0);
    CHECK_EQ_INT(be->layer_norm(be, &a.t, NULL, NULL, NULL, NULL, 1e-6f, &a.t, NULL), VGEN_OK);
    CHECK_EQ_INT(be->unary(be, VGEN_UNARY_SILU, &a.t, &a.t, NULL), VGEN_OK);
    CHECK_EQ_INT(be->attention(be, &q.t, &k.t, &k.t, 1.0f, NULL, &o.t, NULL), VGEN_OK);
    CHECK(tt_guard_ok(&a) && tt_guard_ok(&o));
    tt_free(&a);
    tt_free(&q);
    tt_free(&k);
    tt_free(&o);
}

/* ---- copy_strided ---- */

typedef struct copy_case {
    int n;
    int64_t shape[VGEN_COPY_MAX_DIMS], ss[VGEN_COPY_MAX_DIMS], ds[VGEN_COPY_MAX_DIMS];
    size_t es;
    const char *what;
} copy_case;

/* Elements from the pointer to the last one the strides address (0 for an empty copy). */
static int64_t copy_span(const int64_t *st, const int64_t *shape, int n) {
    int64_t last = 0;
    for (int k = 0; k < n; k++) {
        if (shape[k] == 0) return 0;
        last += (shape[k] - 1) * st[k];
    }
    return last + 1;
}

/* Random source bytes; destination prefilled with a pattern (positions not addressed must keep it) and guarded. */
static void parity_copy(const copy_case *c, uint64_t seed) {
    const size_t sb = (size_t)copy_span(c->ss, c->shape, c->n) * c->es;
    const size_t db = (size_t)copy_span(c->ds, c->shape, c->n) * c->es;
    unsigned char *src = malloc(sb + 1), *want = malloc(db + GUARD_BYTES), *got = malloc(db + GUARD_BYTES);
    if (!src || !want || !got) {
        free(src), free(want), free(got);
        CHECK(0);
        return;
    }
    for (size_t i = 0; i < sb; i++) src[i] = (unsigned char)(rng_next(&seed) >> 24);
    memset(want, 0x5A, db + GUARD_BYTES);
    CHECK_EQ_INT(g_be.ref->copy_strided(g_be.ref, src, c->ss, want, c->ds, c->shape, c->n, c->es, NULL), VGEN_OK);
    for (int v = 0; v < N_VARIANTS; v++) {
        memset(got, 0x5A, db + GUARD_BYTES);
        CHECK_EQ_INT(variant(v)->copy_strided(variant(v), src, c->ss, got, c->ds, c->shape, c->n, c->es, NULL),
                     VGEN_OK);
        CHECKF(!memcmp(got, want, db + GUARD_BYTES), "%s copy_strided %s (elem %zu): differs from the reference",
               variant_name(v), c->what, c->es);
    }
    free(src), free(want), free(got);
}

static void test_parity_copy(void) {
    const int64_t big = SMALL ? 40 : 400;
    const copy_case cases[] = {
        {2, {3, 40}, {100, 1}, {40, 1}, 4, "frame slice [C, nt HW]"},
        {4, {2, 3, 2, 12}, {72, 24, 12, 1}, {12, 60, 24, 1}, 4, "upsample3d interleave"},
        {5, {4, 5, 2, 7, 2}, {35, 7, 0, 1, 0}, {140, 28, 14, 2, 1}, 4, "nearest x2"},
        {2, {67, 45}, {1, 67}, {45, 1}, 4, "transpose 45 x 67"},
        {2, {big, 300}, {1, big}, {300, 1}, 4, "transpose (threads, tiles)"},
        {2, {16, big * 100}, {big * 100 + 3, 1}, {big * 100, 1}, 4, "long rows (threads, memcpy)"},
        {2, {5, 33}, {40, 1}, {33, 1}, 2, "bf16 rows"},
        {2, {37, 29}, {1, 37}, {29, 1}, 1, "byte transpose"},
        {3, {3, 11, 9}, {1, 3, 33}, {99, 9, 1}, 8, "8-byte permute"},
        {1, {100}, {3}, {1}, 4, "gather every third"},
        {3, {1, 1, 1}, {5, 5, 5}, {7, 7, 7}, 4, "one element"},
        {3, {2, 0, 3}, {3, 3, 1}, {3, 3, 1}, 4, "empty"},
        {5, {2, 1, 3, 1, 4}, {24, 12, 4, 4, 1}, {12, 12, 4, 4, 1}, 4, "size-1 dims merged"},
    };
    uint64_t seed = 900;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) parity_copy(&cases[i], seed++);
}

/* nearest x2 of [[1, 2], [3, 4]], by hand. */
static void exact_copy_on(vgen_backend *be) {
    const float x[4] = {1, 2, 3, 4}, want[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    float y[17];
    y[16] = -7;
    const int64_t shape[4] = {2, 2, 2, 2}, ss[4] = {2, 0, 1, 0}, ds[4] = {8, 4, 2, 1};
    CHECK_EQ_INT(be->copy_strided(be, x, ss, y, ds, shape, 4, sizeof(float), NULL), VGEN_OK);
    CHECK(!memcmp(y, want, sizeof want) && y[16] == -7);
}

static void test_exact_copy(void) { on_each_backend(exact_copy_on); }

static void copy_errors_on(vgen_backend *be) {
    vgen_err err;
    float buf[64] = {0};
    const int64_t s[6] = {2, 2, 2, 2, 2, 2}, one[6] = {1, 1, 1, 1, 1, 1}, neg[2] = {-1, 1}, st2[2] = {2, 1};
    char what[64];
    snprintf(what, sizeof what, "%s copy errors", be->name);
    CHECKF(be->copy_strided(be, buf, one, buf + 32, one, s, 0, 4, &err) == VGEN_ERR_SHAPE, "%s: rank 0", what);
    CHECKF(be->copy_strided(be, buf, one, buf + 32, one, s, 6, 4, &err) == VGEN_ERR_SHAPE, "%s: rank 6", what);
    CHECK_STR_CONTAINS(err.msg, "copy_strided");
    expect_error(what, be->copy_strided(be, buf, one, buf + 32, one, s, 2, 3, &err), &err, VGEN_ERR_INVALID_ARGUMENT,
                 "copy_strided");
    expect_error(what, be->copy_strided(be, buf, neg, buf + 32, st2, s, 2, 4, &err), &err, VGEN_ERR_SHAPE,
                 "copy_strided");
    expect_error(what, be->copy_strided(be, buf, st2, buf + 2, st2, s, 2, 4, &err), &err, VGEN_ERR_INVALID_ARGUMENT,
                 "copy_strided"); /* overlapping ranges */
    expect_error(what, be->copy_strided(be, NULL, st2, buf, st2, s, 2, 4, &err), &err, VGEN_ERR_INVALID_ARGUMENT,
                 "copy_strided");
    expect_error(what, be->copy_strided(be, buf, st2, buf + 32, st2, NULL, 2, 4, &err), &err,
                 VGEN_ERR_INVALID_ARGUMENT, "copy_strided");
}

static void test_copy_errors(void) {
    copy_errors_on(g_be.ref);
    copy_errors_on(g_be.cpu);
    copy_errors_on(g_be.portable);
}

static void test_empty_and_reinstall(void) {
    vgen_cpu_ops_install(g_be.cpu);
    vgen_ref_ops_install(g_be.ref);
    on_each_backend(empty_on);
    test_exact_attention(); /* still the same ops */
}

int main(void) {
    vgen_err err = {0};
    if (vgen_threadpool_new(3, &g_be.pool, &err) || vgen_backend_ref_new(&g_be.ref, &err) ||
        vgen_backend_cpu_new(g_be.pool, &g_be.cpu, &err) || vgen_backend_cpu_new(NULL, &g_be.portable, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    vgen_ref_ops_install(g_be.ref);
    vgen_cpu_ops_install(g_be.cpu);
    vgen_cpu_ops_install_portable(g_be.portable);
    printf("cpu SIMD level %d (0 none, 1 AVX-512, 2 AVX-512 + BF16)%s\n", vgen_cpu_simd_level(),
           SMALL ? ", sanitizer shapes" : "");
    RUN(test_exact_layer_norm);
    RUN(test_exact_rms_norms);
    RUN(test_exact_rope);
    RUN(test_exact_attention);
    RUN(test_exact_unary);
    RUN(test_exact_binary_convert);
    RUN(test_exact_conv3d);
    RUN(test_parity_norms);
    RUN(test_parity_rope);
    RUN(test_parity_attention);
    RUN(test_parity_elementwise);
    RUN(test_parity_conv3d);
    RUN(test_errors);
    RUN(test_exact_copy);
    RUN(test_parity_copy);
    RUN(test_copy_errors);
    RUN(test_empty_and_reinstall);
    vgen_backend_free(&g_be.cpu);
    vgen_backend_free(&g_be.portable);
    vgen_backend_free(&g_be.ref);
    vgen_threadpool_free(&g_be.pool);
    return test_summary();
}

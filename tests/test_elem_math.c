/* test_elem_math.c - core/elem_math.h (the per-element math of every backend, CUDA included) against independent
 * formulas evaluated in double, over a sweep of values: both signs, every binade from the subnormals to FLT_MAX,
 * zeros of both signs, infinities and NaN.
 *
 * Tolerances (u = 2^-24, the unit roundoff of f32):
 *   gelu_tanh     |got - want| <= (8 + 8 |2u_x|) u |want| + 4e-37, u_x = sqrt(2/pi)(x + 0.044715 x^3): the f32
 *                 argument of exp carries a few ulp, which exp turns into |2u_x| times as much relative error;
 *                 4e-37 absolute where exp overflows and the result is -0 (the true value is below 3e-37).
 *   silu          6 u |want| + 4e-37 (exp of an exact argument, within 2 ulp; then an add and a divide).
 *   rope pair     2.01 u (|x0 c| + |x1 s|) per output, + 2^-148 (two rounded products and a rounded sum; the
 *                 bound is absolute because the difference may cancel).
 *   norm_rstd     3 u |want| (a rounded add, a sqrt, a divide).
 *   layer_norm_apply, rms_norm_apply, channel_rms_apply, gated_add1
 *                 a running error bound: each f32 operation adds u |its result| to the propagated bounds of its
 *                 operands (first-order analysis, computed beside the double value), times 1.01, + 2^-148.
 *   channel_rms_scale  3 u |want| (sqrt, max, divide); NaN in, NaN out.
 *   elem load/store    exact: numeric.h's conversions round to nearest even.
 * Special values must match exactly: the same infinity, NaN for NaN, and -0 where the formula gives -0.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "elem_math.h"
#include "testutil.h"

#define U 0x1.0p-24
#define FLOOR 0x1.0p-148

/* ---- the sweep of test values ---- */

#define MAX_VALUES 4096

/* Fills v with specials and +-m 2^k for every binade k in [-149, 127] and a few mantissas m; returns the count. */
static int sweep(float *v) {
    static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX,
                                     0x1.0p-149f, -0x1.0p-149f, 1.0f, -1.0f, 0.5f, -3.0f, 10.0f, -10.0f, -88.7f,
                                     -89.0f, 88.0f, -10.1f, -10.2f, 1e-7f, -1e-7f};
    static const float mant[] = {1.0f, 1.2345678f, 1.5f, 1.75f, 1.9999999f};
    int n = 0;
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) v[n++] = specials[i];
    for (int k = -149; k <= 127; k++)
        for (size_t m = 0; m < sizeof mant / sizeof mant[0]; m++) {
            const float x = ldexpf(mant[m], k);
            if (!isfinite(x) || x == 0.0f) continue;
            v[n++] = x;
            v[n++] = -x;
        }
    /* a dense stretch where the activations bend */
    for (int i = -400; i <= 400; i++) v[n++] = (float)i * 0.03125f + 0.001f;
    return n;
}

/* got equals want for special values (same infinity, both NaN); else |got - want| <= tol. */
static int close_to(float got, double want, double tol) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return (double)got == want;
    if (isnan(got) || isinf(got)) return 0;
    return fabs((double)got - want) <= tol;
}

/* ---- independent formulas in double ---- */

static double gelu_d(double x, double *u_out) {
    const double u = sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
    *u_out = u;
    if (isnan(u)) return NAN;
    if (u >= 0.0) return 0.5 * x * (1.0 + tanh(u));
    /* 1 + tanh(u) = 2 e^{2u} / (1 + e^{2u}): no cancellation for negative u */
    const double e = exp(2.0 * u);
    return x * e / (1.0 + e);
}

static double silu_d(double x) {
    if (x >= 0.0) return x / (1.0 + exp(-x));
    const double e = exp(x);
    return isinf(x) ? NAN : x * e / (1.0 + e); /* -inf * 0 is NaN, as the f32 formula gives */
}

/* A double value with a first-order bound on the error of the f32 evaluation of the same expression. */
typedef struct ev {
    double v, e;
} ev;

static ev ev_in(float x) { return (ev){x, 0.0}; }
static ev ev_mul(ev a, ev b) {
    const double r = a.v * b.v;
    return (ev){r, a.e * fabs(b.v) + b.e * fabs(a.v) + a.e * b.e + U * fabs(r)};
}
static ev ev_add(ev a, ev b) {
    const double r = a.v + b.v;
    return (ev){r, a.e + b.e + U * fabs(r)};
}
static ev ev_sub(ev a, ev b) { return ev_add(a, (ev){-b.v, b.e}); }

static void check_ev(const char *what, float got, ev want, float x) {
    CHECKF(close_to(got, want.v, 1.01 * want.e + FLOOR), "%s(%.9g): got %.9g, want %.17g (bound %.3g)", what,
           (double)x, (double)got, want.v, want.e);
}

/* ---- tests ---- */

static void test_gelu_tanh(void) {
    float v[MAX_VALUES];
    const int n = sweep(v);
    for (int i = 0; i < n; i++) {
        double u;
        const double want = gelu_d(v[i], &u);
        const float got = vgen_gelu_tanh(v[i]);
        const double tol = (8.0 + 8.0 * fabs(2.0 * u)) * U * fabs(want) + 4e-37;
        CHECKF(close_to(got, want, tol), "gelu_tanh(%.9g): got %.9g, want %.17g", (double)v[i], (double)got, want);
    }
    CHECK(vgen_gelu_tanh(0.0f) == 0.0f && !signbit(vgen_gelu_tanh(0.0f)));
    CHECK(vgen_gelu_tanh(-0.0f) == 0.0f && signbit(vgen_gelu_tanh(-0.0f)));
    CHECK(vgen_gelu_tanh(INFINITY) == INFINITY);
    CHECK(isnan(vgen_gelu_tanh(-INFINITY)) && isnan(vgen_gelu_tanh(NAN)));
    CHECK(vgen_gelu_tanh(1e30f) == 1e30f);
    CHECK(vgen_gelu_tanh(-1e30f) == 0.0f);
}

static void test_silu(void) {
    float v[MAX_VALUES];
    const int n = sweep(v);
    for (int i = 0; i < n; i++) {
        const double want = silu_d(v[i]);
        const float got = vgen_silu(v[i]);
        CHECKF(close_to(got, want, 6.0 * U * fabs(want) + 4e-37), "silu(%.9g): got %.9g, want %.17g", (double)v[i],
               (double)got, want);
    }
    CHECK(vgen_silu(-0.0f) == 0.0f && signbit(vgen_silu(-0.0f)));
    CHECK(vgen_silu(INFINITY) == INFINITY);
    CHECK(isnan(vgen_silu(-INFINITY)) && isnan(vgen_silu(NAN)));
    CHECK(vgen_silu(1e30f) == 1e30f);
}

static void test_rope_pair(void) {
    float v[MAX_VALUES];
    const int n = sweep(v);
    /* angles around the circle, the exact axes included */
    for (int a = 0; a < 24; a++) {
        const double th = a * (M_PI / 12.0) + (a % 5) * 0.01;
        const float c = (float)cos(th), s = (float)sin(th);
        for (int i = 0; i < n; i++) {
            const float x0 = v[i], x1 = v[(i * 7 + a) % n];
            if (!isfinite(x0) || !isfinite(x1) || fabsf(x0) > 1e38f || fabsf(x1) > 1e38f) continue;
            float o0, o1;
            vgen_rope_pair(x0, x1, c, s, &o0, &o1);
            const double w0 = (double)x0 * c - (double)x1 * s, w1 = (double)x0 * s + (double)x1 * c;
            const double mag = fabs((double)x0 * c) + fabs((double)x1 * s), mag1 = fabs((double)x0 * s) +
                                                                                    fabs((double)x1 * c);
            CHECKF(close_to(o0, w0, 2.01 * U * mag + FLOOR) && close_to(o1, w1, 2.01 * U * mag1 + FLOOR),
                   "rope(%.9g, %.9g; %.9g, %.9g): got %.9g %.9g, want %.17g %.17g", (double)x0, (double)x1,
                   (double)c, (double)s, (double)o0, (double)o1, w0, w1);
        }
    }
    /* the in-place use of the CPU backend: outputs over the inputs */
    float p[2] = {3.0f, -4.0f};
    vgen_rope_pair(p[0], p[1], 0.0f, 1.0f, &p[0], &p[1]);
    CHECK(p[0] == 4.0f && p[1] == 3.0f);
}

static void test_norm_rstd(void) {
    static const float eps[] = {1e-6f, 1e-5f, 0.0f};
    float v[MAX_VALUES];
    const int n = sweep(v);
    for (size_t e = 0; e < sizeof eps / sizeof eps[0]; e++)
        for (int i = 0; i < n; i++) {
            if (!(v[i] >= 0.0f) || isinf(v[i])) continue; /* variances are finite and >= 0 */
            const float sum = v[i] + eps[e];               /* f32 add: may round, accounted below */
            const double want = 1.0 / sqrt((double)v[i] + (double)eps[e]);
            const float got = vgen_norm_rstd(v[i], eps[e]);
            if (sum == 0.0f) {
                CHECK(got == INFINITY);
                continue;
            }
            CHECKF(close_to(got, want, 3.0 * U * fabs(want)), "norm_rstd(%.9g, %g): got %.9g, want %.17g",
                   (double)v[i], (double)eps[e], (double)got, want);
        }
}

/* Random-ish but deterministic operands around the magnitudes the norms see. */
static float pick(uint32_t *s, float scale) {
    *s = *s * 1664525u + 1013904223u;
    return ((float)(*s >> 8) * 0x1.0p-24f * 2.0f - 1.0f) * scale;
}

static void test_layer_and_rms_apply(void) {
    float v[MAX_VALUES];
    const int n = sweep(v);
    uint32_t seed = 12345;
    for (int i = 0; i < n; i++) {
        const float x = v[i];
        if (!isfinite(x) || fabsf(x) > 1e30f) continue;
        const float mean = pick(&seed, 4.0f), rstd = fabsf(pick(&seed, 8.0f)) + 1e-3f, w = pick(&seed, 2.0f),
                    b = pick(&seed, 1.0f), sc = pick(&seed, 1.0f), sh = pick(&seed, 1.0f);
        ev r = ev_mul(ev_sub(ev_in(x), ev_in(mean)), ev_in(rstd));
        r = ev_add(ev_mul(r, ev_in(w)), ev_in(b));
        r = ev_add(ev_mul(r, ev_add(ev_in(1.0f), ev_in(sc))), ev_in(sh));
        check_ev("layer_norm_apply", vgen_layer_norm_apply(x, mean, rstd, w, b, sc, sh), r, x);
        /* neutral values leave the normalised value alone */
        const float plain = vgen_layer_norm_apply(x, mean, rstd, 1.0f, 0.0f, 0.0f, 0.0f);
        CHECK(plain == (x - mean) * rstd);
        check_ev("rms_norm_apply", vgen_rms_norm_apply(x, rstd, w), ev_mul(ev_mul(ev_in(x), ev_in(rstd)), ev_in(w)),
                 x);
    }
    CHECK(isnan(vgen_layer_norm_apply(NAN, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f)));
}

static void test_channel_rms(void) {
    float v[MAX_VALUES];
    const int n = sweep(v);
    const float root_c = sqrtf(96.0f);
    for (int i = 0; i < n; i++) {
        const float ss = v[i];
        if (!(ss >= 0.0f)) continue;
        const double nrm = fmax(sqrt((double)ss), (double)1e-12f); /* the floor is the f32 constant 1e-12f */
        const double want = (double)root_c / nrm;
        const float got = vgen_channel_rms_scale(ss, root_c);
        CHECKF(close_to(got, want, 3.0 * U * want), "channel_rms_scale(%.9g): got %.9g, want %.17g", (double)ss,
               (double)got, want);
    }
    CHECK(isnan(vgen_channel_rms_scale(NAN, root_c)));      /* a NaN position stays visible */
    CHECK(vgen_channel_rms_scale(0.0f, root_c) == root_c / 1e-12f);
    CHECK(vgen_channel_rms_scale(INFINITY, root_c) == 0.0f);
    uint32_t seed = 777;
    for (int i = 0; i < n; i++) {
        const float x = v[i];
        if (!isfinite(x) || fabsf(x) > 1e30f) continue;
        const float f = fabsf(pick(&seed, 16.0f)), g = pick(&seed, 2.0f), b = pick(&seed, 0.5f);
        const ev want = ev_add(ev_mul(ev_mul(ev_in(x), ev_in(f)), ev_in(g)), ev_in(b));
        check_ev("channel_rms_apply", vgen_channel_rms_apply(x, f, g, b), want, x);
    }
}

static void test_gated_add(void) {
    float v[MAX_VALUES];
    const int n = sweep(v);
    uint32_t seed = 99;
    for (int i = 0; i < n; i++) {
        const float x = v[i], y = v[(i * 13 + 5) % n];
        if (!isfinite(x) || !isfinite(y) || fabsf(x) > 1e37f || fabsf(y) > 1e37f) continue;
        const float g = pick(&seed, 3.0f);
        check_ev("gated_add1", vgen_gated_add1(x, g, y), ev_add(ev_in(x), ev_mul(ev_in(g), ev_in(y))), x);
        CHECK(vgen_gated_add1(x, 1.0f, y) == x + y); /* no gate: exactly x + y */
    }
    CHECK(isnan(vgen_gated_add1(INFINITY, 1.0f, -INFINITY)));
}

static void test_elem_access(void) {
    uint16_t h[4];
    float f[4];
    const float vals[4] = {1.0f + 0x1.0p-8f, 1.0f + 3 * 0x1.0p-8f, -2.5f, 65520.0f};
    for (int i = 0; i < 4; i++) {
        vgen_elem_store(f, VGEN_DTYPE_F32, i, vals[i]);
        CHECK(vgen_elem_load(f, VGEN_DTYPE_F32, i) == vals[i]);
    }
    for (int i = 0; i < 4; i++) vgen_elem_store(h, VGEN_DTYPE_BF16, i, vals[i]);
    CHECK(h[0] == vgen_f32_to_bf16(vals[0]) && vgen_elem_load(h, VGEN_DTYPE_BF16, 0) == 1.0f); /* tie to even */
    CHECK(vgen_elem_load(h, VGEN_DTYPE_BF16, 1) == 1.0f + 4 * 0x1.0p-8f);                     /* tie up to even */
    CHECK(vgen_elem_load(h, VGEN_DTYPE_BF16, 2) == -2.5f);
    for (int i = 0; i < 4; i++) vgen_elem_store(h, VGEN_DTYPE_F16, i, vals[i]);
    CHECK(vgen_elem_load(h, VGEN_DTYPE_F16, 2) == -2.5f);
    CHECK(vgen_elem_load(h, VGEN_DTYPE_F16, 3) == INFINITY); /* 65520 rounds to f16 infinity */
    CHECK(h[0] == vgen_f32_to_f16(vals[0]));
}

int main(void) {
    RUN(test_gelu_tanh);
    RUN(test_silu);
    RUN(test_rope_pair);
    RUN(test_norm_rstd);
    RUN(test_layer_and_rms_apply);
    RUN(test_channel_rms);
    RUN(test_gated_add);
    RUN(test_elem_access);
    return test_summary();
}

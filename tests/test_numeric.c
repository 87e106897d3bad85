/* test_numeric.c - core/numeric.h: float32 <-> bf16 / f16 / fp8 e4m3fn, checked against independent formulas
 * written here (ldexp decoders, and a slow reference rounder: scale by a power of two in double, nearbyint,
 * scale back), exhaustively where the domain is small and on a few million pseudo-random floats otherwise.
 *
 * e4m3fn out-of-range rule (torch.float8_e4m3fn, c10::detail::fp8e4m3fn_from_fp32_value): the raw cast does not
 * saturate. Values round to nearest even as if the exponent were unbounded; a result above 448 becomes NaN. So
 * [448, 464] -> 448 (464 is the tie between 448 and the would-be 480, and 448's code 0x7E is even),
 * (464, 480) -> NaN (0x7F), >= 480, Inf and NaN -> NaN. This follows from c10's algorithm as mirrored in
 * numeric.h; a fixture generated with real torch should confirm it (see tools/reference). */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "numeric.h"
#include "common/rng.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------------------- */


/* A random float: even draws are any bit pattern; odd draws are +-(1 + m 2^-23) 2^e with e in [emin, emax]
 * (float subnormals when e < -126). */
static float random_float(rng *r, int i, int emin, int emax) {
    uint64_t u = rng_next(r);
    if (i % 2 == 0) return vgen_f32_from_bits((uint32_t)u);
    int e = emin + (int)((u >> 32) % (uint64_t)(emax - emin + 1));
    float x = ldexpf(1.0f + (float)(u & 0x7fffffu) * 0x1p-23f, e);
    return (u >> 31) & 1 ? -x : x;
}

/* x rounded to nearest even with `mant` fraction bits, minimum normal exponent emin (below it the quantum stays
 * 2^(emin - mant): subnormals) and an unbounded exponent above. Exact in double for every float x. */
static double ref_round(float x, int mant, int emin) {
    if (x == 0.0f || !isfinite(x)) return x;
    int e;
    frexp(fabs((double)x), &e); /* |x| = f * 2^e, f in [0.5, 1): floor(log2 |x|) = e - 1 */
    int exp = e - 1 < emin ? emin : e - 1;
    double quantum = ldexp(1.0, exp - mant);
    return copysign(nearbyint(fabs((double)x) / quantum) * quantum, (double)x);
}

/* ---- e4m3fn ---------------------------------------------------------------------------------------------- */

/* Independent decode: sign, 4-bit exponent (bias 7), 3-bit mantissa, subnormals m * 2^-9, NaN only at S.1111.111. */
static double e4m3_ref(int c) {
    int s = c >> 7, e = (c >> 3) & 15, m = c & 7;
    if (e == 15 && m == 7) return NAN;
    double v = e == 0 ? ldexp(m, -9) : ldexp(8 + m, e - 10);
    return s ? -v : v;
}

/* Reference encode: the code of the unbounded-exponent RNE result, NaN (0x7F | sign) above 448.
 * values: e4m3_ref(0 .. 0x7E). */
static uint8_t e4m3_ref_encode(float x, const double values[0x7F]) {
    uint8_t sign = signbit(x) ? 0x80 : 0;
    if (isnan(x)) return sign | 0x7F;
    double v = fabs(ref_round(x, 3, -6));
    if (v > 448.0) return sign | 0x7F;
    for (int c = 0; c < 0x7F; c++)
        if (values[c] == v) return (uint8_t)(sign | c);
    return 0xEE; /* unreachable: every rounded value <= 448 is a code */
}

static void test_e4m3_decode_all(void) {
    for (int c = 0; c < 256; c++) {
        float got = vgen_e4m3_to_f32((uint8_t)c);
        double want = e4m3_ref(c);
        if (isnan(want)) {
            CHECKF(isnan(got), "code 0x%02X should be NaN", c);
            CHECKF(!!signbit(got) == (c >> 7), "code 0x%02X NaN sign", c);
        } else {
            CHECKF((double)got == want && !!signbit(got) == (c >> 7), "code 0x%02X: %g, want %g", c, got, want);
        }
    }
    CHECK(vgen_e4m3_to_f32(0x7E) == 448.0f);
    CHECK(vgen_e4m3_to_f32(0x01) == 0x1p-9f);
    CHECK(vgen_e4m3_to_f32(0x08) == 0x1p-6f);
    CHECK(vgen_e4m3_to_f32(0x38) == 1.0f);
    CHECK(isnan(vgen_e4m3_to_f32(0x7F)) && isnan(vgen_e4m3_to_f32(0xFF)));
    CHECK(!isnan(vgen_e4m3_to_f32(0x78)) && !isinf(vgen_e4m3_to_f32(0x78))); /* 256: no Inf in e4m3fn */
}

static void test_e4m3_roundtrip_codes(void) {
    for (int c = 0; c < 256; c++) {
        if ((c & 0x7F) == 0x7F) continue;
        uint8_t back = vgen_f32_to_e4m3(vgen_e4m3_to_f32((uint8_t)c));
        CHECKF(back == c, "encode(decode(0x%02X)) = 0x%02X", c, back);
    }
    CHECK(vgen_f32_to_e4m3(-0.0f) == 0x80);
    CHECK(vgen_f32_to_e4m3(0.0f) == 0x00);
}

/* Midpoints between consecutive codes tie to the even code; one ulp either side goes to the nearer one. */
static void test_e4m3_midpoints(void) {
    for (int c = 0; c < 0x7E; c++) {
        float a = vgen_e4m3_to_f32((uint8_t)c), b = vgen_e4m3_to_f32((uint8_t)(c + 1));
        float mid = (a + b) * 0.5f; /* exact: both have few bits */
        uint8_t even = (uint8_t)((c & 1) ? c + 1 : c);
        for (int neg = 0; neg < 2; neg++) {
            float sg = neg ? -1.0f : 1.0f;
            uint8_t sb = neg ? 0x80 : 0;
            CHECKF(vgen_f32_to_e4m3(sg * mid) == (even | sb), "mid 0x%02X/0x%02X", c, c + 1);
            CHECKF(vgen_f32_to_e4m3(sg * nextafterf(mid, 0.0f)) == (c | sb), "below mid 0x%02X", c);
            CHECKF(vgen_f32_to_e4m3(sg * nextafterf(mid, INFINITY)) == ((c + 1) | sb), "above mid 0x%02X", c);
            CHECKF(vgen_f32_to_e4m3(sg * a) == (c | sb), "exact 0x%02X", c);
        }
    }
}

static void test_e4m3_overflow(void) {
    /* every float in [448, 464] -> 448, in (464, 480) -> NaN */
    for (uint32_t u = vgen_f32_bits(448.0f); u <= vgen_f32_bits(464.0f); u++) {
        float x = vgen_f32_from_bits(u);
        if (vgen_f32_to_e4m3(x) != 0x7E || vgen_f32_to_e4m3(-x) != 0xFE) {
            CHECKF(0, "%.9g should encode to 448 (0x7E)", x);
            break;
        }
    }
    for (uint32_t u = vgen_f32_bits(464.0f) + 1; u < vgen_f32_bits(480.0f); u++) {
        float x = vgen_f32_from_bits(u);
        if (vgen_f32_to_e4m3(x) != 0x7F || vgen_f32_to_e4m3(-x) != 0xFF) {
            CHECKF(0, "%.9g should encode to NaN (0x7F), as torch's non-saturating cast", x);
            break;
        }
    }
    CHECK(vgen_f32_to_e4m3(470.0f) == 0x7F);
    const float big[] = {480.0f, 481.0f, 1000.0f, 65504.0f, 1e30f, FLT_MAX, INFINITY};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        CHECKF(vgen_f32_to_e4m3(big[i]) == 0x7F, "%g -> NaN", big[i]);
        CHECKF(vgen_f32_to_e4m3(-big[i]) == 0xFF, "%g -> -NaN", -big[i]);
    }
    CHECK(vgen_f32_to_e4m3(NAN) == 0x7F);
    CHECK(vgen_f32_to_e4m3(-NAN) == 0xFF);
    CHECK(vgen_f32_to_e4m3(vgen_f32_from_bits(0x7F800001u)) == 0x7F); /* signalling NaN */
}

static void test_e4m3_subnormals(void) {
    CHECK(vgen_f32_to_e4m3(0x1p-10f) == 0x00);                       /* half of 2^-9: tie to even 0 */
    CHECK(vgen_f32_to_e4m3(nextafterf(0x1p-10f, 1.0f)) == 0x01);
    CHECK(vgen_f32_to_e4m3(0x3p-10f) == 0x02);                       /* 1.5 units: tie to even 2 */
    CHECK(vgen_f32_to_e4m3(0x5p-10f) == 0x02);                       /* 2.5 units: tie to even 2 */
    CHECK(vgen_f32_to_e4m3(0x7p-10f) == 0x04);
    CHECK(vgen_f32_to_e4m3(0xFp-10f) == 0x08);                       /* 7.5 units: rounds up to 2^-6 */
    CHECK(vgen_f32_to_e4m3(0x1p-149f) == 0x00);                      /* float subnormals */
    CHECK(vgen_f32_to_e4m3(-0x1p-149f) == 0x80);
    CHECK(vgen_f32_to_e4m3(-0x3p-10f) == 0x82);
    CHECK(vgen_f32_to_e4m3(nextafterf(0x1p-6f, 0.0f)) == 0x08);      /* just below min normal */
}

static void test_e4m3_sat(void) {
    CHECK(vgen_f32_to_e4m3_sat(470.0f) == 0x7E);
    CHECK(vgen_f32_to_e4m3_sat(-470.0f) == 0xFE);
    CHECK(vgen_f32_to_e4m3_sat(1e30f) == 0x7E);
    CHECK(vgen_f32_to_e4m3_sat(INFINITY) == 0x7E);
    CHECK(vgen_f32_to_e4m3_sat(-INFINITY) == 0xFE);
    CHECK((vgen_f32_to_e4m3_sat(NAN) & 0x7F) == 0x7F);
    rng r = {42};
    for (int i = 0; i < 100000; i++) {
        float x = random_float(&r, i | 1, -12, 8);
        if (fabsf(x) > 448.0f) continue;
        CHECKF(vgen_f32_to_e4m3_sat(x) == vgen_f32_to_e4m3(x), "sat(%g) differs below 448", x);
    }
}

static void test_e4m3_random(void) {
    double values[0x7F];
    for (int c = 0; c < 0x7F; c++) values[c] = e4m3_ref(c);
    rng r = {1};
    long bad = 0;
    for (int i = 0; i < 2000000; i++) {
        float x = random_float(&r, i, -12, 9);
        uint8_t got = vgen_f32_to_e4m3(x), want = e4m3_ref_encode(x, values);
        if (got != want && bad++ < 5)
            CHECKF(0, "e4m3(%.9g = 0x%08X) = 0x%02X, want 0x%02X", x, vgen_f32_bits(x), got, want);
        uint8_t neg = vgen_f32_to_e4m3(-x);
        if (neg != (got ^ 0x80) && bad++ < 5) CHECKF(0, "e4m3(-%.9g) = 0x%02X: sign not symmetric", x, neg);
    }
    CHECKF(bad == 0, "%ld mismatches", bad);
}

/* ---- bf16 ------------------------------------------------------------------------------------------------- */

static void test_bf16_cases(void) {
    CHECK(vgen_f32_to_bf16(vgen_f32_from_bits(0x3F808000u)) == 0x3F80); /* tie, 0x3F80 even */
    CHECK(vgen_f32_to_bf16(vgen_f32_from_bits(0x3F818000u)) == 0x3F82); /* tie, 0x3F81 odd */
    CHECK(vgen_f32_to_bf16(vgen_f32_from_bits(0x3F808001u)) == 0x3F81);
    CHECK(vgen_f32_to_bf16(vgen_f32_from_bits(0x3F817FFFu)) == 0x3F81);
    CHECK(vgen_f32_to_bf16(NAN) == 0x7FC0);
    CHECK(vgen_f32_to_bf16(-NAN) == 0x7FC0);                            /* sign dropped, as c10 */
    CHECK(vgen_f32_to_bf16(vgen_f32_from_bits(0x7F800001u)) == 0x7FC0);
    CHECK(vgen_f32_to_bf16(vgen_f32_from_bits(0xFFFFFFFFu)) == 0x7FC0);
    CHECK(vgen_f32_to_bf16(INFINITY) == 0x7F80);
    CHECK(vgen_f32_to_bf16(-INFINITY) == 0xFF80);
    CHECK(vgen_f32_to_bf16(FLT_MAX) == 0x7F80);                         /* rounds past the largest bf16 */
    CHECK(vgen_f32_to_bf16(vgen_f32_from_bits(0x7F7F7FFFu)) == 0x7F7F);
    CHECK(vgen_f32_to_bf16(-0.0f) == 0x8000);
    CHECK(vgen_f32_to_bf16(0x1p-149f) == 0x0000);                       /* below half of 2^-133 */
    CHECK(vgen_f32_to_bf16(0x1p-133f) == 0x0001);
    CHECK(vgen_bf16_to_f32(0x3F80) == 1.0f);
    CHECK(isnan(vgen_bf16_to_f32(0x7FC0)));
}

static void test_bf16_all_codes(void) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = vgen_bf16_to_f32((uint16_t)h);
        CHECKF(vgen_f32_bits(f) == h << 16, "bf16 0x%04X decodes to 0x%08X", h, vgen_f32_bits(f));
        if (isnan(f)) continue;
        CHECKF(vgen_f32_to_bf16(f) == h, "bf16 0x%04X does not round-trip", h);
    }
}

static void test_bf16_random(void) {
    rng r = {2};
    long bad = 0;
    for (int i = 0; i < 3000000; i++) {
        float x = random_float(&r, i, -140, 127);
        uint16_t h = vgen_f32_to_bf16(x);
        float got = vgen_bf16_to_f32(h);
        int ok;
        if (isnan(x)) {
            ok = h == 0x7FC0;
        } else {
            double want = ref_round(x, 7, -126);
            if (fabs(want) > 0x1.FEp127) want = copysign(INFINITY, want); /* above the largest bf16 */
            ok = (double)got == want && !!signbit(got) == !!signbit(x);
        }
        if (!ok && bad++ < 5) CHECKF(0, "bf16(%.9g = 0x%08X) = 0x%04X", x, vgen_f32_bits(x), h);
    }
    CHECKF(bad == 0, "%ld mismatches", bad);
}

/* ---- f16 -------------------------------------------------------------------------------------------------- */

static double f16_ref(uint32_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static void test_f16_all_codes(void) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = vgen_f16_to_f32((uint16_t)h);
        double want = f16_ref(h);
        CHECKF(isnan(want) ? isnan(f) : (double)f == want, "f16 0x%04X decodes to %g, want %g", h, f, want);
        CHECKF(!!signbit(f) == (int)(h >> 15), "f16 0x%04X sign", h);
        uint16_t back = vgen_f32_to_f16(f);
        uint16_t want_back = isnan(want) ? (uint16_t)((h & 0x8000u) | 0x7E00u) : (uint16_t)h;
        CHECKF(back == want_back, "f16 0x%04X round-trips to 0x%04X", h, back);
    }
}

static void test_f16_cases(void) {
    CHECK(vgen_f32_to_f16(65504.0f) == 0x7BFF);
    CHECK(vgen_f32_to_f16(65519.99f) == 0x7BFF);                    /* 65519.9921875 */
    CHECK(vgen_f32_to_f16(nextafterf(65520.0f, 0.0f)) == 0x7BFF);
    CHECK(vgen_f32_to_f16(65520.0f) == 0x7C00);                     /* tie, rounds to even = Inf */
    CHECK(vgen_f32_to_f16(-65520.0f) == 0xFC00);
    CHECK(vgen_f32_to_f16(1e10f) == 0x7C00);
    CHECK(vgen_f32_to_f16(INFINITY) == 0x7C00);
    CHECK(vgen_f32_to_f16(-INFINITY) == 0xFC00);
    CHECK(vgen_f32_to_f16(NAN) == 0x7E00);
    CHECK(vgen_f32_to_f16(-NAN) == 0xFE00);
    CHECK(vgen_f32_to_f16(0x1p-24f) == 0x0001);                     /* smallest subnormal */
    CHECK(vgen_f32_to_f16(0x1p-25f) == 0x0000);                     /* tie to even 0 */
    CHECK(vgen_f32_to_f16(nextafterf(0x1p-25f, 1.0f)) == 0x0001);
    CHECK(vgen_f32_to_f16(-0x1p-25f) == 0x8000);
    CHECK(vgen_f32_to_f16(0x3p-25f) == 0x0002);                     /* 1.5 units: tie to even 2 */
    CHECK(vgen_f32_to_f16(0x5p-25f) == 0x0002);                     /* 2.5 units: tie to even 2 */
    CHECK(vgen_f32_to_f16(0x1p-14f - 0x1p-25f) == 0x0400);          /* 1023.5 units: tie to 1024 = min normal */
    CHECK(vgen_f32_to_f16(0x1p-14f - 0x3p-25f) == 0x03FE);          /* 1022.5 units: tie to even 1022 */
    CHECK(vgen_f32_to_f16(1.0f + 0x1p-11f) == 0x3C00);
    CHECK(vgen_f32_to_f16(1.0f + 0x3p-11f) == 0x3C02);
    CHECK(vgen_f32_to_f16(-0.0f) == 0x8000);
    CHECK(vgen_f32_to_f16(0x1p-149f) == 0x0000);
}

static void test_f16_random(void) {
    rng r = {3};
    long bad = 0;
    for (int i = 0; i < 3000000; i++) {
        float x = random_float(&r, i, -26, 16);
        uint16_t h = vgen_f32_to_f16(x);
        float got = vgen_f16_to_f32(h);
        int ok;
        if (isnan(x)) {
            ok = h == (signbit(x) ? 0xFE00 : 0x7E00);
        } else {
            double want = ref_round(x, 10, -14);
            if (fabs(want) > 65504.0) want = copysign(INFINITY, want);
            ok = (double)got == want && !!signbit(got) == !!signbit(x);
        }
        if (!ok && bad++ < 5) CHECKF(0, "f16(%.9g = 0x%08X) = 0x%04X", x, vgen_f32_bits(x), h);
    }
    CHECKF(bad == 0, "%ld mismatches", bad);
}

/* the reference rounder relies on nearbyint rounding halfway cases to even */
static void test_rounding_mode(void) {
    CHECK(fegetround() == FE_TONEAREST);
    CHECK(nearbyint(2.5) == 2.0 && nearbyint(3.5) == 4.0);
}

int main(void) {
    RUN(test_rounding_mode);
    RUN(test_e4m3_decode_all);
    RUN(test_e4m3_roundtrip_codes);
    RUN(test_e4m3_midpoints);
    RUN(test_e4m3_overflow);
    RUN(test_e4m3_subnormals);
    RUN(test_e4m3_sat);
    RUN(test_e4m3_random);
    RUN(test_bf16_cases);
    RUN(test_bf16_all_codes);
    RUN(test_bf16_random);
    RUN(test_f16_all_codes);
    RUN(test_f16_cases);
    RUN(test_f16_random);
    return test_summary();
}

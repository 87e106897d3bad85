/* test_wformat.c - the weight-format table (core/wformat.h): names, sizes, hand-checked codes for every format,
 * zero handling, NaN rejection, row slices, re-quantization, and the round-trip error budgets.
 *
 * The budget test prints "format gauss outlier" lines: the measured relative RMS errors quoted in
 * docs/formats.md. Data: N(0,1), and Student-t (3 degrees of freedom) with OUTLIERS_PER_ROW outliers of
 * +-50 sigma per row (sigma = sqrt(3), the t3 standard deviation), from a splitmix64 + Box-Muller generator. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "testutil.h"
#include "wformat.h"

#define OUTLIERS_PER_ROW 4

/* ---- deterministic random data --------------------------------------------------------------------------- */


/* w: [N, K] ~ N(0, 1) */
static void fill_gauss(float *w, int64_t n, int64_t k, uint64_t seed) {
    rng r = {seed};
    for (int64_t i = 0; i < n * k; i++) w[i] = (float)rng_normal(&r);
}

/* w: [N, K] ~ Student-t(3), plus OUTLIERS_PER_ROW entries of +-50 sigma in each row. */
static void fill_outlier(float *w, int64_t n, int64_t k, uint64_t seed) {
    rng r = {seed};
    for (int64_t i = 0; i < n * k; i++) {
        double a = rng_normal(&r), b = rng_normal(&r), c = rng_normal(&r);
        w[i] = (float)(rng_normal(&r) / sqrt((a * a + b * b + c * c) / 3.0));
    }
    for (int64_t row = 0; row < n; row++) {
        for (int j = 0; j < OUTLIERS_PER_ROW; j++) {
            int64_t col = (int64_t)(rng_next(&r) % (uint64_t)k);
            w[row * k + col] = (float)((rng_next(&r) & 1 ? 50.0 : -50.0) * sqrt(3.0));
        }
    }
}

/* ---- quantized buffers ----------------------------------------------------------------------------------- */

typedef struct qbuf {
    vgen_qmatrix m;
    uint8_t *data;
    float *scales;
    uint8_t *zeros;
    size_t data_bytes, n_scales, n_zeros;
} qbuf;

static void qbuf_free(qbuf *q) {
    free(q->data);
    free(q->scales);
    free(q->zeros);
    memset(q, 0, sizeof *q);
}

/* Allocates for f [N, K] and quantizes w into it; returns the quantizer's status (or -1 on a test failure). */
static int qbuf_quantize(qbuf *q, vgen_wformat f, const float *w, int64_t n, int64_t k, vgen_err *err) {
    memset(q, 0, sizeof *q);
    if (vgen_wformat_data_bytes(f, n, k, &q->data_bytes) || vgen_wformat_scale_count(f, n, k, &q->n_scales) ||
        vgen_wformat_zero_count(f, n, k, &q->n_zeros))
        return -1;
    q->data = malloc(q->data_bytes);
    q->scales = calloc(q->n_scales + 1, sizeof(float));
    q->zeros = calloc(q->n_zeros + 1, 1);
    if (!q->data || !q->scales || !q->zeros) {
        CHECKF(0, "out of memory");
        qbuf_free(q);
        return -1;
    }
    memset(q->data, 0xA5, q->data_bytes); /* the quantizer must write every byte */
    q->m = (vgen_qmatrix){.format = f, .rows = n, .cols = k, .data = q->data,
                          .scales = q->n_scales ? q->scales : NULL, .zeros = q->n_zeros ? q->zeros : NULL};
    return vgen_wformat_quantize(f, w, n, k, q->data, q->n_scales ? q->scales : NULL,
                                 q->n_zeros ? q->zeros : NULL, err);
}

static float *dequant_all(const qbuf *q) {
    float *out = malloc((size_t)(q->m.rows * q->m.cols) * sizeof(float));
    if (out) vgen_wformat_dequantize_rows(&q->m, 0, q->m.rows, out);
    return out;
}

/* ||w - deq(q(w))|| / ||w||, or -1 on failure. */
static double roundtrip_error(vgen_wformat f, const float *w, int64_t n, int64_t k) {
    qbuf q;
    vgen_err err;
    vgen_err_clear(&err);
    double e = -1.0;
    if (qbuf_quantize(&q, f, w, n, k, &err) == 0) {
        float *d = dequant_all(&q);
        double num = 0.0, den = 0.0;
        for (int64_t i = 0; d && i < n * k; i++) {
            double diff = (double)w[i] - d[i];
            num += diff * diff;
            den += (double)w[i] * w[i];
        }
        if (d) e = sqrt(num / den);
        free(d);
    }
    CHECKF(e >= 0.0, "%s: quantize failed: %s", vgen_wformat_get(f)->name, err.msg);
    qbuf_free(&q);
    return e;
}

static int nibble(const uint8_t *row, int64_t j) { return (row[j / 2] >> (4 * (j % 2))) & 15; }

/* ---- (g) names and traits -------------------------------------------------------------------------------- */

static const char *const k_names[VGEN_WF_COUNT] = {
    "f32",      "f16",      "bf16",      "int8_row",    "fp8_e4m3_row", "fp8_e4m3_tensor",
    "int4_g32", "int4_g64", "int4_g128", "int4_g32_zp", "int4_g64_zp",  "int4_g128_zp"};
static const char *const k_dtypes[VGEN_WF_COUNT] = {"F32", "F16", "BF16", "I8", "F8_E4M3", "F8_E4M3",
                                                    "U8",  "U8",  "U8",   "U8", "U8",      "U8"};

static void test_names(void) {
    for (int i = 0; i < VGEN_WF_COUNT; i++) {
        const vgen_wformat_traits *t = vgen_wformat_get((vgen_wformat)i);
        CHECKF(t && strcmp(t->name, k_names[i]) == 0, "format %d name", i);
        if (!t) continue;
        vgen_wformat f = VGEN_WF_COUNT;
        CHECK(vgen_wformat_from_name(t->name, &f) == VGEN_OK);
        CHECK_EQ_INT(f, i);
        CHECKF(strcmp(t->storage_dtype, k_dtypes[i]) == 0, "%s storage %s", t->name, t->storage_dtype);
    }
    const char *bad[] = {"", "int4", "INT8_ROW", "int4_g16", "f32 ", "fp8", "int4_g32_zp_"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vgen_wformat f = VGEN_WF_F32;
        CHECKF(vgen_wformat_from_name(bad[i], &f) == VGEN_ERR_NOT_FOUND, "\"%s\" must be unknown", bad[i]);
    }
    vgen_wformat f;
    CHECK(vgen_wformat_from_name(NULL, &f) == VGEN_ERR_NOT_FOUND);
    CHECK(vgen_wformat_get(VGEN_WF_COUNT) == NULL);
    CHECK(vgen_wformat_get((vgen_wformat)-1) == NULL);
}

static void test_traits(void) {
    static const int bits[VGEN_WF_COUNT] = {32, 16, 16, 8, 8, 8, 4, 4, 4, 4, 4, 4};
    static const int group[VGEN_WF_COUNT] = {0, 0, 0, 0, 0, 0, 32, 64, 128, 32, 64, 128};
    static const int kind[VGEN_WF_COUNT] = {VGEN_SCALE_NONE,   VGEN_SCALE_NONE,  VGEN_SCALE_NONE,
                                            VGEN_SCALE_ROW,    VGEN_SCALE_ROW,   VGEN_SCALE_TENSOR,
                                            VGEN_SCALE_GROUP,  VGEN_SCALE_GROUP, VGEN_SCALE_GROUP,
                                            VGEN_SCALE_GROUP,  VGEN_SCALE_GROUP, VGEN_SCALE_GROUP};
    for (int i = 0; i < VGEN_WF_COUNT; i++) {
        const vgen_wformat_traits *t = vgen_wformat_get((vgen_wformat)i);
        CHECK_EQ_INT(t->bits, bits[i]);
        CHECK_EQ_INT(t->group, group[i]);
        CHECK_EQ_INT(t->scale_kind, kind[i]);
        CHECK_EQ_INT(t->has_zero, i >= VGEN_WF_INT4_G32_ZP);
        CHECKF(t->budget_gauss >= 0.0f && t->budget_outlier >= 0.0f, "%s budgets", t->name);
        CHECKF((t->budget_gauss == 0.0f) == (i == VGEN_WF_F32), "%s: only f32 is exact", t->name);
    }
}

/* ---- (b) sizes -------------------------------------------------------------------------------------------- */

static void test_sizes_odd_k(void) {
    static const int64_t ks[] = {1, 33, 65, 127, 128, 129, 4097};
    const int64_t n = 3;
    for (int i = 0; i < VGEN_WF_COUNT; i++) {
        const vgen_wformat_traits *t = vgen_wformat_get((vgen_wformat)i);
        for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
            int64_t k = ks[j];
            size_t rb = 0, db = 0, sc = 0, zc = 0;
            size_t want_rb = t->bits == 4 ? (size_t)(k + 1) / 2 : (size_t)k * (size_t)t->bits / 8;
            size_t groups = t->group ? (size_t)((k + t->group - 1) / t->group) : 1;
            size_t want_sc = t->scale_kind == VGEN_SCALE_NONE     ? 0
                             : t->scale_kind == VGEN_SCALE_TENSOR ? 1
                                                                  : (size_t)n * groups;
            CHECK(vgen_wformat_row_bytes((vgen_wformat)i, k, &rb) == VGEN_OK);
            CHECK(vgen_wformat_data_bytes((vgen_wformat)i, n, k, &db) == VGEN_OK);
            CHECK(vgen_wformat_scale_count((vgen_wformat)i, n, k, &sc) == VGEN_OK);
            CHECK(vgen_wformat_zero_count((vgen_wformat)i, n, k, &zc) == VGEN_OK);
            CHECKF(rb == want_rb && db == want_rb * (size_t)n, "%s K=%" PRId64 " row %zu data %zu", t->name, k,
                   rb, db);
            CHECKF(sc == want_sc, "%s K=%" PRId64 " scales %zu, want %zu", t->name, k, sc, want_sc);
            CHECKF(zc == (t->has_zero ? (size_t)n * groups : 0), "%s K=%" PRId64 " zeros %zu", t->name, k, zc);
        }
    }
    /* a few by hand */
    size_t v = 0;
    CHECK(vgen_wformat_row_bytes(VGEN_WF_INT4_G32, 33, &v) == 0 && v == 17);
    CHECK(vgen_wformat_scale_count(VGEN_WF_INT4_G32, 3, 33, &v) == 0 && v == 6);
    CHECK(vgen_wformat_zero_count(VGEN_WF_INT4_G64_ZP, 3, 65, &v) == 0 && v == 6);
    CHECK(vgen_wformat_scale_count(VGEN_WF_INT4_G128, 3, 127, &v) == 0 && v == 3);
    CHECK(vgen_wformat_row_bytes(VGEN_WF_INT4_G128_ZP, 127, &v) == 0 && v == 64);
    CHECK(vgen_wformat_data_bytes(VGEN_WF_BF16, 3, 65, &v) == 0 && v == 390);
    CHECK(vgen_wformat_scale_count(VGEN_WF_FP8_E4M3_ROW, 3, 65, &v) == 0 && v == 3);
    CHECK(vgen_wformat_scale_count(VGEN_WF_FP8_E4M3_TENSOR, 3, 65, &v) == 0 && v == 1);
    CHECK(vgen_wformat_zero_count(VGEN_WF_INT4_G32, 3, 33, &v) == 0 && v == 0);
}

static void test_sizes_invalid(void) {
    size_t v = 12345;
    for (int i = 0; i < VGEN_WF_COUNT; i++) {
        vgen_wformat f = (vgen_wformat)i;
        CHECK(vgen_wformat_row_bytes(f, 0, &v) == VGEN_ERR_SHAPE);
        CHECK(vgen_wformat_row_bytes(f, -5, &v) == VGEN_ERR_SHAPE);
        CHECK(vgen_wformat_data_bytes(f, 0, 16, &v) == VGEN_ERR_SHAPE);
        CHECK(vgen_wformat_data_bytes(f, INT64_MAX, 64, &v) == VGEN_ERR_SHAPE);
        CHECK(vgen_wformat_data_bytes(f, (int64_t)1 << 40, (int64_t)1 << 40, &v) == VGEN_ERR_SHAPE);
        CHECK(vgen_wformat_scale_count(f, -1, 16, &v) == VGEN_ERR_SHAPE);
        CHECK(vgen_wformat_zero_count(f, 4, 0, &v) == VGEN_ERR_SHAPE);
    }
    CHECK(vgen_wformat_row_bytes(VGEN_WF_F32, INT64_MAX / 2, &v) == VGEN_ERR_SHAPE);
    CHECK(vgen_wformat_row_bytes(VGEN_WF_F16, INT64_MAX, &v) == VGEN_ERR_SHAPE);
    CHECK(vgen_wformat_row_bytes(VGEN_WF_INT8_ROW, INT64_MAX, &v) == VGEN_ERR_SHAPE); /* K * 8 bits overflows */
    CHECK(vgen_wformat_scale_count(VGEN_WF_INT4_G32, (int64_t)1 << 62, 4096, &v) == VGEN_ERR_SHAPE);
    CHECK(vgen_wformat_zero_count(VGEN_WF_INT4_G32_ZP, (int64_t)1 << 62, 4096, &v) == VGEN_ERR_SHAPE);
    CHECK(vgen_wformat_scale_count(VGEN_WF_INT8_ROW, INT64_MAX, 1, &v) == VGEN_OK && v == (size_t)INT64_MAX);
    CHECK(v == (size_t)INT64_MAX);
    CHECK(vgen_wformat_row_bytes(VGEN_WF_COUNT, 16, &v) == VGEN_ERR_INVALID_ARGUMENT);
    CHECK(vgen_wformat_scale_count((vgen_wformat)99, 1, 16, &v) == VGEN_ERR_INVALID_ARGUMENT);

    /* the quantizer checks sizes before touching any buffer */
    vgen_err err;
    vgen_err_clear(&err);
    float one = 1.0f;
    CHECK(vgen_wformat_quantize(VGEN_WF_INT8_ROW, &one, (int64_t)1 << 40, (int64_t)1 << 40, &one, &one, NULL,
                                &err) == VGEN_ERR_SHAPE);
    CHECK_STR_CONTAINS(err.msg, "int8_row");
    CHECK(vgen_wformat_quantize(VGEN_WF_INT8_ROW, &one, 1, 1, NULL, &one, NULL, &err) == VGEN_ERR_INVALID_ARGUMENT);
    CHECK(vgen_wformat_quantize(VGEN_WF_INT4_G32_ZP, &one, 1, 1, &one, &one, NULL, &err) ==
          VGEN_ERR_INVALID_ARGUMENT); /* zero points needed */
    CHECK(vgen_wformat_quantize(VGEN_WF_COUNT, &one, 1, 1, &one, &one, NULL, &err) == VGEN_ERR_INVALID_ARGUMENT);
}

/* ---- (c) hand-checked small cases ------------------------------------------------------------------------ */

typedef struct exact_case {
    const char *what;
    vgen_wformat f;
    int n, k;
    float w[16];
    int n_data;          /* expected data bytes (little-endian for f16/bf16); 0 = not checked */
    uint8_t data[16];
    float scales[4];     /* n_scales from the size functions */
    uint8_t zeros[4];
    float deq[16];       /* compared bit for bit */
} exact_case;

static const exact_case k_cases[] = {
    {"f32 copies bits (-0, subnormal)", VGEN_WF_F32, 1, 4, {1.5f, -0.0f, 1e-45f, -3.4e38f}, 0, {0}, {0}, {0},
     {1.5f, -0.0f, 1e-45f, -3.4e38f}},
    /* 1/3 -> 0x3555; 1 + 2^-11 ties to even 0x3C00; 1 + 3 * 2^-11 ties to even 0x3C02 */
    {"f16 RNE", VGEN_WF_F16, 1, 6, {1.0f, 65504.0f, -0x1p-24f, 1.0f / 3.0f, 1.0f + 0x1p-11f, 1.0f + 0x3p-11f},
     12, {0x00, 0x3C, 0xFF, 0x7B, 0x01, 0x80, 0x55, 0x35, 0x00, 0x3C, 0x02, 0x3C}, {0}, {0},
     {1.0f, 65504.0f, -0x1p-24f, 0.333251953125f, 1.0f, 1.001953125f}},
    /* 0x3F808000 -> 0x3F80, 0x3F818000 -> 0x3F82 (ties to even), 1/3 = 0x3EAAAAAB -> 0x3EAB */
    {"bf16 RNE", VGEN_WF_BF16, 1, 4, {1.00390625f, 1.01171875f, 1.0f / 3.0f, -2.0f}, 8,
     {0x80, 0x3F, 0x82, 0x3F, 0xAB, 0x3E, 0x00, 0xC0}, {0}, {0}, {1.0f, 1.015625f, 0.333984375f, -2.0f}},
    /* s = amax / 127; -63.5 rounds away from zero to -64; a zero row gets s = 1 */
    {"int8_row", VGEN_WF_INT8_ROW, 3, 3, {127, -63.5f, 0, 0, 0, 0, 254, 1, -3}, 9,
     {127, 0xC0, 0, 0, 0, 0, 127, 1, 0xFE}, {1, 1, 2}, {0}, {127, -64, 0, 0, 0, 0, 254, 2, -4}},
    /* s = amax / 448; 0.3 -> 1.25 * 2^-2 = 0.3125 (code 0x2A); -1 = 0xB8; 448 = 0x7E */
    {"fp8_e4m3_row", VGEN_WF_FP8_E4M3_ROW, 2, 3, {448, -1, 0.3f, 896, 1, -2}, 6,
     {0x7E, 0xB8, 0x2A, 0x7E, 0x30, 0xB8}, {1, 2}, {0}, {448, -1, 0.3125f, 896, 1, -2}},
    {"fp8_e4m3_tensor", VGEN_WF_FP8_E4M3_TENSOR, 2, 2, {1, 2, -896, 0}, 4, {0x30, 0x38, 0xFE, 0x00}, {2}, {0},
     {1, 2, -896, 0}},
    /* odd K, one partial group: s = 14 / 7 = 2, q = round(w / 2) + 8: 1, 9, 11 (2.5 away from zero), 15, 8;
     * element 2i in the low nibble, the last high nibble zero */
    {"int4_g32 odd K", VGEN_WF_INT4_G32, 1, 5, {-14, 2, 5, 14, 0}, 3, {0x91, 0xFB, 0x08}, {2}, {0},
     {-14, 2, 6, 14, 0}},
    /* row 0 all positive: range widened to [0, 15], s = 1, z = 0;
     * row 1 mixed [-5, 10]: s = 1, z = 5, -0.5 -> round(-0.5) + 5 = 4;
     * row 2 all negative [-30, 0]: s = 2, z = 15, -15 -> round(-7.5) + 15 = 7 */
    {"int4_g32_zp", VGEN_WF_INT4_G32_ZP, 3, 5, {3, 1.5f, 6, 4.5f, 15, -5, 10, 2.4f, 0, -0.5f, -30, -15, -2, -1, 0},
     9, {0x23, 0x56, 0x0F, 0xF0, 0x57, 0x04, 0x70, 0xEE, 0x0F}, {1, 1, 2}, {0, 5, 15},
     {3, 2, 6, 5, 15, -5, 10, 2, 0, -1, -30, -16, -2, -2, 0}},
};

static void check_exact_case(const exact_case *c) {
    qbuf q;
    vgen_err err;
    vgen_err_clear(&err);
    int rc = qbuf_quantize(&q, c->f, c->w, c->n, c->k, &err);
    CHECKF(rc == 0, "%s: %s", c->what, err.msg);
    if (rc) return;
    if (c->n_data) {
        CHECKF((size_t)c->n_data == q.data_bytes, "%s: %zu data bytes", c->what, q.data_bytes);
        for (int i = 0; i < c->n_data && (size_t)i < q.data_bytes; i++)
            CHECKF(q.data[i] == c->data[i], "%s: byte %d is 0x%02X, want 0x%02X", c->what, i, q.data[i], c->data[i]);
    }
    for (size_t i = 0; i < q.n_scales; i++)
        CHECKF(q.scales[i] == c->scales[i], "%s: scale %zu is %g, want %g", c->what, i, q.scales[i], c->scales[i]);
    for (size_t i = 0; i < q.n_zeros; i++)
        CHECKF(q.zeros[i] == c->zeros[i], "%s: zero %zu is %d, want %d", c->what, i, q.zeros[i], c->zeros[i]);
    float *d = dequant_all(&q);
    for (int i = 0; d && i < c->n * c->k; i++)
        CHECKF(memcmp(&d[i], &c->deq[i], sizeof(float)) == 0, "%s: deq[%d] = %.9g, want %.9g", c->what, i, d[i],
               c->deq[i]);
    free(d);
    qbuf_free(&q);
}

static void test_exact_cases(void) {
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) check_exact_case(&k_cases[i]);
}

/* Every int4 format, K = 2G + 3 (two full groups and a partial one of 3, odd K): group g holds exact multiples
 * of s_g = g + 1 and its extremes, so codes, scales, zero points and dequantized values are known exactly.
 * Symmetric: values (k % 15 - 7) * s_g, q = k % 15 + 1. Zero point: range [-5 s_g, 10 s_g], z = 5,
 * values (k % 16 - 5) * s_g, q = k % 16. */
static void check_int4_groups(vgen_wformat f) {
    const vgen_wformat_traits *t = vgen_wformat_get(f);
    const int64_t g_sz = t->group, k = 2 * g_sz + 3;
    float w[2 * 128 + 3];
    int want_q[2 * 128 + 3];
    for (int64_t j = 0; j < k; j++) {
        int64_t g = j / g_sz, in = j % g_sz;
        int q = t->has_zero ? (int)(j % 16) : (int)(j % 15) + 1;
        if (in == 0) q = t->has_zero ? 0 : 15; /* each group holds its extremes */
        if (in == 1) q = t->has_zero ? 15 : 1;
        want_q[j] = q;
        w[j] = (float)((q - (t->has_zero ? 5 : 8)) * (g + 1));
    }
    qbuf q;
    vgen_err err;
    vgen_err_clear(&err);
    CHECKF(qbuf_quantize(&q, f, w, 1, k, &err) == 0, "%s: %s", t->name, err.msg);
    CHECK_EQ_INT(q.n_scales, 3);
    for (int g = 0; g < 3 && q.n_scales == 3; g++) {
        CHECKF(q.scales[g] == (float)(g + 1), "%s: scale %d = %g", t->name, g, q.scales[g]);
        if (t->has_zero) CHECKF(q.zeros[g] == 5, "%s: zero %d = %d", t->name, g, q.zeros[g]);
    }
    for (int64_t j = 0; j < k; j++)
        CHECKF(nibble(q.data, j) == want_q[j], "%s: code %" PRId64 " = %d, want %d", t->name, j, nibble(q.data, j),
               want_q[j]);
    CHECKF((q.data[k / 2] >> 4) == 0, "%s: the unused last high nibble must be zero", t->name);
    float *d = dequant_all(&q);
    for (int64_t j = 0; d && j < k; j++) CHECKF(d[j] == w[j], "%s: deq[%" PRId64 "] = %g", t->name, j, d[j]);
    free(d);
    qbuf_free(&q);
}

static void test_int4_groups(void) {
    for (int f = VGEN_WF_INT4_G32; f <= VGEN_WF_INT4_G128_ZP; f++) check_int4_groups((vgen_wformat)f);
}

/* ---- (d) zeros ------------------------------------------------------------------------------------------- */

/* Any zero weight dequantizes to +0 exactly; an all-zero row/group gets scale 1 (and the zero code). */
static void test_zero_rows(void) {
    enum { N = 4, K = 131 };
    static float w[N * K];
    fill_gauss(w, N, K, 7);
    for (int j = 0; j < K; j++) w[0 * K + j] = 0.0f;      /* row 0: all zero */
    for (int j = 32; j < 64; j++) w[1 * K + j] = 0.0f;    /* row 1: the second g32 group */
    for (int j = 128; j < K; j++) w[2 * K + j] = 0.0f;    /* row 2: the partial last group of every int4 format */
    for (int j = 0; j < K; j += 3) w[3 * K + j] = 0.0f;   /* row 3: scattered zeros */
    for (int i = 0; i < VGEN_WF_COUNT; i++) {
        const vgen_wformat_traits *t = vgen_wformat_get((vgen_wformat)i);
        qbuf q;
        vgen_err err;
        vgen_err_clear(&err);
        CHECKF(qbuf_quantize(&q, (vgen_wformat)i, w, N, K, &err) == 0, "%s: %s", t->name, err.msg);
        float *d = dequant_all(&q);
        for (int j = 0; d && j < N * K; j++) {
            if (w[j] != 0.0f) continue;
            CHECKF(d[j] == 0.0f && !signbit(d[j]), "%s: zero at %d dequantizes to %g", t->name, j, d[j]);
        }
        if (t->scale_kind == VGEN_SCALE_ROW) CHECKF(q.scales[0] == 1.0f, "%s: zero-row scale", t->name);
        if (t->scale_kind == VGEN_SCALE_GROUP) CHECKF(q.scales[0] == 1.0f, "%s: zero-group scale", t->name);
        free(d);
        qbuf_free(&q);
    }
}

static void test_zero_matrix(void) {
    enum { N = 3, K = 65 };
    static const float w[N * K];
    for (int i = 0; i < VGEN_WF_COUNT; i++) {
        qbuf q;
        CHECK(qbuf_quantize(&q, (vgen_wformat)i, w, N, K, NULL) == 0);
        for (size_t j = 0; j < q.n_scales; j++) CHECK(q.scales[j] == 1.0f);
        float *d = dequant_all(&q);
        for (int j = 0; d && j < N * K; j++) CHECK(d[j] == 0.0f);
        free(d);
        qbuf_free(&q);
    }
}

/* ---- (e) non-finite input ------------------------------------------------------------------------------ */

static void check_rejected(vgen_wformat f, float bad, int row, int col, const char *what) {
    enum { N = 3, K = 7 };
    float w[N * K];
    fill_gauss(w, N, K, 11);
    w[row * K + col] = bad;
    qbuf q;
    vgen_err err;
    vgen_err_clear(&err);
    char want_row[32], want_col[32];
    snprintf(want_row, sizeof want_row, "row %d", row);
    snprintf(want_col, sizeof want_col, "column %d", col);
    CHECKF(qbuf_quantize(&q, f, w, N, K, &err) == VGEN_ERR_NUMERIC, "%s: %s accepted", vgen_wformat_get(f)->name, what);
    CHECK_EQ_INT(err.code, VGEN_ERR_NUMERIC);
    CHECK_STR_CONTAINS(err.msg, want_row);
    CHECK_STR_CONTAINS(err.msg, want_col);
    qbuf_free(&q);
}

static void test_nonfinite_rejected(void) {
    for (int i = 0; i < VGEN_WF_COUNT; i++) {
        check_rejected((vgen_wformat)i, NAN, 2, 5, "NaN");
        check_rejected((vgen_wformat)i, -NAN, 1, 0, "-NaN");
        check_rejected((vgen_wformat)i, INFINITY, 0, 6, "Inf");
        check_rejected((vgen_wformat)i, -INFINITY, 2, 3, "-Inf");
    }
    check_rejected(VGEN_WF_F16, 65520.0f, 1, 2, "f16 overflow");
    check_rejected(VGEN_WF_F16, -70000.0f, 1, 2, "f16 overflow");
    check_rejected(VGEN_WF_BF16, 0x1.FFp127f, 0, 1, "bf16 overflow"); /* 0x7F7F8000 rounds to Inf */
    for (int i = VGEN_WF_INT8_ROW; i < VGEN_WF_COUNT; i++)
        check_rejected((vgen_wformat)i, -0x1p127f, 2, 6, "|w| >= 2^127");
}

/* Finite extremes never produce a non-finite scale or dequantized value. */
static void test_finite_extremes(void) {
    /* the largest magnitudes each format accepts */
    const float w[6] = {0x1.fffffep126f, -0x1.fffffep126f, 1.0f, 0x1p-149f, -0x1p-149f, 0.0f};
    for (int i = 0; i < VGEN_WF_COUNT; i++) {
        const vgen_wformat_traits *t = vgen_wformat_get((vgen_wformat)i);
        int plain_overflow = i == VGEN_WF_F16 || i == VGEN_WF_BF16;
        const float *x = plain_overflow ? w + 2 : w; /* f16/bf16 overflow is tested above */
        int64_t k = plain_overflow ? 4 : 6;
        qbuf q;
        vgen_err err;
        vgen_err_clear(&err);
        CHECKF(qbuf_quantize(&q, (vgen_wformat)i, x, 1, k, &err) == 0, "%s: %s", t->name, err.msg);
        for (size_t j = 0; j < q.n_scales; j++) CHECKF(isfinite(q.scales[j]) && q.scales[j] > 0, "%s", t->name);
        float *d = dequant_all(&q);
        for (int64_t j = 0; d && j < k; j++) CHECKF(isfinite(d[j]), "%s: deq[%" PRId64 "] = %g", t->name, j, d[j]);
        free(d);
        qbuf_free(&q);
        /* a group of only subnormals (amax / qmax underflows): finite, zero codes */
        const float tiny[2] = {0x1p-149f, -0x1p-148f};
        CHECKF(qbuf_quantize(&q, (vgen_wformat)i, tiny, 1, 2, &err) == 0, "%s: %s", t->name, err.msg);
        d = dequant_all(&q);
        for (int j = 0; d && j < 2; j++) CHECKF(fabsf(d[j] - tiny[j]) <= 0x1p-148f, "%s: tiny %g", t->name, d[j]);
        free(d);
        qbuf_free(&q);
    }
}

/* ---- (f) row slices -------------------------------------------------------------------------------------- */

static void test_dequant_slices(void) {
    enum { N = 7, K = 67 };
    static float w[N * K], part[N * K];
    fill_gauss(w, N, K, 3);
    for (int i = 0; i < VGEN_WF_COUNT; i++) {
        const vgen_wformat_traits *t = vgen_wformat_get((vgen_wformat)i);
        qbuf q;
        CHECK(qbuf_quantize(&q, (vgen_wformat)i, w, N, K, NULL) == 0);
        float *full = dequant_all(&q);
        static const int64_t ranges[][2] = {{3, 2}, {0, 1}, {6, 1}, {1, 6}, {2, 0}};
        for (size_t r = 0; full && r < sizeof ranges / sizeof ranges[0]; r++) {
            int64_t r0 = ranges[r][0], nr = ranges[r][1];
            memset(part, 0x7F, sizeof part);
            vgen_wformat_dequantize_rows(&q.m, r0, nr, part);
            CHECKF(memcmp(part, full + r0 * K, (size_t)(nr * K) * sizeof(float)) == 0,
                   "%s rows [%" PRId64 ", +%" PRId64 ")", t->name, r0, nr);
            CHECKF(((const uint8_t *)part)[nr * K * 4] == 0x7F, "%s wrote past the slice", t->name);
        }
        free(full);
        qbuf_free(&q);
    }
}

/* ---- (h) re-quantization --------------------------------------------------------------------------------- */

/* q(deq(q(W))) == q(W), for int8_row, fp8 and symmetric int4: codes exactly, scales to 1 ulp.
 * Why: the element at amax gets the extreme code, so deq(q(W)) has amax' = qmax * s up to one float rounding,
 * s' = amax' / qmax equals s within an ulp, and w' / s' = q (1 +- a few ulp) rounds back to q.
 *
 * Zero-point int4 is NOT idempotent in general: z = round(-lo / s) and the code of hi is round(hi / s) + z; with
 * -lo / s + hi / s = 15 these add up to 15 except when both fractions sit at .5, where float rounding can send both
 * down (14 steps; a range symmetric about 0, e.g. outliers of +-x in one group, gives exactly 7.5 + 7.5). Then
 * deq(q(W)) spans 14 steps and the second pass picks a new scale. What is true, and tested: a group whose
 * dequantized range spans the full 15 steps (codes reach 0 or z == 0, and reach 15 or z == 15) re-quantizes to
 * the same codes, zero point and scale (1 ulp); any other group is such a .5 + .5 tie. */
static int zp_group_full(const qbuf *q, int64_t r, int64_t g) {
    const vgen_wformat_traits *t = vgen_wformat_get(q->m.format);
    int64_t ng = (int64_t)q->n_zeros / q->m.rows, k = q->m.cols, k0 = g * t->group;
    int64_t row_bytes = (k + 1) / 2, z = q->zeros[r * ng + g];
    int lo = 15, hi = 0;
    for (int64_t j = k0; j < k && j < k0 + t->group; j++) {
        int c = nibble(q->data + r * row_bytes, j);
        lo = c < lo ? c : lo;
        hi = c > hi ? c : hi;
    }
    return (lo == 0 || z == 0) && (hi == 15 || z == 15);
}

static int zp_group_is_tie(const qbuf *q, const float *w, int64_t r, int64_t g) {
    const vgen_wformat_traits *t = vgen_wformat_get(q->m.format);
    int64_t ng = (int64_t)q->n_zeros / q->m.rows, k = q->m.cols, k0 = g * t->group;
    float lo = 0.0f, hi = 0.0f, s = q->scales[r * ng + g];
    for (int64_t j = k0; j < k && j < k0 + t->group; j++) {
        lo = fminf(lo, w[r * k + j]);
        hi = fmaxf(hi, w[r * k + j]);
    }
    double a = -lo / s, b = hi / s;
    return fabs(a - floor(a) - 0.5) < 1e-4 && fabs(b - floor(b) - 0.5) < 1e-4;
}

/* Compares q1 and q2 group by group (zero-point int4); returns the number of .5 + .5 tie groups. */
static size_t check_zp_groups(const qbuf *q1, const qbuf *q2, const float *w) {
    const vgen_wformat_traits *t = vgen_wformat_get(q1->m.format);
    int64_t n = q1->m.rows, k = q1->m.cols, ng = (int64_t)q1->n_zeros / n, row_bytes = (k + 1) / 2;
    size_t ties = 0;
    for (int64_t r = 0; r < n; r++) {
        for (int64_t g = 0; g < ng; g++) {
            if (!zp_group_full(q1, r, g)) {
                CHECKF(zp_group_is_tie(q1, w, r, g), "%s: row %" PRId64 " group %" PRId64 " lost a step", t->name,
                       r, g);
                ties++;
                continue;
            }
            int same = q1->zeros[r * ng + g] == q2->zeros[r * ng + g];
            for (int64_t j = g * t->group; j < k && j < (g + 1) * t->group; j++)
                same &= nibble(q1->data + r * row_bytes, j) == nibble(q2->data + r * row_bytes, j);
            CHECKF(same, "%s: row %" PRId64 " group %" PRId64 " changed on re-quantization", t->name, r, g);
        }
    }
    return ties;
}

static void check_idempotent(vgen_wformat f, const float *w, int64_t n, int64_t k, const char *data_name) {
    const vgen_wformat_traits *t = vgen_wformat_get(f);
    qbuf q1, q2;
    CHECK(qbuf_quantize(&q1, f, w, n, k, NULL) == 0);
    float *d1 = dequant_all(&q1);
    if (!d1) {
        qbuf_free(&q1);
        return;
    }
    CHECK(qbuf_quantize(&q2, f, d1, n, k, NULL) == 0);
    size_t diff_codes = 0, ties = 0, moved = 0, exact_scales = 0;
    if (t->has_zero) {
        ties = check_zp_groups(&q1, &q2, w);
    } else {
        for (size_t i = 0; i < q1.data_bytes; i++) diff_codes += q1.data[i] != q2.data[i];
    }
    for (size_t i = 0; i < q1.n_scales; i++) {
        exact_scales += q1.scales[i] == q2.scales[i];
        moved += fabsf(q1.scales[i] - q2.scales[i]) > q1.scales[i] * FLT_EPSILON;
    }
    CHECKF(diff_codes == 0, "%s (%s): %zu code bytes changed on re-quantization", t->name, data_name, diff_codes);
    CHECKF(moved == ties, "%s (%s): %zu scales moved by more than 1 ulp, %zu tie groups", t->name, data_name, moved,
           ties);
    printf("  requant %-16s %-8s scales bit-identical %zu/%zu, .5+.5 tie groups %zu\n", t->name, data_name,
           exact_scales, q1.n_scales, ties);
    free(d1);
    qbuf_free(&q1);
    qbuf_free(&q2);
}

static void test_idempotent(void) {
    enum { N = 32, K = 1031 }; /* odd K, partial groups */
    float *w = malloc(sizeof(float) * N * K);
    CHECK(w != NULL);
    if (!w) return;
    for (int pass = 0; pass < 2; pass++) {
        (pass ? fill_outlier : fill_gauss)(w, N, K, 99 + (uint64_t)pass);
        for (int f = VGEN_WF_INT8_ROW; f < VGEN_WF_COUNT; f++)
            check_idempotent((vgen_wformat)f, w, N, K, pass ? "outlier" : "gauss");
    }
    free(w);
}

/* ---- element-wise bound ----------------------------------------------------------------------------------- */

/* int8_row and int4: every element is within half a step (s / 2) of its dequantized value, outliers included;
 * zero-point groups too (rounding z clips an end of the range by at most s / 2). */
static void check_half_step(vgen_wformat f, const float *w, int64_t n, int64_t k) {
    const vgen_wformat_traits *t = vgen_wformat_get(f);
    qbuf q;
    CHECK(qbuf_quantize(&q, f, w, n, k, NULL) == 0);
    float *d = dequant_all(&q);
    int64_t span = t->group ? t->group : k, ng = (k + span - 1) / span;
    double worst = 0.0;
    for (int64_t r = 0; d && r < n; r++) {
        for (int64_t j = 0; j < k; j++) {
            double s = q.scales[r * ng + j / span], e = fabs((double)w[r * k + j] - d[r * k + j]);
            worst = fmax(worst, e / s);
            CHECKF(e <= 0.5 * s * (1 + 1e-5), "%s: [%" PRId64 ", %" PRId64 "] error %g, step %g", t->name, r, j, e, s);
        }
    }
    printf("  %-16s max |error| / step %.6f\n", t->name, worst);
    free(d);
    qbuf_free(&q);
}

static void test_half_step(void) {
    enum { N = 16, K = 1031 };
    float *w = malloc(sizeof(float) * N * K);
    CHECK(w != NULL);
    for (int pass = 0; w && pass < 2; pass++) {
        (pass ? fill_outlier : fill_gauss)(w, N, K, 5 + (uint64_t)pass);
        check_half_step(VGEN_WF_INT8_ROW, w, N, K);
        for (int f = VGEN_WF_INT4_G32; f < VGEN_WF_COUNT; f++) check_half_step((vgen_wformat)f, w, N, K);
    }
    free(w);
}

/* ---- (a) round-trip error budgets ------------------------------------------------------------------------ */

static void check_budgets(int64_t n, int64_t k) {
    float *g = malloc(sizeof(float) * (size_t)(n * k)), *o = malloc(sizeof(float) * (size_t)(n * k));
    CHECK(g && o);
    if (g && o) {
        fill_gauss(g, n, k, 1);
        fill_outlier(o, n, k, 2);
        printf("  N=%" PRId64 " K=%" PRId64 "\n  %-16s %10s %10s   budgets\n", n, k, "format", "gauss", "outlier");
        for (int i = 0; i < VGEN_WF_COUNT; i++) {
            const vgen_wformat_traits *t = vgen_wformat_get((vgen_wformat)i);
            double eg = roundtrip_error((vgen_wformat)i, g, n, k), eo = roundtrip_error((vgen_wformat)i, o, n, k);
            printf("  %-16s %10.3e %10.3e   %.2g %.2g\n", t->name, eg, eo, t->budget_gauss, t->budget_outlier);
            CHECKF(eg <= t->budget_gauss, "%s gauss error %.4g over budget %.4g", t->name, eg, t->budget_gauss);
            CHECKF(eo <= t->budget_outlier, "%s outlier error %.4g over budget %.4g", t->name, eo, t->budget_outlier);
        }
    }
    free(g);
    free(o);
}

static void test_budgets(void) {
    check_budgets(64, 4096);
    check_budgets(64, 4097); /* odd K: a 1-element last group */
    check_budgets(61, 1000); /* partial groups of 8, 40 and 104 */
}

int main(void) {
    RUN(test_names);
    RUN(test_traits);
    RUN(test_sizes_odd_k);
    RUN(test_sizes_invalid);
    RUN(test_exact_cases);
    RUN(test_int4_groups);
    RUN(test_zero_rows);
    RUN(test_zero_matrix);
    RUN(test_nonfinite_rejected);
    RUN(test_finite_extremes);
    RUN(test_dequant_slices);
    RUN(test_idempotent);
    RUN(test_half_step);
    RUN(test_budgets);
    return test_summary();
}

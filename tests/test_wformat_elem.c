/* test_wformat_elem.c - the per-element decoders of core/wformat_elem.h (the code the CUDA dequantization kernel
 * runs) against the reference row dequantizer of core/wformat.c and the format table, bit for bit:
 *   - the layout facts of the header (bits, group, scale kind, zero points, row bytes, groups) equal the table's;
 *   - for every format, on quantized random matrices and on random raw bytes/scales/zero points, vgen_wfe_at gives
 *     exactly the floats vgen_wformat_dequantize_rows gives, for every element;
 *   - all 256 e4m3 codes, and all 16 nibble values in both nibble positions, with hand-checked values. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "numeric.h"
#include "testutil.h"
#include "wformat.h"
#include "wformat_elem.h"

/* Bit equality, so that NaN payloads and signed zeros count too. */
static int same_bits(float a, float b) { return vgen_f32_bits(a) == vgen_f32_bits(b); }

/* ---- layout facts ---------------------------------------------------------------------------------------------- */

static void test_layout_matches_table(void) {
    const int64_t ks[] = {1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 4097};
    for (int fi = 0; fi < VGEN_WF_COUNT; fi++) {
        vgen_wformat f = (vgen_wformat)fi;
        const vgen_wformat_traits *t = vgen_wformat_get(f);
        CHECKF(t != NULL, "format %d has no table entry", fi);
        if (!t) continue;
        CHECKF(vgen_wfe_bits(f) == t->bits, "%s bits", t->name);
        CHECKF(vgen_wfe_group(f) == t->group, "%s group", t->name);
        CHECKF((int)vgen_wfe_scale_kind(f) == (int)t->scale_kind, "%s scale kind", t->name);
        CHECKF(vgen_wfe_has_zero(f) == t->has_zero, "%s zero points", t->name);
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
            size_t rb = 0, ns = 0, nz = 0;
            const int64_t n = 3, k = ks[i];
            CHECK(vgen_wformat_row_bytes(f, k, &rb) == VGEN_OK);
            CHECK(vgen_wformat_scale_count(f, n, k, &ns) == VGEN_OK);
            CHECK(vgen_wformat_zero_count(f, n, k, &nz) == VGEN_OK);
            CHECKF((size_t)vgen_wfe_row_bytes(f, k) == rb, "%s row bytes at K=%lld", t->name, (long long)k);
            int64_t per_row = (t->scale_kind == VGEN_SCALE_ROW || t->scale_kind == VGEN_SCALE_GROUP)
                                  ? vgen_wfe_groups(f, k) : 0;
            if (t->scale_kind == VGEN_SCALE_TENSOR) CHECKF(ns == 1, "%s tensor scale count", t->name);
            else CHECKF((size_t)(n * per_row) == ns, "%s scale count at K=%lld", t->name, (long long)k);
            CHECKF(nz == (t->has_zero ? (size_t)(n * per_row) : 0), "%s zero count at K=%lld", t->name, (long long)k);
        }
    }
    CHECK(vgen_wfe_bits((vgen_wformat)VGEN_WF_COUNT) == 0);
    CHECK(isnan(vgen_wfe_decode((vgen_wformat)VGEN_WF_COUNT, (const uint8_t *)"\0\0\0\0", 0, 1.0f, 0)));
}

/* ---- whole matrices -------------------------------------------------------------------------------------------- */

typedef struct qmat {
    vgen_qmatrix m;
    uint8_t *data;
    float *scales;
    uint8_t *zeros;
    size_t data_bytes, n_scales, n_zeros;
} qmat;

static void qmat_free(qmat *q) {
    free(q->data);
    free(q->scales);
    free(q->zeros);
    memset(q, 0, sizeof *q);
}

/* Buffers for format f, [N, K]; 0 on success. */
static int qmat_alloc(qmat *q, vgen_wformat f, int64_t n, int64_t k) {
    memset(q, 0, sizeof *q);
    if (vgen_wformat_data_bytes(f, n, k, &q->data_bytes) || vgen_wformat_scale_count(f, n, k, &q->n_scales) ||
        vgen_wformat_zero_count(f, n, k, &q->n_zeros))
        return -1;
    q->data = malloc(q->data_bytes);
    q->scales = calloc(q->n_scales + 1, sizeof(float));
    q->zeros = calloc(q->n_zeros + 1, 1);
    if (!q->data || !q->scales || !q->zeros) {
        qmat_free(q);
        return -1;
    }
    q->m = (vgen_qmatrix){.format = f, .rows = n, .cols = k, .data = q->data,
                          .scales = q->n_scales ? q->scales : NULL, .zeros = q->n_zeros ? q->zeros : NULL};
    return 0;
}

/* Every element of q: the row dequantizer's float == vgen_wfe_at's float, bit for bit. Returns mismatches. */
static int64_t compare_all(const qmat *q, const char *what) {
    const int64_t n = q->m.rows, k = q->m.cols;
    float *ref = malloc((size_t)(n * k) * sizeof *ref);
    CHECKF(ref != NULL, "out of memory");
    if (!ref) return 1;
    vgen_wformat_dequantize_rows(&q->m, 0, n, ref);
    int64_t bad = 0;
    for (int64_t r = 0; r < n; r++) {
        for (int64_t j = 0; j < k; j++) {
            float e = vgen_wfe_at(&q->m, r, j);
            if (same_bits(e, ref[r * k + j])) continue;
            if (bad++ < 3)
                CHECKF(0, "%s %s [%lld, %lld]: element %.9g, row dequantizer %.9g", vgen_wformat_get(q->m.format)->name,
                       what, (long long)r, (long long)j, (double)e, (double)ref[r * k + j]);
        }
    }
    free(ref);
    return bad;
}

/* Quantized N(0,1) weights with a few outliers and an all-zero row (scale 1 stored). */
static void check_quantized(vgen_wformat f, int64_t n, int64_t k, uint64_t seed) {
    float *w = malloc((size_t)(n * k) * sizeof *w);
    qmat q;
    int ok = w && qmat_alloc(&q, f, n, k) == 0;
    CHECKF(ok, "out of memory");
    if (!ok) {
        free(w);
        return;
    }
    rng r = {seed};
    for (int64_t i = 0; i < n * k; i++) w[i] = (float)rng_normal(&r);
    for (int64_t i = 0; i < n; i++) w[i * k + (int64_t)(rng_next(&r) % (uint64_t)k)] *= 40.0f;
    memset(w, 0, (size_t)k * sizeof *w); /* row 0 all zero */
    vgen_err err = {0};
    int rc = vgen_wformat_quantize(f, w, n, k, q.data, q.n_scales ? q.scales : NULL, q.n_zeros ? q.zeros : NULL, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    CHECK_EQ_INT(compare_all(&q, "quantized"), 0);
    qmat_free(&q);
    free(w);
}

/* Random bytes for the data (every code, NaN/Inf encodings included), random scales of both signs and magnitudes,
 * random zero points 0..15. */
static void check_raw(vgen_wformat f, int64_t n, int64_t k, uint64_t seed) {
    qmat q;
    CHECKF(qmat_alloc(&q, f, n, k) == 0, "out of memory");
    if (!q.data) return;
    rng r = {seed};
    for (size_t i = 0; i < q.data_bytes; i++) q.data[i] = (uint8_t)rng_next(&r);
    for (size_t i = 0; i < q.n_scales; i++)
        q.scales[i] = (float)(rng_normal(&r) * ldexp(1.0, (int)(rng_next(&r) % 40) - 30));
    for (size_t i = 0; i < q.n_zeros; i++) q.zeros[i] = (uint8_t)(rng_next(&r) % 16);
    CHECK_EQ_INT(compare_all(&q, "raw"), 0);
    qmat_free(&q);
}

static void test_every_format_matches_rows(void) {
    /* K values: multiples of every group, a ragged last group, an odd K (last high nibble unused). */
    const int64_t shapes[][2] = {{5, 256}, {7, 200}, {3, 129}, {4, 33}, {2, 1}};
    for (int fi = 0; fi < VGEN_WF_COUNT; fi++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            uint64_t seed = 1000u * (uint64_t)fi + s;
            check_quantized((vgen_wformat)fi, shapes[s][0], shapes[s][1], seed);
            check_raw((vgen_wformat)fi, shapes[s][0], shapes[s][1], seed + 77);
        }
    }
}

/* ---- fp8 codes ------------------------------------------------------------------------------------------------- */

static void test_all_e4m3_codes(void) {
    const float scales[] = {1.0f, 0.0078125f, -3.5f, 1.7e-3f};
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
        const float s = scales[si];
        /* one fp8_e4m3_row row holding the 256 codes, and a tensor-scaled copy */
        uint8_t codes[256];
        for (int c = 0; c < 256; c++) codes[c] = (uint8_t)c;
        float ref_row[256], ref_tensor[256];
        vgen_qmatrix mr = {VGEN_WF_FP8_E4M3_ROW, 1, 256, codes, &s, NULL};
        vgen_qmatrix mt = {VGEN_WF_FP8_E4M3_TENSOR, 1, 256, codes, &s, NULL};
        vgen_wformat_dequantize_rows(&mr, 0, 1, ref_row);
        vgen_wformat_dequantize_rows(&mt, 0, 1, ref_tensor);
        int bad = 0;
        for (int c = 0; c < 256; c++) {
            float v = vgen_wfe_fp8((uint8_t)c, s);
            bad += !same_bits(v, vgen_e4m3_to_f32((uint8_t)c) * s);
            bad += !same_bits(v, ref_row[c]) || !same_bits(v, ref_tensor[c]);
            bad += !same_bits(v, vgen_wfe_at(&mr, 0, c)) || !same_bits(v, vgen_wfe_at(&mt, 0, c));
        }
        CHECKF(bad == 0, "e4m3 codes disagree (%d) at scale %g", bad, (double)s);
    }
    /* hand-checked codes (scale 1) */
    CHECK(vgen_wfe_fp8(0x38, 1.0f) == 1.0f);             /* 0.0111.000 = 2^0 */
    CHECK(vgen_wfe_fp8(0x7e, 1.0f) == 448.0f);           /* the largest finite value */
    CHECK(vgen_wfe_fp8(0xfe, 1.0f) == -448.0f);
    CHECK(vgen_wfe_fp8(0x01, 1.0f) == 0x1p-9f);          /* smallest subnormal */
    CHECK(vgen_wfe_fp8(0x08, 1.0f) == 0x1p-6f);          /* smallest normal */
    CHECK(vgen_wfe_fp8(0x3c, 2.0f) == 3.0f);             /* 1.5 * 2 */
    CHECK(isnan(vgen_wfe_fp8(0x7f, 1.0f)) && isnan(vgen_wfe_fp8(0xff, 1.0f)));
    CHECK(same_bits(vgen_wfe_fp8(0x80, 1.0f), -0.0f));
}

/* ---- int4 nibbles ---------------------------------------------------------------------------------------------- */

static void test_all_nibbles(void) {
    /* Row of K = 32 (one group): byte b holds (lo = b % 16, hi = 15 - b % 16), so each value appears in each slot. */
    uint8_t row[16];
    for (int b = 0; b < 16; b++) row[b] = (uint8_t)((b & 15) | ((15 - (b & 15)) << 4));
    for (int b = 0; b < 16; b++) {
        CHECK_EQ_INT(vgen_wfe_nibble(row, 2 * b), b);
        CHECK_EQ_INT(vgen_wfe_nibble(row, 2 * b + 1), 15 - b);
    }
    const float s = 0.375f;
    const uint8_t z = 11;
    vgen_qmatrix sym = {VGEN_WF_INT4_G32, 1, 32, row, &s, NULL};
    vgen_qmatrix zp = {VGEN_WF_INT4_G32_ZP, 1, 32, row, &s, &z};
    float ref_sym[32], ref_zp[32];
    vgen_wformat_dequantize_rows(&sym, 0, 1, ref_sym);
    vgen_wformat_dequantize_rows(&zp, 0, 1, ref_zp);
    for (int j = 0; j < 32; j++) {
        int q = (j & 1) ? 15 - j / 2 : j / 2;
        CHECKF(vgen_wfe_at(&sym, 0, j) == (float)(q - 8) * s && same_bits(vgen_wfe_at(&sym, 0, j), ref_sym[j]),
               "symmetric nibble %d at %d", q, j);
        CHECKF(vgen_wfe_at(&zp, 0, j) == (float)(q - 11) * s && same_bits(vgen_wfe_at(&zp, 0, j), ref_zp[j]),
               "zero-point nibble %d at %d", q, j);
    }
    for (int q = 0; q < 16; q++) CHECK(vgen_wfe_int4(q, 8, 1.0f) == (float)(q - 8));
}

/* int8 codes: all 256, row dequantizer agreement. */
static void test_all_int8_codes(void) {
    uint8_t codes[256];
    for (int c = 0; c < 256; c++) codes[c] = (uint8_t)c;
    const float s = 0.01f;
    vgen_qmatrix m = {VGEN_WF_INT8_ROW, 1, 256, codes, &s, NULL};
    float ref[256];
    vgen_wformat_dequantize_rows(&m, 0, 1, ref);
    for (int c = 0; c < 256; c++) {
        float want = (float)(c < 128 ? c : c - 256) * s;
        CHECKF(same_bits(vgen_wfe_int8((uint8_t)c, s), want) && same_bits(ref[c], want), "int8 code %d", c);
    }
}

int main(void) {
    RUN(test_layout_matches_table);
    RUN(test_every_format_matches_rows);
    RUN(test_all_e4m3_codes);
    RUN(test_all_nibbles);
    RUN(test_all_int8_codes);
    return test_summary();
}

/* wformat.c - the weight-format table, size arithmetic, and the reference quantizer / dequantizer (wformat.h).
 *
 * Reference rules (the definition that faster paths are tested against):
 *   - a code is computed from w / s, a float32 division by the stored scale (never a multiplication by 1/s),
 *     rounded with roundf (halfway cases away from zero) and clamped to the code range;
 *   - dequantization is w = (q - offset) * s in float32: offset 0 for int8/fp8, 8 for symmetric int4, the stored
 *     zero point for the _zp formats; the decoders below call the per-element functions of wformat_elem.h, the same
 *     code the CUDA dequantization kernel runs;
 *   - symmetric scales: s = amax / qmax with qmax 127 (int8), 448 (fp8), 7 (int4); amax over the row, the
 *     tensor or the group;
 *   - zero-point int4: the group's range widened to contain 0, lo = min(min, 0), hi = max(max, 0);
 *     s = (hi - lo) / 15 computed in double and rounded once to float (no overflow for finite input),
 *     z = clamp(round(-lo / s), 0, 15), q = clamp(round(w / s) + z, 0, 15); w = 0 gives q = z exactly;
 *   - a scale that would be 0 (an all-zero row, group or tensor, or amax / qmax underflowing) is stored as 1:
 *     every code is then the zero code and the span dequantizes to exact zeros.
 * The plain formats convert with round-to-nearest-even (core/numeric.h). Inputs that would become Inf in f16 or
 * bf16, and |w| >= 2^127 in the scaled formats, are rejected like NaN/Inf (VGEN_ERR_NUMERIC), so every quantized
 * matrix dequantizes to finite weights.
 */
#include "wformat.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "checked.h"
#include "numeric.h"
#include "wformat_elem.h"

/* Encodes x[0..len) with scale s and zero code z into the codes k0.. of a row (the row was zeroed first). */
typedef void (*wf_encode_fn)(const float *x, int64_t len, float s, int z, uint8_t *row, int64_t k0);
/* Decodes codes k0..k0+len of a row into out[0..len): (q - z) * s, or the plain value. */
typedef void (*wf_decode_fn)(const uint8_t *row, int64_t k0, int64_t len, float s, int z, float *out);

typedef struct wf_entry {
    vgen_wformat_traits traits;
    wf_encode_fn encode;
    wf_decode_fn decode;
    float qmax;     /* symmetric: amax maps to this code magnitude; zero-point: number of code steps (15) */
    int offset;     /* the code of zero in symmetric formats */
    float overflow; /* plain formats: |w| >= overflow would not be finite in the storage type */
} wf_entry;

/* ---- codecs: one encode/decode pair per storage kind --------------------------------------------------- */

static float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

static void encode_f32(const float *x, int64_t len, float s, int z, uint8_t *row, int64_t k0) {
    (void)s, (void)z;
    memcpy(row + 4 * k0, x, (size_t)len * 4);
}

static void decode_f32(const uint8_t *row, int64_t k0, int64_t len, float s, int z, float *out) {
    (void)s, (void)z;
    for (int64_t i = 0; i < len; i++) out[i] = vgen_wfe_f32_at(row, k0 + i);
}

static void encode_f16(const float *x, int64_t len, float s, int z, uint8_t *row, int64_t k0) {
    (void)s, (void)z;
    for (int64_t i = 0; i < len; i++) {
        uint16_t h = vgen_f32_to_f16(x[i]);
        memcpy(row + 2 * (k0 + i), &h, 2);
    }
}

static void decode_f16(const uint8_t *row, int64_t k0, int64_t len, float s, int z, float *out) {
    (void)s, (void)z;
    for (int64_t i = 0; i < len; i++) out[i] = vgen_wfe_f16_at(row, k0 + i);
}

static void encode_bf16(const float *x, int64_t len, float s, int z, uint8_t *row, int64_t k0) {
    (void)s, (void)z;
    for (int64_t i = 0; i < len; i++) {
        uint16_t h = vgen_f32_to_bf16(x[i]);
        memcpy(row + 2 * (k0 + i), &h, 2);
    }
}

static void decode_bf16(const uint8_t *row, int64_t k0, int64_t len, float s, int z, float *out) {
    (void)s, (void)z;
    for (int64_t i = 0; i < len; i++) out[i] = vgen_wfe_bf16_at(row, k0 + i);
}

static void encode_int8(const float *x, int64_t len, float s, int z, uint8_t *row, int64_t k0) {
    (void)z;
    for (int64_t i = 0; i < len; i++) {
        float q = clampf(roundf(x[i] / s), -127.0f, 127.0f);
        row[k0 + i] = (uint8_t)(int8_t)q;
    }
}

static void decode_int8(const uint8_t *row, int64_t k0, int64_t len, float s, int z, float *out) {
    (void)z;
    for (int64_t i = 0; i < len; i++) out[i] = vgen_wfe_int8(row[k0 + i], s);
}

static void encode_fp8(const float *x, int64_t len, float s, int z, uint8_t *row, int64_t k0) {
    (void)z;
    for (int64_t i = 0; i < len; i++) row[k0 + i] = vgen_f32_to_e4m3_sat(x[i] / s);
}

static void decode_fp8(const uint8_t *row, int64_t k0, int64_t len, float s, int z, float *out) {
    (void)z;
    for (int64_t i = 0; i < len; i++) out[i] = vgen_wfe_fp8(row[k0 + i], s);
}

/* int4: element j in byte j/2, low nibble for even j. Symmetric int4 is the zero-point codec with z = 8. */
static void encode_int4(const float *x, int64_t len, float s, int z, uint8_t *row, int64_t k0) {
    for (int64_t i = 0; i < len; i++) {
        uint8_t q = (uint8_t)clampf(roundf(x[i] / s) + (float)z, 0.0f, 15.0f);
        int64_t j = k0 + i;
        row[j >> 1] |= (uint8_t)((j & 1) ? q << 4 : q);
    }
}

static void decode_int4(const uint8_t *row, int64_t k0, int64_t len, float s, int z, float *out) {
    for (int64_t i = 0; i < len; i++) out[i] = vgen_wfe_int4(vgen_wfe_nibble(row, k0 + i), z, s);
}

/* ---- the table (append-only, indexed by vgen_wformat) ------------------------------------------------- */

/* Budgets {gauss, outlier}: the relative RMS round-trip error measured by tests/test_wformat.c (largest over its
 * [64, 4096], [64, 4097] and [61, 1000] matrices) times 1.25, rounded up to two significant digits; the measured
 * values are quoted in docs/formats.md. f32 is an exact copy. */
#define WF_PLAIN(nm, b, dt, enc, dec, ovf, bg, bo) \
    {{nm, b, 0, VGEN_SCALE_NONE, 0, dt, bg, bo}, enc, dec, 0.0f, 0, ovf}
/* Scaled formats reject |w| >= 2^127 (half of FLT_MAX): beyond that, (q - z) * s can round past FLT_MAX. */
#define WF_SYM(nm, b, kind, dt, enc, dec, qm, bg, bo) \
    {{nm, b, 0, kind, 0, dt, bg, bo}, enc, dec, qm, 0, 0x1p127f}
#define WF_INT4(nm, g, zp, bg, bo) \
    {{nm, 4, g, VGEN_SCALE_GROUP, zp, "U8", bg, bo}, encode_int4, decode_int4, (zp) ? 15.0f : 7.0f, 8, 0x1p127f}

static const wf_entry k_formats[VGEN_WF_COUNT] = {
    [VGEN_WF_F32] = WF_PLAIN("f32", 32, "F32", encode_f32, decode_f32, INFINITY, 0.0f, 0.0f),
    [VGEN_WF_F16] = WF_PLAIN("f16", 16, "F16", encode_f16, decode_f16, 65520.0f, 2.6e-4f, 3.2e-4f),
    /* 0x7F7F8000: the smallest float that rounds to bf16 Inf */
    [VGEN_WF_BF16] = WF_PLAIN("bf16", 16, "BF16", encode_bf16, decode_bf16, 0x1.FFp127f, 2.1e-3f, 1.7e-3f),
    [VGEN_WF_INT8_ROW] = WF_SYM("int8_row", 8, VGEN_SCALE_ROW, "I8", encode_int8, decode_int8, 127.0f,
                                1.2e-2f, 7.7e-2f),
    [VGEN_WF_FP8_E4M3_ROW] = WF_SYM("fp8_e4m3_row", 8, VGEN_SCALE_ROW, "F8_E4M3", encode_fp8, decode_fp8,
                                    VGEN_E4M3_MAX, 3.4e-2f, 1.8e-2f),
    [VGEN_WF_FP8_E4M3_TENSOR] = WF_SYM("fp8_e4m3_tensor", 8, VGEN_SCALE_TENSOR, "F8_E4M3", encode_fp8,
                                       decode_fp8, VGEN_E4M3_MAX, 3.4e-2f, 1.8e-2f),
    [VGEN_WF_INT4_G32] = WF_INT4("int4_g32", 32, 0, 0.13f, 0.14f),
    [VGEN_WF_INT4_G64] = WF_INT4("int4_g64", 64, 0, 0.14f, 0.19f),
    [VGEN_WF_INT4_G128] = WF_INT4("int4_g128", 128, 0, 0.15f, 0.25f),
    [VGEN_WF_INT4_G32_ZP] = WF_INT4("int4_g32_zp", 32, 1, 0.11f, 0.11f),
    [VGEN_WF_INT4_G64_ZP] = WF_INT4("int4_g64_zp", 64, 1, 0.12f, 0.15f),
    [VGEN_WF_INT4_G128_ZP] = WF_INT4("int4_g128_zp", 128, 1, 0.13f, 0.20f),
};

static const wf_entry *entry_of(vgen_wformat f) {
    int i = (int)f;
    return (i >= 0 && i < VGEN_WF_COUNT) ? &k_formats[i] : NULL;
}

const vgen_wformat_traits *vgen_wformat_get(vgen_wformat f) {
    const wf_entry *e = entry_of(f);
    return e ? &e->traits : NULL;
}

int vgen_wformat_from_name(const char *name, vgen_wformat *out) {
    for (int i = 0; name && i < VGEN_WF_COUNT; i++) {
        if (strcmp(k_formats[i].traits.name, name) == 0) {
            *out = (vgen_wformat)i;
            return VGEN_OK;
        }
    }
    return VGEN_ERR_NOT_FOUND;
}

/* ---- sizes --------------------------------------------------------------------------------------------- */

/* Elements per stored scale along K: the group, or the whole row (row / tensor scales and plain formats). */
static int64_t span_of(const wf_entry *e, int64_t k) {
    return e->traits.scale_kind == VGEN_SCALE_GROUP ? e->traits.group : k;
}

static int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

int vgen_wformat_row_bytes(vgen_wformat f, int64_t k, size_t *out) {
    const wf_entry *e = entry_of(f);
    if (!e) return VGEN_ERR_INVALID_ARGUMENT;
    uint64_t bits;
    if (k <= 0 || !vgen_mul_u64((uint64_t)k, (uint64_t)e->traits.bits, &bits)) return VGEN_ERR_SHAPE;
    uint64_t bytes = bits / 8 + (bits % 8 != 0);
    if (bytes > SIZE_MAX) return VGEN_ERR_SHAPE;
    *out = (size_t)bytes;
    return VGEN_OK;
}

int vgen_wformat_data_bytes(vgen_wformat f, int64_t n, int64_t k, size_t *out) {
    size_t row;
    int rc = vgen_wformat_row_bytes(f, k, &row);
    if (rc) return rc;
    if (n <= 0 || (uint64_t)n > SIZE_MAX || !vgen_mul_size((size_t)n, row, out)) return VGEN_ERR_SHAPE;
    return VGEN_OK;
}

/* n * (groups per row), for scale or zero-point arrays. */
static int per_group_count(const wf_entry *e, int64_t n, int64_t k, size_t *out) {
    if (n <= 0 || k <= 0 || (uint64_t)n > SIZE_MAX) return VGEN_ERR_SHAPE;
    uint64_t groups = (uint64_t)ceil_div(k, span_of(e, k));
    if (groups > SIZE_MAX || !vgen_mul_size((size_t)n, (size_t)groups, out)) return VGEN_ERR_SHAPE;
    return VGEN_OK;
}

int vgen_wformat_scale_count(vgen_wformat f, int64_t n, int64_t k, size_t *out) {
    const wf_entry *e = entry_of(f);
    if (!e) return VGEN_ERR_INVALID_ARGUMENT;
    if (n <= 0 || k <= 0) return VGEN_ERR_SHAPE;
    switch (e->traits.scale_kind) {
    case VGEN_SCALE_NONE: *out = 0; return VGEN_OK;
    case VGEN_SCALE_TENSOR: *out = 1; return VGEN_OK;
    default: return per_group_count(e, n, k, out); /* row: one "group" of K per row */
    }
}

int vgen_wformat_zero_count(vgen_wformat f, int64_t n, int64_t k, size_t *out) {
    const wf_entry *e = entry_of(f);
    if (!e) return VGEN_ERR_INVALID_ARGUMENT;
    if (n <= 0 || k <= 0) return VGEN_ERR_SHAPE;
    if (!e->traits.has_zero) {
        *out = 0;
        return VGEN_OK;
    }
    return per_group_count(e, n, k, out);
}

/* ---- reference quantizer ------------------------------------------------------------------------------ */

static float nonzero_scale(float s) { return s > 0.0f ? s : 1.0f; }

/* Symmetric scale of x[0..len): amax / qmax; z is the format's zero code. */
static void params_sym(const wf_entry *e, const float *x, int64_t len, float *s, int *z) {
    float amax = 0.0f;
    for (int64_t i = 0; i < len; i++) amax = fmaxf(amax, fabsf(x[i]));
    *s = nonzero_scale(amax / e->qmax);
    *z = e->offset;
}

/* Zero-point scale and code of x[0..len) over [min(min, 0), max(max, 0)]. */
static void params_zp(const wf_entry *e, const float *x, int64_t len, float *s, int *z) {
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < len; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
    }
    *s = nonzero_scale((float)(((double)hi - (double)lo) / e->qmax));
    *z = (int)clampf(roundf(-lo / *s), 0.0f, 15.0f);
}

/* Rejects NaN/Inf (and values a plain format cannot hold), naming the first offending element. */
static int check_finite(const wf_entry *e, const float *w, int64_t n, int64_t k, vgen_err *err) {
    for (int64_t r = 0; r < n; r++) {
        for (int64_t c = 0; c < k; c++) {
            float v = w[r * k + c];
            if (isfinite(v) && fabsf(v) < e->overflow) continue;
            return vgen_err_set(err, VGEN_ERR_NUMERIC, "%s: weight %g at row %" PRId64 ", column %" PRId64 " %s",
                                e->traits.name, v, r, c, isfinite(v) ? "overflows the format" : "is not finite");
        }
    }
    return VGEN_OK;
}

/* One row. x: [K]; row: row_bytes; s_row, z_row: this row's ceil(K/span) scales / zero points (or NULL);
 * ts: the tensor scale (VGEN_SCALE_TENSOR only). */
static void quantize_row(const wf_entry *e, const float *x, int64_t k, uint8_t *row, size_t row_bytes,
                         float *s_row, uint8_t *z_row, float ts) {
    const vgen_wformat_traits *t = &e->traits;
    int64_t span = span_of(e, k);
    memset(row, 0, row_bytes);
    for (int64_t k0 = 0, g = 0; k0 < k; k0 += span, g++) {
        int64_t len = k - k0 < span ? k - k0 : span;
        float s = 1.0f;
        int z = 0;
        if (t->scale_kind == VGEN_SCALE_TENSOR) {
            s = ts;
            z = e->offset;
        } else if (t->scale_kind != VGEN_SCALE_NONE) {
            (t->has_zero ? params_zp : params_sym)(e, x + k0, len, &s, &z);
            s_row[g] = s;
            if (t->has_zero) z_row[g] = (uint8_t)z;
        }
        e->encode(x + k0, len, s, z, row, k0);
    }
}

/* Sizes and buffers of a quantize call; *per_row: scales (and zero points) per row, 0 for plain / per-tensor. */
static int check_quantize_args(const wf_entry *e, vgen_wformat f, const float *w, int64_t n, int64_t k,
                               const void *data, const float *scales, const uint8_t *zeros, int64_t *per_row,
                               vgen_err *err) {
    size_t data_bytes, n_scales, n_zeros, n_in;
    int rc = vgen_wformat_data_bytes(f, n, k, &data_bytes);
    if (!rc) rc = vgen_wformat_scale_count(f, n, k, &n_scales);
    if (!rc) rc = vgen_wformat_zero_count(f, n, k, &n_zeros);
    if (!rc && (!vgen_mul_size((size_t)n, (size_t)k, &n_in) || !vgen_mul_size(n_in, sizeof(float), &n_in)))
        rc = VGEN_ERR_SHAPE; /* the input W itself must be addressable */
    if (rc)
        return vgen_err_set(err, rc, "cannot quantize a [%" PRId64 ", %" PRId64 "] matrix as %s", n, k,
                            e->traits.name);
    if (!w || !data || (n_scales && !scales) || (n_zeros && !zeros))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "quantize %s: missing input or output buffer",
                            e->traits.name);
    int kind = e->traits.scale_kind;
    *per_row = (kind == VGEN_SCALE_ROW || kind == VGEN_SCALE_GROUP) ? ceil_div(k, span_of(e, k)) : 0;
    return check_finite(e, w, n, k, err);
}

int vgen_wformat_quantize(vgen_wformat f, const float *w, int64_t n, int64_t k, void *data, float *scales,
                          uint8_t *zeros, vgen_err *err) {
    const wf_entry *e = entry_of(f);
    if (!e) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "unknown weight format %d", (int)f);
    int64_t per_row = 0;
    int rc = check_quantize_args(e, f, w, n, k, data, scales, zeros, &per_row, err);
    if (rc) return rc;
    size_t row_bytes = 0;
    vgen_wformat_row_bytes(f, k, &row_bytes); /* checked above */
    float ts = 1.0f;
    if (e->traits.scale_kind == VGEN_SCALE_TENSOR) {
        int unused;
        params_sym(e, w, n * k, &ts, &unused); /* amax over the whole [N, K] matrix */
        scales[0] = ts;
    }
    for (int64_t r = 0; r < n; r++)
        quantize_row(e, w + r * k, k, (uint8_t *)data + (size_t)r * row_bytes, row_bytes,
                     per_row ? scales + r * per_row : NULL, e->traits.has_zero ? zeros + r * per_row : NULL, ts);
    return VGEN_OK;
}

/* ---- reference dequantizer ---------------------------------------------------------------------------- */

void vgen_wformat_dequantize_rows(const vgen_qmatrix *w, int64_t r0, int64_t nr, float *out) {
    const wf_entry *e = entry_of(w->format);
    size_t row_bytes = 0;
    int ok = e && r0 >= 0 && nr >= 0 && r0 + nr <= w->rows && !vgen_wformat_row_bytes(w->format, w->cols, &row_bytes);
    assert(ok && "dequantize_rows: the caller passes a validated matrix and row range");
    if (!ok) return;
    int64_t k = w->cols, span = span_of(e, k), ng = ceil_div(k, span);
    for (int64_t r = r0; r < r0 + nr; r++) {
        const uint8_t *row = (const uint8_t *)w->data + (size_t)r * row_bytes;
        float *o = out + (r - r0) * k;
        for (int64_t k0 = 0, g = 0; k0 < k; k0 += span, g++) {
            float s;
            int z;
            vgen_wfe_params(w->format, w->scales, w->zeros, r, g, ng, &s, &z); /* wformat_elem.h */
            e->decode(row, k0, k - k0 < span ? k - k0 : span, s, z, o + k0);
        }
    }
}

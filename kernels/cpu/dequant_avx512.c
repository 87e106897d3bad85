/* dequant_avx512.c - AVX-512 dequantization of weight rows (dequant_row.h).
 *
 * Every value is formed exactly as the reference forms it: integer and exact float operations (int -> float of
 * small integers, e4m3 decoded by bit manipulation) and then the one f32 multiply by the scale; bf16 outputs use the
 * integer RNE of numeric.h. The bf16 paths of fp8 and int4 compute each possible value once (per row / per group)
 * into a table and look codes up with vpermw / vpermt2w, which is 2-3x faster than decoding each element and gives
 * the same bits. Tails use the same formulas in scalar C. No denormal arithmetic is used to decode e4m3 (oneDNN
 * threads may run with FTZ/DAZ set). tests/test_linear.c checks every code of every 8- and 4-bit format, with
 * ordinary, negative, zero, subnormal, huge, Inf and NaN scales, against the reference. Compiled with function-level
 * target attributes and dispatched at run time, so the library itself still runs on any x86-64. */
#include "cpu/dequant_row.h"

#include "numeric.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define VGEN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

int vgen_dequant_have_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}

/* ---- stores: 16 f32 values to out[k..k+16) as f32 or bf16 (RNE, NaN -> 0x7FC0 as vgen_f32_to_bf16) ---- */

VGEN_AVX512 static inline __m256i bf16_rne(__m512 v) {
    __m512i u = _mm512_castps_si512(v);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
    __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                            _mm512_set1_epi32(0x7f800000));
    r = _mm512_mask_mov_epi32(r, nan, _mm512_set1_epi32(0x7fc0));
    return _mm512_cvtepi32_epi16(r);
}

VGEN_AVX512 static inline void store16(void *out, int64_t k, __m512 v, int bf16) {
    if (bf16) _mm256_storeu_si256((__m256i *)((uint16_t *)out + k), bf16_rne(v));
    else _mm512_storeu_ps((float *)out + k, v);
}

static inline void store1(void *out, int64_t k, float v, int bf16) {
    if (bf16) ((uint16_t *)out)[k] = vgen_f32_to_bf16(v);
    else ((float *)out)[k] = v;
}

/* ---- int8_row: w = q * s[r] ---- */

VGEN_AVX512 static void row_int8(const int8_t *q, float s, int64_t kd, void *out, int bf16) {
    __m512 vs = _mm512_set1_ps(s);
    int64_t k = 0;
    for (; k + 16 <= kd; k += 16) {
        __m512i qi = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(q + k)));
        store16(out, k, _mm512_mul_ps(_mm512_cvtepi32_ps(qi), vs), bf16);
    }
    for (; k < kd; k++) store1(out, k, (float)q[k] * s, bf16);
}

/* ---- fp8 e4m3fn: w = e4m3(c) * s ---- */

/* e4m3 codes (one per int32 lane) to f32: normals by rebiasing the exponent (+120) with an integer add, subnormals
 * (exponent 0) as m * 2^-9, S.1111.111 as NaN, then the sign. */
VGEN_AVX512 static inline __m512 e4m3_decode(__m512i c) {
    __m512i mag = _mm512_and_si512(c, _mm512_set1_epi32(0x7f));
    __m512i normal = _mm512_add_epi32(_mm512_slli_epi32(mag, 20), _mm512_set1_epi32(120 << 23));
    __m512 sub = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_and_si512(c, _mm512_set1_epi32(7))),
                               _mm512_set1_ps(0.001953125f));
    __mmask16 is_sub = _mm512_cmplt_epi32_mask(mag, _mm512_set1_epi32(8));
    __mmask16 is_nan = _mm512_cmpeq_epi32_mask(mag, _mm512_set1_epi32(0x7f));
    __m512i v = _mm512_mask_mov_epi32(normal, is_sub, _mm512_castps_si512(sub));
    v = _mm512_mask_mov_epi32(v, is_nan, _mm512_set1_epi32(0x7fc00000));
    __m512i sign = _mm512_slli_epi32(_mm512_and_si512(c, _mm512_set1_epi32(0x80)), 24);
    return _mm512_castsi512_ps(_mm512_or_si512(v, sign));
}

/* bf16 out: the 128 magnitudes bf16(e4m3(c & 0x7f) * s) form a table in four registers, and each 32 codes are
 * looked up with two vpermt2w and a blend on bit 6. The sign bit then flips the result's sign, which equals the
 * reference's rounding of -(v * s) because RNE is symmetric; NaN stays 0x7FC0 as vgen_f32_to_bf16 makes it. */
VGEN_AVX512 static void e4m3_table_bf16(float s, __m512i table[4]) {
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 vs = _mm512_set1_ps(s);
    for (int t = 0; t < 4; t++) {
        __m512i c0 = _mm512_add_epi32(iota, _mm512_set1_epi32(32 * t));
        __m512i c1 = _mm512_add_epi32(c0, _mm512_set1_epi32(16));
        __m256i lo = bf16_rne(_mm512_mul_ps(e4m3_decode(c0), vs)), hi = bf16_rne(_mm512_mul_ps(e4m3_decode(c1), vs));
        table[t] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
}

VGEN_AVX512 static inline void e4m3_block32_bf16(const uint8_t *c, int64_t k, const __m512i table[4], uint16_t *out) {
    __m512i v = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(c + k)));
    __m512i r0 = _mm512_permutex2var_epi16(table[0], v, table[1]); /* index bits 0..5: entries 0..63 */
    __m512i r1 = _mm512_permutex2var_epi16(table[2], v, table[3]); /* entries 64..127 */
    __m512i r = _mm512_mask_blend_epi16(_mm512_test_epi16_mask(v, _mm512_set1_epi16(0x40)), r0, r1);
    __mmask32 neg = _mm512_test_epi16_mask(v, _mm512_set1_epi16((short)0x80));
    __mmask32 nan = _mm512_cmpgt_epu16_mask(_mm512_and_si512(r, _mm512_set1_epi16(0x7fff)), _mm512_set1_epi16(0x7f80));
    r = _mm512_mask_blend_epi16(neg & ~nan, r, _mm512_xor_si512(r, _mm512_set1_epi16((short)0x8000)));
    _mm512_storeu_si512(out + k, r);
}

VGEN_AVX512 static void row_e4m3(const uint8_t *c, float s, int64_t kd, void *out, int bf16) {
    int64_t k = 0;
    if (bf16 && kd >= 128) { /* the table costs about as much as 128 elements */
        __m512i table[4];
        e4m3_table_bf16(s, table);
        for (; k + 32 <= kd; k += 32) e4m3_block32_bf16(c, k, table, out);
    }
    __m512 vs = _mm512_set1_ps(s);
    for (; k + 16 <= kd; k += 16) {
        __m512i ci = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(c + k)));
        store16(out, k, _mm512_mul_ps(e4m3_decode(ci), vs), bf16);
    }
    for (; k < kd; k++) store1(out, k, vgen_e4m3_to_f32(c[k]) * s, bf16);
}

/* ---- int4 groups: w = (q - z) * s, two codes per byte (element 2i low nibble, 2i+1 high) ---- */

static inline int nibble(const uint8_t *p, int64_t k) { return (k & 1) ? p[k >> 1] >> 4 : p[k >> 1] & 0xf; }

/* f32 out: elements [k, k + 32) of the row, k even: 16 bytes -> 32 codes in element order, then (q - z) * s. */
VGEN_AVX512 static inline void int4_block32_f32(const uint8_t *p, int64_t k, __m512i vz, __m512 vs, float *out) {
    __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + (k >> 1))));
    __m256i lo = _mm256_and_si256(b, _mm256_set1_epi16(0x0f));
    __m256i codes = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_srli_epi16(b, 4), 8)); /* bytes lo0 hi0 lo1 .. */
    __m512i q0 = _mm512_cvtepu8_epi32(_mm256_castsi256_si128(codes));
    __m512i q1 = _mm512_cvtepu8_epi32(_mm256_extracti128_si256(codes, 1));
    _mm512_storeu_ps(out + k, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q0, vz)), vs));
    _mm512_storeu_ps(out + k + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q1, vz)), vs));
}

/* bf16 out: the group's 16 possible values bf16((q - z) * s) form a table, and each 16 bytes of codes become 32
 * 16-bit table indices (byte i -> lanes 2i, 2i + 1: low nibble, high nibble) looked up with one vpermw. */
VGEN_AVX512 static inline __m512i int4_table_bf16(int z, float s) {
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(iota, _mm512_set1_epi32(z))), _mm512_set1_ps(s));
    return _mm512_zextsi256_si512(bf16_rne(v));
}

VGEN_AVX512 static inline void int4_block32_bf16(const uint8_t *p, int64_t k, __m512i table, uint16_t *out) {
    __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + (k >> 1))));
    __m512i idx = _mm512_or_si512(_mm512_and_si512(b, _mm512_set1_epi32(0x0f)),
                                  _mm512_slli_epi32(_mm512_srli_epi32(b, 4), 16));
    _mm512_storeu_si512(out + k, _mm512_permutexvar_epi16(idx, table));
}

VGEN_AVX512 static void row_int4(const uint8_t *p, const float *s, const uint8_t *z, int64_t kd, int64_t group,
                                 void *out, int bf16) {
    int64_t n_groups = (kd + group - 1) / group;
    for (int64_t g = 0; g < n_groups; g++) {
        int64_t k = g * group, end = k + group < kd ? k + group : kd;
        int zp = z ? z[g] : 8;
        if (bf16) {
            __m512i table = int4_table_bf16(zp, s[g]);
            for (; k + 32 <= end; k += 32) int4_block32_bf16(p, k, table, out);
        } else {
            __m512i vz = _mm512_set1_epi32(zp);
            __m512 vs = _mm512_set1_ps(s[g]);
            for (; k + 32 <= end; k += 32) int4_block32_f32(p, k, vz, vs, out);
        }
        for (; k < end; k++) store1(out, k, (float)(nibble(p, k) - zp) * s[g], bf16);
    }
}

/* ---- plain formats across precisions ---- */

VGEN_AVX512 static void row_bf16_to_f32(const uint16_t *h, int64_t kd, float *out) {
    int64_t k = 0;
    for (; k + 16 <= kd; k += 16) {
        __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(h + k)));
        _mm512_storeu_ps(out + k, _mm512_castsi512_ps(_mm512_slli_epi32(u, 16)));
    }
    for (; k < kd; k++) out[k] = vgen_bf16_to_f32(h[k]);
}

VGEN_AVX512 static void row_f32_to_bf16(const float *f, int64_t kd, uint16_t *out) {
    int64_t k = 0;
    for (; k + 16 <= kd; k += 16) store16(out, k, _mm512_loadu_ps(f + k), 1);
    for (; k < kd; k++) out[k] = vgen_f32_to_bf16(f[k]);
}

/* f16 -> f32 is exact (vcvtph2ps converts subnormal halves exactly and ignores MXCSR.DAZ). */
VGEN_AVX512 static void row_f16(const uint16_t *h, int64_t kd, void *out, int bf16) {
    int64_t k = 0;
    for (; k + 16 <= kd; k += 16) store16(out, k, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + k))), bf16);
    for (; k < kd; k++) store1(out, k, vgen_f16_to_f32(h[k]), bf16);
}

static int row_plain(const vgen_qmatrix *w, int64_t r, vgen_dtype dt, void *out) {
    const int64_t kd = w->cols;
    if (w->format == VGEN_WF_F16) {
        row_f16((const uint16_t *)w->data + r * kd, kd, out, dt == VGEN_DTYPE_BF16);
        return 1;
    }
    if (w->format == VGEN_WF_BF16 && dt == VGEN_DTYPE_F32) {
        row_bf16_to_f32((const uint16_t *)w->data + r * kd, kd, out);
        return 1;
    }
    if (w->format == VGEN_WF_F32 && dt == VGEN_DTYPE_BF16) {
        row_f32_to_bf16((const float *)w->data + r * kd, kd, out);
        return 1;
    }
    return 0; /* same-precision copies are never needed: the GEMM reads W in place */
}

int vgen_dequant_row_avx512(const vgen_qmatrix *w, int64_t r, vgen_dtype dt, void *out) {
    const vgen_wformat_traits *tr = vgen_wformat_get(w->format);
    const int64_t kd = w->cols;
    const int bf16 = dt == VGEN_DTYPE_BF16;
    if (!tr || (dt != VGEN_DTYPE_F32 && !bf16)) return 0;
    switch (w->format) {
    case VGEN_WF_INT8_ROW:
        row_int8((const int8_t *)w->data + r * kd, w->scales[r], kd, out, bf16);
        return 1;
    case VGEN_WF_FP8_E4M3_ROW:
    case VGEN_WF_FP8_E4M3_TENSOR:
        row_e4m3((const uint8_t *)w->data + r * kd, w->scales[tr->scale_kind == VGEN_SCALE_ROW ? r : 0], kd, out, bf16);
        return 1;
    default: break;
    }
    if (tr->scale_kind == VGEN_SCALE_GROUP && tr->bits == 4) {
        int64_t n_groups = (kd + tr->group - 1) / tr->group;
        const uint8_t *z = tr->has_zero ? w->zeros + r * n_groups : NULL;
        row_int4((const uint8_t *)w->data + r * ((kd + 1) / 2), w->scales + r * n_groups, z, kd, tr->group, out, bf16);
        return 1;
    }
    return row_plain(w, r, dt, out);
}

#else /* not x86-64 with GCC/Clang: the reference dequantizer serves every format */

int vgen_dequant_have_avx512(void) { return 0; }

int vgen_dequant_row_avx512(const vgen_qmatrix *w, int64_t r, vgen_dtype dt, void *out) {
    (void)w, (void)r, (void)dt, (void)out;
    return 0;
}

#endif

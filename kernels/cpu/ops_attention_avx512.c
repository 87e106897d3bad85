/* ops_attention_avx512.c - the AVX-512 attention kernels (ops_cpu.h): register tiles of 4 query rows x 64 columns
 * (16 zmm accumulators), for the f32 path (vfmadd231ps) and the bf16 path (vdpbf16ps: two bf16 products summed into
 * each f32 lane, exact products and f32 accumulation), and the online softmax step over a row of 16-lane vectors
 * with a vectorised exp. On the bf16 path the probabilities are rounded to bf16 (RNE) for the p v product, as
 * FlashAttention does, and the row sum l adds those rounded values, so out = sum p v / sum p uses one set of
 * weights. Compiled with function-level target attributes; callers check vgen_cpu_simd_level first. */
#include <math.h>
#include <string.h>

#include "cpu/ops_cpu.h"

#if defined(VGEN_HAVE_X86)

#define R VGEN_ATTN_ROWS /* 4 */

/* ---- packing k and v ---- */

/* In-register transpose of 16 rows of 16 32-bit lanes: r[i][c] -> r[c][i]. */
VGEN_AVX512 static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { /* r[4i + j], 128-bit lane L: column 4L + j of rows 4i .. 4i + 3 */
        r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int j = 0; j < 4; j++) {
        t[j] = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x88);
        t[4 + j] = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xdd);
        t[8 + j] = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x88);
        t[12 + j] = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xdd);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
        r[4 + j] = _mm512_shuffle_i32x4(t[4 + j], t[12 + j], 0x88);
        r[12 + j] = _mm512_shuffle_i32x4(t[4 + j], t[12 + j], 0xdd);
    }
}

/* 32-bit lanes [w0, w0 + 16) of a k row in the tile's layout (zero past Dh): bf16 pairs on the bf16 path, else
 * f32 values (widened from bf16 if k is bf16). */
VGEN_AVX512 static inline __m512i k_lanes(const vgen_attn_src *a, const vgen_attn_tile *t, const void *row,
                                          int64_t w0) {
    if (t->path == VGEN_ATTN_BF16_AVX512) {
        const int64_t n = a->dh - 2 * w0;
        const __mmask32 m = n >= 32 ? ~(__mmask32)0 : n <= 0 ? 0 : (__mmask32)((1u << n) - 1u);
        return _mm512_maskz_loadu_epi16(m, (const uint16_t *)row + 2 * w0);
    }
    const __mmask16 m = vgen_mask16(a->dh - w0);
    if (a->kdt == VGEN_DTYPE_BF16)
        return _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + w0)), 16);
    return _mm512_maskz_loadu_epi32(m, (const float *)row + w0);
}

/* k [words][bk] (words = dhp/2 pairs or dhp floats) from keys [k0, k0 + nkp) of head h, by 16 x 16 blocks. */
VGEN_AVX512 static void pack_k_avx512(const vgen_attn_src *a, vgen_attn_tile *t) {
    const int64_t words = t->path == VGEN_ATTN_BF16_AVX512 ? t->dhp / 2 : t->dhp;
    const size_t es = vgen_dtype_size(a->kdt);
    uint32_t *k = t->k;
    for (int64_t j0 = 0; j0 < t->nkp; j0 += 16) {
        for (int64_t w0 = 0; w0 < words; w0 += 16) {
            __m512i r[16];
            for (int i = 0; i < 16; i++) {
                const int64_t j = j0 + i;
                const void *row = (const char *)a->k + (size_t)(((t->k0 + j) * a->h + t->h) * a->dh) * es;
                r[i] = j < t->nk ? k_lanes(a, t, row, w0) : _mm512_setzero_si512();
            }
            transpose16(r);
            const int64_t nw = words - w0 < 16 ? words - w0 : 16;
            for (int64_t c = 0; c < nw; c++) _mm512_storeu_si512(k + (w0 + c) * t->bk + j0, r[c]);
        }
    }
}

/* v [nkp/2][dhp] bf16 pairs along keys: word (j2, e) = v[2 j2][e] | v[2 j2 + 1][e] << 16. */
VGEN_AVX512 static void pack_v_bf16_avx512(const vgen_attn_src *a, vgen_attn_tile *t) {
    __m512i lo_idx, hi_idx;
    {
        uint16_t lo[32], hi[32];
        for (int i = 0; i < 32; i++) {
            lo[i] = (uint16_t)(i / 2 + (i & 1 ? 32 : 0));
            hi[i] = (uint16_t)(16 + i / 2 + (i & 1 ? 32 : 0));
        }
        lo_idx = _mm512_loadu_si512(lo);
        hi_idx = _mm512_loadu_si512(hi);
    }
    uint32_t *v = t->v;
    const uint16_t *src = a->v;
    for (int64_t j2 = 0; j2 < t->nkp / 2; j2++) {
        const int64_t j = 2 * j2;
        const uint16_t *ra = src + ((t->k0 + j) * a->h + t->h) * a->dh, *rb = ra + a->h * a->dh;
        for (int64_t e0 = 0; e0 < t->dhp; e0 += 32) {
            const int64_t n = a->dh - e0;
            const __mmask32 m = n >= 32 ? ~(__mmask32)0 : n <= 0 ? 0 : (__mmask32)((1u << n) - 1u);
            const __m512i x = j < t->nk ? _mm512_maskz_loadu_epi16(m, ra + e0) : _mm512_setzero_si512();
            const __m512i y = j + 1 < t->nk ? _mm512_maskz_loadu_epi16(m, rb + e0) : _mm512_setzero_si512();
            _mm512_storeu_si512(v + j2 * t->dhp + e0, _mm512_permutex2var_epi16(x, lo_idx, y));
            if (e0 + 16 < t->dhp) _mm512_storeu_si512(v + j2 * t->dhp + e0 + 16, _mm512_permutex2var_epi16(x, hi_idx, y));
        }
    }
}

/* v [nkp][dhp] f32 rows (widened from bf16 if need be), zero past Dh and past nk. */
static void pack_v_f32(const vgen_attn_src *a, vgen_attn_tile *t) {
    float *v = t->v;
    for (int64_t j = 0; j < t->nkp; j++) {
        float *row = v + j * t->dhp;
        memset(row, 0, (size_t)t->dhp * sizeof *row);
        if (j < t->nk) vgen_cpu_load_f32(a->v, a->vdt, ((t->k0 + j) * a->h + t->h) * a->dh, a->dh, row, t->simd);
    }
}

void vgen_attn_pack_kv_avx512(const vgen_attn_src *a, vgen_attn_tile *t) {
    pack_k_avx512(a, t);
    if (t->path == VGEN_ATTN_BF16_AVX512) pack_v_bf16_avx512(a, t);
    else pack_v_f32(a, t);
}

/* ---- s = q k^T ---- */

/* s[4][64] (row stride lds) = q[4][dhp] (row stride dhp) . kt[dhp][64] (row stride bk). */
VGEN_AVX512 static void qk_f32_4x64(const float *q, int64_t dhp, const float *kt, int64_t bk, float *s, int64_t lds) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    for (int64_t e = 0; e < dhp; e++) {
        const float *kr = kt + e * bk;
        const __m512 b0 = _mm512_loadu_ps(kr), b1 = _mm512_loadu_ps(kr + 16);
        const __m512 b2 = _mm512_loadu_ps(kr + 32), b3 = _mm512_loadu_ps(kr + 48);
        for (int r = 0; r < R; r++) {
            const __m512 a = _mm512_set1_ps(q[r * dhp + e]);
            acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(a, b2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(a, b3, acc[r][3]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < 4; c++) _mm512_storeu_ps(s + r * lds + 16 * c, acc[r][c]);
}

/* The same with bf16 pairs: q [4][dw] words, kp [dw][64] words (row stride bk), dw = dhp / 2. */
VGEN_AVX512_BF16 static void qk_bf16_4x64(const uint32_t *q, int64_t dw, const uint32_t *kp, int64_t bk, float *s,
                                          int64_t lds) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    for (int64_t w = 0; w < dw; w++) {
        const uint32_t *kr = kp + w * bk;
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(kr), b1 = (__m512bh)_mm512_loadu_si512(kr + 16);
        const __m512bh b2 = (__m512bh)_mm512_loadu_si512(kr + 32), b3 = (__m512bh)_mm512_loadu_si512(kr + 48);
        for (int r = 0; r < R; r++) {
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)q[r * dw + w]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
            acc[r][2] = _mm512_dpbf16_ps(acc[r][2], a, b2);
            acc[r][3] = _mm512_dpbf16_ps(acc[r][3], a, b3);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < 4; c++) _mm512_storeu_ps(s + r * lds + 16 * c, acc[r][c]);
}

void vgen_attn_scores_avx512(vgen_attn_tile *t) {
    for (int64_t r = 0; r < t->nqp; r += R) {
        for (int64_t c = 0; c < t->nkp; c += VGEN_ATTN_KEYS) {
            float *s = t->s + r * t->bk + c;
            if (t->path == VGEN_ATTN_BF16_AVX512)
                qk_bf16_4x64((const uint32_t *)t->q + r * (t->dhp / 2), t->dhp / 2, (const uint32_t *)t->k + c, t->bk,
                             s, t->bk);
            else
                qk_f32_4x64((const float *)t->q + r * t->dhp, t->dhp, (const float *)t->k + c, t->bk, s, t->bk);
        }
    }
}

/* ---- o += p v ---- */

/* o[4][16 nc] (row stride ldo) += p[4][nk] (row stride ldp) v[nk][16 nc] (row stride ldv), nc in 1..4. */
VGEN_AVX512 static inline __attribute__((always_inline)) void pv_f32_4xn(const float *p, int64_t ldp, int64_t nk,
                                                                         const float *v, int64_t ldv, float *o,
                                                                         int64_t ldo, const int nc) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < nc; c++) acc[r][c] = _mm512_loadu_ps(o + r * ldo + 16 * c);
    for (int64_t j = 0; j < nk; j++) {
        __m512 b[4];
        for (int c = 0; c < nc; c++) b[c] = _mm512_loadu_ps(v + j * ldv + 16 * c);
        for (int r = 0; r < R; r++) {
            const __m512 a = _mm512_set1_ps(p[r * ldp + j]);
            for (int c = 0; c < nc; c++) acc[r][c] = _mm512_fmadd_ps(a, b[c], acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < nc; c++) _mm512_storeu_ps(o + r * ldo + 16 * c, acc[r][c]);
}

VGEN_AVX512 static void pv_f32_block(const float *p, int64_t ldp, int64_t nk, const float *v, int64_t ldv, float *o,
                                     int64_t ldo, int nc) {
    switch (nc) {
    case 4: pv_f32_4xn(p, ldp, nk, v, ldv, o, ldo, 4); break;
    case 3: pv_f32_4xn(p, ldp, nk, v, ldv, o, ldo, 3); break;
    case 2: pv_f32_4xn(p, ldp, nk, v, ldv, o, ldo, 2); break;
    default: pv_f32_4xn(p, ldp, nk, v, ldv, o, ldo, 1); break;
    }
}

/* The same with bf16 pairs along keys: p [4][nw] words (row stride ldp), vp [nw][16 nc] words (row stride ldv). */
VGEN_AVX512_BF16 static inline __attribute__((always_inline)) void pv_bf16_4xn(const uint32_t *p, int64_t ldp,
                                                                               int64_t nw, const uint32_t *vp,
                                                                               int64_t ldv, float *o, int64_t ldo,
                                                                               const int nc) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < nc; c++) acc[r][c] = _mm512_loadu_ps(o + r * ldo + 16 * c);
    for (int64_t w = 0; w < nw; w++) {
        __m512bh b[4];
        for (int c = 0; c < nc; c++) b[c] = (__m512bh)_mm512_loadu_si512(vp + w * ldv + 16 * c);
        for (int r = 0; r < R; r++) {
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)p[r * ldp + w]);
            for (int c = 0; c < nc; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], a, b[c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < nc; c++) _mm512_storeu_ps(o + r * ldo + 16 * c, acc[r][c]);
}

VGEN_AVX512_BF16 static void pv_bf16_block(const uint32_t *p, int64_t ldp, int64_t nw, const uint32_t *vp,
                                           int64_t ldv, float *o, int64_t ldo, int nc) {
    switch (nc) {
    case 4: pv_bf16_4xn(p, ldp, nw, vp, ldv, o, ldo, 4); break;
    case 3: pv_bf16_4xn(p, ldp, nw, vp, ldv, o, ldo, 3); break;
    case 2: pv_bf16_4xn(p, ldp, nw, vp, ldv, o, ldo, 2); break;
    default: pv_bf16_4xn(p, ldp, nw, vp, ldv, o, ldo, 1); break;
    }
}

void vgen_attn_pv_avx512(vgen_attn_tile *t) {
    for (int64_t r = 0; r < t->nqp; r += R) {
        for (int64_t c = 0; c < t->dhp; c += 64) {
            const int nc = (int)((t->dhp - c) / 16 < 4 ? (t->dhp - c) / 16 : 4);
            float *o = t->o + r * t->dhp + c;
            if (t->path == VGEN_ATTN_BF16_AVX512)
                pv_bf16_block(t->p + r * (t->bk / 2), t->bk / 2, t->nkp / 2, (const uint32_t *)t->v + c, t->dhp, o,
                              t->dhp, nc);
            else
                pv_f32_block(t->s + r * t->bk, t->bk, t->nkp, (const float *)t->v + c, t->dhp, o, t->dhp, nc);
        }
    }
}

/* ---- the online softmax step ---- */

/* Pass 1 over a row: the max of t_j = scale s_j + bias_j (j < nk; bias may be NULL). With store, t is written
 * back into s; without (no bias and scale > 0), s is left raw and the max is scale max_j s_j. */
VGEN_AVX512 static float row_max(float *s, const float *bias, int64_t nk, float scale, int store) {
    const __m512 vs = _mm512_set1_ps(scale);
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < nk; j += 16) {
        const __mmask16 k = vgen_mask16(nk - j);
        __m512 v = _mm512_maskz_loadu_ps(k, s + j);
        if (store) {
            v = bias ? _mm512_fmadd_ps(v, vs, _mm512_maskz_loadu_ps(k, bias + j)) : _mm512_mul_ps(v, vs);
            _mm512_mask_storeu_ps(s + j, k, v);
        }
        mx = _mm512_mask_max_ps(mx, k, mx, v);
    }
    const float m = _mm512_reduce_max_ps(mx);
    return store ? m : m * scale;
}

/* s[j] = exp(c s[j] - m) for j < nk, 0 for nk <= j < nkp (c = scale for raw scores, 1 for stored t); returns the
 * sum. Full f32 accuracy (vgen_exp512). */
VGEN_AVX512 static float exp_row_f32(float *s, int64_t nk, int64_t nkp, float c, float m) {
    const __m512 vm = _mm512_set1_ps(m), vc = _mm512_set1_ps(c);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < nkp; j += 16) {
        const __mmask16 k = vgen_mask16(nk - j);
        const __m512 x = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(k, s + j), vc, vm);
        const __m512 p = _mm512_maskz_mov_ps(k, vgen_exp512(x));
        _mm512_storeu_ps(s + j, p);
        sum = _mm512_add_ps(sum, p);
    }
    return _mm512_reduce_add_ps(sum);
}

/* 2^x for x <= 0 to ~4e-5 relative, enough for probabilities rounded to bf16 (2^-9): n = round(x), f = x - n
 * (exact) in [-1/2, 1/2], 2^f by its degree-4 Taylor polynomial, times 2^n. x is clamped at -200 first, so -inf
 * (a masked key) gives exactly 0; NaN stays NaN (max returns its second operand). */
VGEN_AVX512 static inline __m512 exp2_bf16_precision(__m512 x) {
    x = _mm512_max_ps(_mm512_set1_ps(-200.0f), x);
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(0.0096181291f);                /* ln2^4 / 24 */
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.0555041087f)); /* ln2^3 / 6 */
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.2402265070f)); /* ln2^2 / 2 */
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.6931471806f)); /* ln2 */
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* p[j / 2] = bf16 pairs of exp(c s[j] - m) for j < nk, 0 up to nkp; returns the sum of the rounded values
 * (vdpbf16ps against pairs of 1.0 adds each pair exactly into f32 lanes). */
VGEN_AVX512_BF16 static float exp_row_bf16(const float *s, int64_t nk, int64_t nkp, float c, float m, uint32_t *p) {
    const float log2e = 1.44269504088896341f;
    const __m512 vc = _mm512_set1_ps(c * log2e), vm = _mm512_set1_ps(m * log2e);
    const __m512bh ones = (__m512bh)_mm512_set1_epi16(0x3f80);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < nkp; j += 32) {
        const __mmask16 k0 = vgen_mask16(nk - j), k1 = vgen_mask16(nk - j - 16);
        const __m512 x0 = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(k0, s + j), vc, vm);
        const __m512 x1 = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(k1, s + j + 16), vc, vm);
        const __m512 p0 = _mm512_maskz_mov_ps(k0, exp2_bf16_precision(x0));
        const __m512 p1 = _mm512_maskz_mov_ps(k1, exp2_bf16_precision(x1));
        const __m512bh packed = _mm512_cvtne2ps_pbh(p1, p0); /* keys j .. j + 31 in order */
        _mm512_storeu_si512(p + j / 2, (__m512i)packed);
        sum = _mm512_dpbf16_ps(sum, packed, ones);
    }
    return _mm512_reduce_add_ps(sum);
}

VGEN_AVX512 static void scale_o(float *o, int64_t n, float alpha) {
    const __m512 va = _mm512_set1_ps(alpha);
    for (int64_t e = 0; e < n; e += 16) _mm512_storeu_ps(o + e, _mm512_mul_ps(_mm512_loadu_ps(o + e), va));
}

static void softmax_row(const vgen_attn_src *a, vgen_attn_tile *t, int64_t r) {
    float *s = t->s + r * t->bk;
    const int bf16 = t->path == VGEN_ATTN_BF16_AVX512;
    const float *bias = a->bias ? a->bias + (t->h * a->lq + t->q0 + r) * a->lk + t->k0 : NULL;
    const int store = bias != NULL || !(a->scale > 0.0f);
    const float c = store ? 1.0f : a->scale; /* raw scores are scaled inside the exp */
    const float mx = row_max(s, bias, t->nk, a->scale, store);
    const float m_new = t->m[r] > mx ? t->m[r] : mx;
    if (m_new == -INFINITY) { /* every key so far masked: p = 0 */
        if (bf16) memset(t->p + r * (t->bk / 2), 0, (size_t)(t->nkp / 2) * sizeof *t->p);
        else memset(s, 0, (size_t)t->nkp * sizeof *s);
        return;
    }
    const float alpha = t->m[r] == m_new ? 1.0f : expf(t->m[r] - m_new);
    const float sum = bf16 ? exp_row_bf16(s, t->nk, t->nkp, c, m_new, t->p + r * (t->bk / 2))
                           : exp_row_f32(s, t->nk, t->nkp, c, m_new);
    t->l[r] = t->l[r] * alpha + sum;
    t->m[r] = m_new;
    if (alpha != 1.0f) scale_o(t->o + r * t->dhp, t->dhp, alpha);
}

void vgen_attn_softmax_avx512(const vgen_attn_src *a, vgen_attn_tile *t) {
    for (int64_t r = 0; r < t->nq; r++) softmax_row(a, t, r);
    if (t->path == VGEN_ATTN_BF16_AVX512) /* padded rows: p = 0 so their (discarded) o stays finite */
        for (int64_t r = t->nq; r < t->nqp; r++) memset(t->p + r * (t->bk / 2), 0, (size_t)(t->nkp / 2) * sizeof *t->p);
}

#else /* no x86: never called (vgen_cpu_simd_level() is VGEN_SIMD_NONE) */

void vgen_attn_pack_kv_avx512(const vgen_attn_src *a, vgen_attn_tile *t) { vgen_attn_pack_kv(a, t); }
void vgen_attn_scores_avx512(vgen_attn_tile *t) { vgen_attn_scores_c(t); }
void vgen_attn_softmax_avx512(const vgen_attn_src *a, vgen_attn_tile *t) { vgen_attn_softmax_c(a, t); }
void vgen_attn_pv_avx512(vgen_attn_tile *t) { vgen_attn_pv_c(t); }

#endif

/* ops_attention_tile.c - attention tiles (ops_cpu.h): packing q (both paths) and k, v (f32 path; the AVX-512
 * packers are in ops_attention_avx512.c), and the portable kernels of the f32 path.
 *
 * Layouts (padding is zero): f32 path  q [bq][dhp], k [dhp][bk] (transposed), v [bk][dhp], p = s [bq][bk];
 *                            bf16 path q [bq][dhp/2], k [dhp/2][bk] as u32 pairs of bf16 along d (the dot-product
 *                            operand pairs of vdpbf16ps), v [bk/2][dhp] as u32 pairs along keys, p [bq][bk/2].
 * The online softmax step of a row (shared by every path):
 *   t_j = scale s_j + bias_j (j < nk);  m' = max(m, max_j t_j);  p_j = exp(t_j - m');  alpha = exp(m - m');
 *   l = alpha l + sum_j p_j;  o = alpha o  (o += p v follows);  a row with m' = -inf has p = 0 and stays 0. */
#include <math.h>
#include <string.h>

#include "cpu/ops_cpu.h"
#include "ref/ops_ref.h"

/* Word w of a row is bf16 elements 2w (low half) and 2w + 1 (high half): on a little-endian machine (the bf16
 * path is x86 only) exactly the row's bytes, so the row is copied and zero-padded. */
static void pack_q_bf16(const vgen_attn_src *a, vgen_attn_tile *t) {
    char *q = t->q;
    const size_t row_bytes = (size_t)t->dhp * 2, dh_bytes = (size_t)a->dh * 2;
    for (int64_t r = 0; r < t->nqp; r++) {
        char *dst = q + (size_t)r * row_bytes;
        memset(dst, 0, row_bytes);
        if (r < t->nq) memcpy(dst, (const uint16_t *)a->q + ((t->q0 + r) * a->h + t->h) * a->dh, dh_bytes);
    }
}

static void pack_q_f32(const vgen_attn_src *a, vgen_attn_tile *t) {
    float *q = t->q;
    for (int64_t r = 0; r < t->nqp; r++) {
        float *row = q + r * t->dhp;
        memset(row, 0, (size_t)t->dhp * sizeof *row);
        if (r < t->nq) vgen_cpu_load_f32(a->q, a->qdt, ((t->q0 + r) * a->h + t->h) * a->dh, a->dh, row, t->simd);
    }
}

void vgen_attn_pack_q(const vgen_attn_src *a, vgen_attn_tile *t) {
    if (t->path == VGEN_ATTN_BF16_AVX512) pack_q_bf16(a, t);
    else pack_q_f32(a, t);
    memset(t->o, 0, (size_t)(t->nqp * t->dhp) * sizeof *t->o);
    for (int64_t r = 0; r < t->nqp; r++) {
        t->m[r] = -INFINITY;
        t->l[r] = 0.0f;
    }
}

static void pack_kv_f32(const vgen_attn_src *a, vgen_attn_tile *t) {
    float *k = t->k, *v = t->v;
    for (int64_t j = 0; j < t->nkp; j++) {
        float *vrow = v + j * t->dhp;
        memset(vrow, 0, (size_t)t->dhp * sizeof *vrow);
        if (j >= t->nk) {
            for (int64_t e = 0; e < t->dhp; e++) k[e * t->bk + j] = 0.0f;
            continue;
        }
        const int64_t off = ((t->k0 + j) * a->h + t->h) * a->dh;
        vgen_cpu_load_f32(a->v, a->vdt, off, a->dh, vrow, t->simd);
        for (int64_t e = 0; e < a->dh; e++) k[e * t->bk + j] = vgen_ops_get(a->k, a->kdt, off + e);
        for (int64_t e = a->dh; e < t->dhp; e++) k[e * t->bk + j] = 0.0f;
    }
}

void vgen_attn_pack_kv(const vgen_attn_src *a, vgen_attn_tile *t) { pack_kv_f32(a, t); }

/* ---- portable kernels, f32 path ---- */

void vgen_attn_scores_c(vgen_attn_tile *t) {
    const float *q = t->q, *k = t->k;
    for (int64_t r = 0; r < t->nqp; r++) {
        float *s = t->s + r * t->bk;
        memset(s, 0, (size_t)t->nkp * sizeof *s);
        for (int64_t e = 0; e < t->dhp; e++) {
            const float qv = q[r * t->dhp + e];
            const float *kr = k + e * t->bk;
            for (int64_t j = 0; j < t->nkp; j++) s[j] += qv * kr[j];
        }
    }
}

/* The bias row of query row r for this key tile, or NULL. */
static const float *bias_row(const vgen_attn_src *a, const vgen_attn_tile *t, int64_t r) {
    return a->bias ? a->bias + (t->h * a->lq + t->q0 + r) * a->lk + t->k0 : NULL;
}

static void scale_row(float *o, int64_t n, float alpha) {
    for (int64_t e = 0; e < n; e++) o[e] *= alpha;
}

void vgen_attn_softmax_c(const vgen_attn_src *a, vgen_attn_tile *t) {
    for (int64_t r = 0; r < t->nq; r++) {
        float *s = t->s + r * t->bk;
        const float *b = bias_row(a, t, r);
        float mx = -INFINITY;
        for (int64_t j = 0; j < t->nk; j++) {
            s[j] = s[j] * a->scale + (b ? b[j] : 0.0f);
            mx = s[j] > mx ? s[j] : mx;
        }
        const float m_new = t->m[r] > mx ? t->m[r] : mx;
        if (m_new == -INFINITY) {
            memset(s, 0, (size_t)t->nkp * sizeof *s);
            continue;
        }
        const float alpha = t->m[r] == m_new ? 1.0f : expf(t->m[r] - m_new);
        float sum = 0.0f;
        for (int64_t j = 0; j < t->nk; j++) {
            s[j] = expf(s[j] - m_new);
            sum += s[j];
        }
        for (int64_t j = t->nk; j < t->nkp; j++) s[j] = 0.0f;
        t->l[r] = t->l[r] * alpha + sum;
        t->m[r] = m_new;
        if (alpha != 1.0f) scale_row(t->o + r * t->dhp, t->dhp, alpha);
    }
}

void vgen_attn_pv_c(vgen_attn_tile *t) {
    const float *v = t->v;
    for (int64_t r = 0; r < t->nqp; r++) {
        float *o = t->o + r * t->dhp;
        const float *p = t->s + r * t->bk;
        for (int64_t j = 0; j < t->nkp; j++) {
            if (p[j] == 0.0f) continue;
            const float *vr = v + j * t->dhp;
            for (int64_t e = 0; e < t->dhp; e++) o[e] += p[j] * vr[e];
        }
    }
}

/* ops_conv3d_col.c - im2col rows for conv3d (ops_cpu.h): one row k of col for a run of output positions, built one
 * output row segment at a time: zero where the taps fall in the padding, and with unit W stride a straight copy
 * (or dtype widening) of the input row's valid middle. */
#include <string.h>

#include "cpu/ops_cpu.h"
#include "ref/ops_ref.h"

/* Positions [wo0, wo1) of output row (to, ho) for tap (ci, a, b, c), written at dst (n values in cdt). */
static void col_segment(const vgen_conv_src *s, int64_t ci, int64_t a, int64_t b, int64_t c, int64_t to, int64_t ho,
                        int64_t wo0, int64_t wo1, char *dst) {
    const vgen_conv3d_dims *g = &s->g;
    const size_t es = vgen_dtype_size(s->cdt);
    const int64_t t = to * g->st + a - g->pt, h = ho * g->sh + b - g->ph, n = wo1 - wo0;
    if (t < 0 || t >= g->f || h < 0 || h >= g->h) {
        memset(dst, 0, (size_t)n * es);
        return;
    }
    const int64_t row = ((ci * g->f + t) * g->h + h) * g->w; /* x[ci, t, h, :] */
    if (g->sw == 1) {
        /* input w = wo + c - pw: valid for wo in [pw - c, W + pw - c) */
        int64_t lo = g->pw - c > wo0 ? g->pw - c : wo0, hi = g->w + g->pw - c < wo1 ? g->w + g->pw - c : wo1;
        if (hi < lo) hi = lo = wo1;
        memset(dst, 0, (size_t)(lo - wo0) * es);
        const int64_t src = row + lo + c - g->pw;
        char *mid = dst + (size_t)(lo - wo0) * es;
        if (s->x->dtype == s->cdt) memcpy(mid, (const char *)s->x->data + (size_t)src * es, (size_t)(hi - lo) * es);
        else if (s->cdt == VGEN_DTYPE_F32) vgen_cpu_load_f32(s->x->data, s->x->dtype, src, hi - lo, (float *)mid, s->simd);
        else for (int64_t i = 0; i < hi - lo; i++) vgen_ops_put(mid, s->cdt, i, vgen_ops_get(s->x->data, s->x->dtype, src + i));
        memset(dst + (size_t)(hi - wo0) * es, 0, (size_t)(wo1 - hi) * es);
        return;
    }
    for (int64_t wo = wo0; wo < wo1; wo++) {
        const int64_t w = wo * g->sw + c - g->pw;
        const float v = (w >= 0 && w < g->w) ? vgen_ops_get(s->x->data, s->x->dtype, row + w) : 0.0f;
        vgen_ops_put(dst, s->cdt, wo - wo0, v);
    }
}

void vgen_conv_col_row(const vgen_conv_src *s, int64_t k, int64_t p0, int64_t np, void *dst) {
    const vgen_conv3d_dims *g = &s->g;
    const size_t es = vgen_dtype_size(s->cdt);
    const int64_t c = k % g->kw, b = k / g->kw % g->kh, a = k / (g->kw * g->kh) % g->kt, ci = k / (g->kw * g->kh * g->kt);
    for (int64_t p = p0; p < p0 + np;) {
        const int64_t wo = p % g->wo, ho = p / g->wo % g->ho, to = p / (g->wo * g->ho);
        const int64_t wo1 = g->wo - wo < p0 + np - p ? g->wo : wo + (p0 + np - p);
        col_segment(s, ci, a, b, c, to, ho, wo, wo1, (char *)dst + (size_t)(p - p0) * es);
        p += wo1 - wo;
    }
}

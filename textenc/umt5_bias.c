/* umt5_bias.c - T5's bidirectional relative-position buckets and the per-layer attention bias [Nh, L, L] built from
 * a layer's bucket table and the key mask. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "umt5_internal.h"

/* transformers' _relative_position_bucket with bidirectional=True: half the buckets per direction (keys after the
 * query get the upper half); within a half, distances below max_exact = half/2 get a bucket each, larger ones share
 * logarithmically spaced buckets up to max_distance. The logarithm is float32 as torch computes it (.float()). */
int32_t vgen_umt5_bucket(int64_t rel, int64_t buckets, int64_t max_distance) {
    const int64_t half = buckets / 2, max_exact = half / 2;
    const int64_t base = rel > 0 ? half : 0;
    const int64_t n = rel < 0 ? -rel : rel;
    if (n < max_exact) return (int32_t)(base + n);
    if (max_exact < 1 || max_distance <= max_exact) return (int32_t)(base + half - 1); /* degenerate configs */
    float r = logf((float)n / (float)max_exact) / (float)log((double)max_distance / (double)max_exact);
    r = r * (float)(half - max_exact);
    const int64_t large = r < (float)(half - max_exact) ? max_exact + (int64_t)r : half - 1;
    return (int32_t)(base + large);
}

typedef struct bias_job {
    const vgen_umt5_session *s;
    const float *rel_bias;   /* [Nh, B] */
    const uint8_t *mask;     /* [n] or NULL */
    int64_t n;
    float *bias;             /* [Nh, n, n] */
} bias_job;

/* Head h: rel[r] = rel_bias[h, bucket(r - (max_len - 1))] over the relative positions in reach, then rows. */
static void bias_head(void *arg, int64_t h, int thread) {
    (void)thread;
    const bias_job *j = arg;
    const vgen_umt5_session *s = j->s;
    const int64_t B = s->m->cfg.buckets, n = j->n, c = s->max_len - 1; /* rel index of distance 0 */
    float *rel = s->a.rel + h * (2 * s->max_len - 1);                 /* [2 max_len - 1] */
    for (int64_t r = c - (n - 1); r <= c + (n - 1); r++) rel[r] = j->rel_bias[h * B + s->a.bucket[r]];
    for (int64_t i = 0; i < n; i++) {
        float *row = j->bias + (h * n + i) * n; /* [n]: key j at rel index c + j - i */
        memcpy(row, rel + c - i, (size_t)n * sizeof *row);
        if (!j->mask) continue;
        for (int64_t k = 0; k < n; k++)
            if (!j->mask[k]) row[k] = -INFINITY;
    }
}

static void fill_host(vgen_umt5_session *s, const float *rel_bias, const uint8_t *mask, int64_t n) {
    bias_job j = {.s = s, .rel_bias = rel_bias, .mask = mask, .n = n, .bias = s->a.bias.data};
    vgen_threadpool_for(s->be->pool, s->m->cfg.heads, bias_head, &j);
}

/* ---- device backends: the same bias from backend ops ----
 * bias[Nh, n n] = rel_bias[Nh, B] x onehot[n n, B]^T, a linear with f32 x (so f32 products and sums; the bf16
 * one-hot, 0 and 1 exactly, is widened to f32): each output sums one table entry times 1 and zeros, so it is the
 * entry exactly. The mask is then a broadcast add of maskv [n] (0 or
 * -inf) over the [Nh n, n] rows: entry + 0 = entry, entry - inf = -inf, as the host fill gives. */

/* One-hot rows [r0, r0 + nr) for n tokens: row i n + j has a 1 at bucket(j - i). */
static void fill_onehot(const vgen_umt5_session *s, int64_t r0, int64_t nr, void *dst) {
    const int64_t B = s->m->cfg.buckets, n = s->stage.onehot_n, c = s->max_len - 1;
    uint16_t *oh = dst; /* [nr, B] bf16 */
    memset(oh, 0, (size_t)(nr * B) * sizeof *oh);
    for (int64_t r = 0; r < nr; r++) {
        const int64_t i = (r0 + r) / n, j = (r0 + r) % n;
        oh[r * B + s->a.bucket[c + j - i]] = 0x3f80; /* bf16 1.0 */
    }
}

int umt5_bias_inputs(vgen_umt5_session *s, const uint8_t *mask, int64_t n, vgen_err *err) {
    const int64_t B = s->m->cfg.buckets;
    int rc = VGEN_OK;
    if (s->stage.onehot_n != n) {
        s->stage.onehot_n = n;
        rc = umt5_upload_rows(s, s->a.onehot, (size_t)B * sizeof(uint16_t), n * n, fill_onehot, err);
        if (rc) s->stage.onehot_n = 0;
    }
    if (rc || !mask) return rc;
    for (int64_t k = 0; k < n; k++) s->stage.f32[k] = mask[k] ? 0.0f : -INFINITY; /* [n] */
    return s->be->upload(s->be, s->a.maskv, s->stage.f32, (size_t)n * sizeof(float), err);
}

static int fill_device(vgen_umt5_session *s, const float *rel_bias, const uint8_t *mask, int64_t n, vgen_err *err) {
    const vgen_umt5_config *c = &s->m->cfg;
    vgen_backend *be = s->be;
    vgen_tensor table = umt5_view(s, (void *)(uintptr_t)rel_bias, VGEN_DTYPE_F32, 2, c->heads, c->buckets, 0);
    vgen_tensor bias = umt5_view(s, s->a.bias.data, VGEN_DTYPE_F32, 2, c->heads, n * n, 0); /* [Nh, n n] */
    const vgen_qmatrix oh = {.format = VGEN_WF_BF16, .rows = n * n, .cols = c->buckets, .data = s->a.onehot};
    int rc = be->linear(be, &table, &oh, NULL, &bias, err);
    if (rc || !mask) return rc;
    vgen_tensor rows = umt5_view(s, s->a.bias.data, VGEN_DTYPE_F32, 2, c->heads * n, n, 0); /* [Nh n, n] */
    vgen_tensor mv = umt5_view(s, s->a.maskv, VGEN_DTYPE_F32, 1, n, 0, 0);                  /* [n] */
    return be->binary(be, VGEN_BINARY_ADD, &rows, &mv, &rows, err);
}

int umt5_fill_bias(vgen_umt5_session *s, const float *rel_bias, const uint8_t *mask, int64_t n, vgen_err *err) {
    if (!s->be->host_addressable) return fill_device(s, rel_bias, mask, n, err);
    fill_host(s, rel_bias, mask, n);
    return VGEN_OK;
}

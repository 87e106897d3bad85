/* umt5_bias.c - T5's bidirectional relative-position buckets and the per-layer attention bias [Nh, L, L] built from
 * a layer's bucket table and the key mask. */
#include <math.h>
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

void umt5_fill_bias(vgen_umt5_session *s, const float *rel_bias, const uint8_t *mask, int64_t n) {
    bias_job j = {.s = s, .rel_bias = rel_bias, .mask = mask, .n = n, .bias = s->a.bias.data};
    vgen_threadpool_for(s->be->pool, s->m->cfg.heads, bias_head, &j);
}

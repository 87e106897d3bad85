/* ops_attention.c - reference attention (backend.h), one (head, query row) at a time:
 *   t_j = scale * (q[i, h, :] . k[j, h, :]) + bias[h, i, j]        j < Lk, in double from the f32 values
 *   m = max_j t_j;  p_j = exp(t_j - m);  out[i, h, :] = sum_j p_j v[j, h, :] / sum_j p_j
 * A row whose keys are all masked (every t_j = -inf), or Lk = 0, gets out = 0. Scratch: one row of Lk scores and
 * one output row, so memory is O(Lk + Dh) whatever the sizes. */
#include <math.h>
#include <stdlib.h>

#include "ref/ops_ref.h"

typedef struct ref_attn {
    const vgen_tensor *q, *k, *v, *bias;
    vgen_tensor *out;
    float scale;
    vgen_attn_dims d;
    double *t;   /* [Lk] scores of the current row */
    double *acc; /* [Dh] weighted sum of v */
} ref_attn;

/* t[j] for query i of head h; returns their max (-inf if every key is masked). */
static double row_scores(const ref_attn *a, int64_t h, int64_t i) {
    const vgen_attn_dims *d = &a->d;
    const int64_t qb = (i * d->h + h) * d->dh; /* q[i, h, :] */
    double mx = -INFINITY;
    for (int64_t j = 0; j < d->lk; j++) {
        const int64_t kb = (j * d->h + h) * d->dh; /* k[j, h, :] */
        double dot = 0.0;
        for (int64_t e = 0; e < d->dh; e++)
            dot += (double)vgen_ops_get(a->q->data, a->q->dtype, qb + e) *
                   (double)vgen_ops_get(a->k->data, a->k->dtype, kb + e);
        double t = (double)a->scale * dot;
        if (a->bias) t += ((const float *)a->bias->data)[(h * d->lq + i) * d->lk + j];
        a->t[j] = t;
        if (t > mx) mx = t;
    }
    return mx;
}

static void row_output(const ref_attn *a, int64_t h, int64_t i, double mx) {
    const vgen_attn_dims *d = &a->d;
    for (int64_t e = 0; e < d->dh; e++) a->acc[e] = 0.0;
    double sum = 0.0;
    if (mx > -INFINITY) {
        for (int64_t j = 0; j < d->lk; j++) {
            const double p = exp(a->t[j] - mx);
            const int64_t vb = (j * d->h + h) * d->dh; /* v[j, h, :] */
            sum += p;
            for (int64_t e = 0; e < d->dh; e++) a->acc[e] += p * vgen_ops_get(a->v->data, a->v->dtype, vb + e);
        }
    }
    const int64_t ob = (i * d->h + h) * d->dh;
    for (int64_t e = 0; e < d->dh; e++)
        vgen_ops_put(a->out->data, a->out->dtype, ob + e, sum > 0.0 ? (float)(a->acc[e] / sum) : 0.0f);
}

static int ref_attention(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                         float scale, const vgen_tensor *bias, vgen_tensor *out, vgen_err *err) {
    (void)be;
    ref_attn a = {q, k, v, bias, out, scale, {0, 0, 0, 0}, NULL, NULL};
    int rc = vgen_ops_check_attention("ref attention", VGEN_DEVICE_CPU, q, k, v, bias, out, &a.d, err);
    if (rc || a.d.lq * a.d.h * a.d.dh == 0) return rc;
    a.t = malloc((size_t)(a.d.lk + 1) * sizeof *a.t);
    a.acc = malloc((size_t)a.d.dh * sizeof *a.acc);
    if (!a.t || !a.acc) {
        free(a.t);
        free(a.acc);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "ref attention: cannot allocate a row of %lld scores",
                            (long long)a.d.lk);
    }
    for (int64_t h = 0; h < a.d.h; h++)
        for (int64_t i = 0; i < a.d.lq; i++) row_output(&a, h, i, row_scores(&a, h, i));
    free(a.t);
    free(a.acc);
    return VGEN_OK;
}

void vgen_ref_attention_install(vgen_backend *be) { be->attention = ref_attention; }

/* ops_norm.c - reference layer_norm, rms_norm and channel_rms_norm (backend.h): one row (or one position) at a
 * time, statistics accumulated in double from the f32 values of x, the result rounded once to y's dtype.
 * y may be x: each row is read in full before it is written. */
#include <math.h>

#include "ref/ops_ref.h"

/* The f32 value of a per-feature parameter, or `dflt` when the vector is NULL. */
static double param(const float *p, int64_t i, double dflt) { return p ? (double)p[i] : dflt; }

/* y[M, D] = LN(x) * w + b, then * (1 + scale) + shift (backend.h). */
static int ref_layer_norm(vgen_backend *be, const vgen_tensor *x, const float *w, const float *b, const float *shift,
                          const float *scale, float eps, vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t m, d;
    int rc = vgen_ops_check_rows("ref layer_norm", x, y, &m, &d, err);
    if (rc) return rc;
    for (int64_t r = 0; r < m; r++) {
        const int64_t base = r * d;
        double mean = 0.0, var = 0.0;
        for (int64_t i = 0; i < d; i++) mean += vgen_ops_get(x->data, x->dtype, base + i);
        mean /= (double)d;
        for (int64_t i = 0; i < d; i++) {
            double c = vgen_ops_get(x->data, x->dtype, base + i) - mean;
            var += c * c;
        }
        const double inv = 1.0 / sqrt(var / (double)d + (double)eps);
        for (int64_t i = 0; i < d; i++) {
            double v = (vgen_ops_get(x->data, x->dtype, base + i) - mean) * inv;
            v = v * param(w, i, 1.0) + param(b, i, 0.0);
            v = v * (1.0 + param(scale, i, 0.0)) + param(shift, i, 0.0);
            vgen_ops_put(y->data, y->dtype, base + i, (float)v);
        }
    }
    return VGEN_OK;
}

/* y[M, D] = x * rsqrt(mean_D(x^2) + eps) * w. */
static int ref_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *w, float eps, vgen_tensor *y,
                        vgen_err *err) {
    (void)be;
    int64_t m, d;
    int rc = vgen_ops_check_rows("ref rms_norm", x, y, &m, &d, err);
    if (rc) return rc;
    for (int64_t r = 0; r < m; r++) {
        const int64_t base = r * d;
        double ss = 0.0;
        for (int64_t i = 0; i < d; i++) {
            double v = vgen_ops_get(x->data, x->dtype, base + i);
            ss += v * v;
        }
        const double inv = 1.0 / sqrt(ss / (double)d + (double)eps);
        for (int64_t i = 0; i < d; i++) {
            double v = vgen_ops_get(x->data, x->dtype, base + i) * inv * param(w, i, 1.0);
            vgen_ops_put(y->data, y->dtype, base + i, (float)v);
        }
    }
    return VGEN_OK;
}

/* x [C, S]: y[c, s] = x[c, s] / max(||x[:, s]||_2, 1e-12) * sqrt(C) * gamma[c] + bias[c]. */
static int ref_channel_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *gamma, const float *bias,
                                vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t c, s;
    int rc = vgen_ops_check_channels("ref channel_rms_norm", x, gamma, y, &c, &s, err);
    if (rc) return rc;
    const double root_c = sqrt((double)c);
    for (int64_t j = 0; j < s; j++) {
        double ss = 0.0;
        for (int64_t i = 0; i < c; i++) {
            double v = vgen_ops_get(x->data, x->dtype, i * s + j);
            ss += v * v;
        }
        const double norm = fmax(sqrt(ss), 1e-12);
        for (int64_t i = 0; i < c; i++) {
            double v = vgen_ops_get(x->data, x->dtype, i * s + j) / norm * root_c * gamma[i] + param(bias, i, 0.0);
            vgen_ops_put(y->data, y->dtype, i * s + j, (float)v);
        }
    }
    return VGEN_OK;
}

void vgen_ref_norm_install(vgen_backend *be) {
    be->layer_norm = ref_layer_norm;
    be->rms_norm = ref_rms_norm;
    be->channel_rms_norm = ref_channel_rms_norm;
}

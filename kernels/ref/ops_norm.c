/* ops_norm.c - reference layer_norm, rms_norm and channel_rms_norm (backend.h): one row (or one position) at a
 * time. The statistics (mean, biased variance, sums of squares) are accumulated in double from the f32 values of x
 * and rounded once to f32; the finalization is core/elem_math.h's f32 formula, the one every backend (CUDA
 * included) applies; y receives it rounded to its dtype. y may be x: each row is read in full before it is
 * written. */
#include <math.h>

#include "elem_math.h"
#include "ref/ops_ref.h"

/* A per-feature parameter, or its neutral value `dflt` when the vector is NULL. */
static float param(const float *p, int64_t i, float dflt) { return p ? p[i] : dflt; }

/* y[M, D] = LN(x) * w + b, then * (1 + scale) + shift (backend.h). */
static int ref_layer_norm(vgen_backend *be, const vgen_tensor *x, const float *w, const float *b, const float *shift,
                          const float *scale, float eps, vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t m, d;
    int rc = vgen_ops_check_rows("ref layer_norm", VGEN_DEVICE_CPU, x, y, &m, &d, err);
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
        const float mean_f = (float)mean, rstd = vgen_norm_rstd((float)(var / (double)d), eps);
        for (int64_t i = 0; i < d; i++) {
            const float v = vgen_layer_norm_apply(vgen_ops_get(x->data, x->dtype, base + i), mean_f, rstd,
                                                  param(w, i, 1.0f), param(b, i, 0.0f), param(scale, i, 0.0f),
                                                  param(shift, i, 0.0f));
            vgen_ops_put(y->data, y->dtype, base + i, v);
        }
    }
    return VGEN_OK;
}

/* y[M, D] = x * rsqrt(mean_D(x^2) + eps) * w. */
static int ref_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *w, float eps, vgen_tensor *y,
                        vgen_err *err) {
    (void)be;
    int64_t m, d;
    int rc = vgen_ops_check_rows("ref rms_norm", VGEN_DEVICE_CPU, x, y, &m, &d, err);
    if (rc) return rc;
    for (int64_t r = 0; r < m; r++) {
        const int64_t base = r * d;
        double ss = 0.0;
        for (int64_t i = 0; i < d; i++) {
            double v = vgen_ops_get(x->data, x->dtype, base + i);
            ss += v * v;
        }
        const float rstd = vgen_norm_rstd((float)(ss / (double)d), eps);
        for (int64_t i = 0; i < d; i++) {
            const float v = vgen_rms_norm_apply(vgen_ops_get(x->data, x->dtype, base + i), rstd, param(w, i, 1.0f));
            vgen_ops_put(y->data, y->dtype, base + i, v);
        }
    }
    return VGEN_OK;
}

/* x [C, S]: y[c, s] = x[c, s] / max(||x[:, s]||_2, 1e-12) * sqrt(C) * gamma[c] + bias[c], as
 * x[c, s] * (sqrt(C) / max(..)) * gamma[c] + bias[c] (elem_math.h). */
static int ref_channel_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *gamma, const float *bias,
                                vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t c, s;
    int rc = vgen_ops_check_channels("ref channel_rms_norm", VGEN_DEVICE_CPU, x, gamma, y, &c, &s, err);
    if (rc) return rc;
    const float root_c = sqrtf((float)c);
    for (int64_t j = 0; j < s; j++) {
        double ss = 0.0;
        for (int64_t i = 0; i < c; i++) {
            double v = vgen_ops_get(x->data, x->dtype, i * s + j);
            ss += v * v;
        }
        const float factor = vgen_channel_rms_scale((float)ss, root_c);
        for (int64_t i = 0; i < c; i++) {
            const float v = vgen_channel_rms_apply(vgen_ops_get(x->data, x->dtype, i * s + j), factor, gamma[i],
                                                   param(bias, i, 0.0f));
            vgen_ops_put(y->data, y->dtype, i * s + j, v);
        }
    }
    return VGEN_OK;
}

void vgen_ref_norm_install(vgen_backend *be) {
    be->layer_norm = ref_layer_norm;
    be->rms_norm = ref_rms_norm;
    be->channel_rms_norm = ref_channel_rms_norm;
}

/* ops_conv3d.c - reference 3-D convolution (backend.h), a direct loop:
 *   y[co, to, ho, wo] = bias[co] + sum_{ci, a, b, c} w[co, ci, a, b, c] x[ci, to*st + a - pt, ho*sh + b - ph,
 *                                                                          wo*sw + c - pw]
 * with x = 0 outside [0, F) x [0, H) x [0, W). Products of f32 values are exact in double and summed in double in
 * the order (ci, a, b, c); one rounding to y's dtype. */
#include "ref/ops_ref.h"

typedef struct ref_conv {
    const vgen_tensor *x, *w;
    const float *bias;
    vgen_tensor *y;
    vgen_conv3d_dims g;
} ref_conv;

/* The input index of output coordinate o and kernel tap a along one axis, or -1 in the padding. */
static int64_t in_index(int64_t o, int64_t stride, int64_t a, int64_t pad, int64_t size) {
    int64_t i = o * stride + a - pad;
    return (i >= 0 && i < size) ? i : -1;
}

static double one_output(const ref_conv *c, int64_t co, int64_t to, int64_t ho, int64_t wo) {
    const vgen_conv3d_dims *g = &c->g;
    double acc = c->bias ? (double)c->bias[co] : 0.0;
    for (int64_t ci = 0; ci < g->cin; ci++) {
        for (int64_t a = 0; a < g->kt; a++) {
            const int64_t t = in_index(to, g->st, a, g->pt, g->f);
            if (t < 0) continue;
            for (int64_t b = 0; b < g->kh; b++) {
                const int64_t h = in_index(ho, g->sh, b, g->ph, g->h);
                if (h < 0) continue;
                for (int64_t e = 0; e < g->kw; e++) {
                    const int64_t w = in_index(wo, g->sw, e, g->pw, g->w);
                    if (w < 0) continue;
                    const int64_t xi = ((ci * g->f + t) * g->h + h) * g->w + w;
                    const int64_t wi = (((co * g->cin + ci) * g->kt + a) * g->kh + b) * g->kw + e;
                    acc += (double)vgen_ops_get(c->x->data, c->x->dtype, xi) *
                           (double)vgen_ops_get(c->w->data, c->w->dtype, wi);
                }
            }
        }
    }
    return acc;
}

static int ref_conv3d(vgen_backend *be, const vgen_tensor *x, const vgen_tensor *w, const float *bias,
                      const vgen_conv3d_params *p, vgen_tensor *y, vgen_err *err) {
    (void)be;
    ref_conv c = {x, w, bias, y, {0}};
    int rc = vgen_ops_check_conv3d("ref conv3d", VGEN_DEVICE_CPU, x, w, p, y, &c.g, err);
    if (rc) return rc;
    const vgen_conv3d_dims *g = &c.g;
    int64_t yi = 0;
    for (int64_t co = 0; co < g->cout; co++)
        for (int64_t to = 0; to < g->fo; to++)
            for (int64_t ho = 0; ho < g->ho; ho++)
                for (int64_t wo = 0; wo < g->wo; wo++)
                    vgen_ops_put(y->data, y->dtype, yi++, (float)one_output(&c, co, to, ho, wo));
    return VGEN_OK;
}

void vgen_ref_conv3d_install(vgen_backend *be) { be->conv3d = ref_conv3d; }

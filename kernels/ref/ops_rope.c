/* ops_rope.c - reference rotary embedding (backend.h), in place on x [L, H, Dh]:
 * for every token l, head h and pair j < Dh/2, with c = cos_t[l, j], s = sin_t[l, j]:
 *   x[l, h, 2j]   <- x0 c - x1 s
 *   x[l, h, 2j+1] <- x0 s + x1 c
 * in f32 by core/elem_math.h's vgen_rope_pair (the formula every backend uses), rounded to x's dtype. */
#include "elem_math.h"
#include "ref/ops_ref.h"

static int ref_rope(vgen_backend *be, vgen_tensor *x, const float *cos_t, const float *sin_t, vgen_err *err) {
    (void)be;
    int rc = vgen_ops_check_rope("ref rope", VGEN_DEVICE_CPU, x, cos_t, sin_t, err);
    if (rc) return rc;
    const int64_t l_dim = x->shape[0], h_dim = x->shape[1], half = x->shape[2] / 2;
    for (int64_t l = 0; l < l_dim; l++) {
        for (int64_t h = 0; h < h_dim; h++) {
            const int64_t base = (l * h_dim + h) * half * 2; /* x[l, h, :] */
            for (int64_t j = 0; j < half; j++) {
                float o0, o1;
                vgen_rope_pair(vgen_ops_get(x->data, x->dtype, base + 2 * j),
                               vgen_ops_get(x->data, x->dtype, base + 2 * j + 1), cos_t[l * half + j],
                               sin_t[l * half + j], &o0, &o1);
                vgen_ops_put(x->data, x->dtype, base + 2 * j, o0);
                vgen_ops_put(x->data, x->dtype, base + 2 * j + 1, o1);
            }
        }
    }
    return VGEN_OK;
}

void vgen_ref_rope_install(vgen_backend *be) { be->rope = ref_rope; }

/* ops_elementwise.c - reference unary, binary, gated_add and convert (backend.h).
 *   gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   in double
 *   silu(x)      = x / (1 + exp(-x))                                 in double
 *   binary: y = a + b or a * b in f32 (one correctly rounded f32 operation, as any backend computes it)
 *   gated_add: x = x + gate * y in double, rounded once
 *   convert: through f32 with round-to-nearest-even (numeric.h)
 * Elementwise in increasing index order, so y may be x. */
#include <math.h>

#include "ref/ops_ref.h"

static double unary_f(vgen_unary_op op, double x) {
    if (op == VGEN_UNARY_SILU) return x / (1.0 + exp(-x));
    const double k = 0.7978845608028654; /* sqrt(2/pi) */
    return 0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x)));
}

static int ref_unary(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t n;
    int rc = vgen_ops_check_unary("ref unary", op, x, y, &n, err);
    if (rc) return rc;
    for (int64_t i = 0; i < n; i++)
        vgen_ops_put(y->data, y->dtype, i, (float)unary_f(op, vgen_ops_get(x->data, x->dtype, i)));
    return VGEN_OK;
}

static int ref_binary(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b, vgen_tensor *y,
                      vgen_err *err) {
    (void)be;
    int64_t m, d;
    int b_rows;
    int rc = vgen_ops_check_binary("ref binary", op, a, b, y, &m, &d, &b_rows, err);
    if (rc) return rc;
    for (int64_t r = 0; r < m; r++) {
        for (int64_t i = 0; i < d; i++) {
            const float av = vgen_ops_get(a->data, a->dtype, r * d + i);
            const float bv = vgen_ops_get(b->data, b->dtype, b_rows ? r * d + i : i);
            vgen_ops_put(y->data, y->dtype, r * d + i, op == VGEN_BINARY_ADD ? av + bv : av * bv);
        }
    }
    return VGEN_OK;
}

static int ref_gated_add(vgen_backend *be, vgen_tensor *x, const float *gate, const vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t m, d;
    int rc = vgen_ops_check_gated_add("ref gated_add", x, y, &m, &d, err);
    if (rc) return rc;
    for (int64_t r = 0; r < m; r++) {
        for (int64_t i = 0; i < d; i++) {
            const double g = gate ? (double)gate[i] : 1.0;
            const double v = (double)vgen_ops_get(x->data, x->dtype, r * d + i) +
                             g * (double)vgen_ops_get(y->data, y->dtype, r * d + i);
            vgen_ops_put(x->data, x->dtype, r * d + i, (float)v);
        }
    }
    return VGEN_OK;
}

static int ref_convert(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t n;
    int rc = vgen_ops_check_convert("ref convert", x, y, &n, err);
    if (rc) return rc;
    /* In place into a wider dtype must run backwards so no element is overwritten before it is read. */
    if (x->data == y->data && vgen_dtype_size(y->dtype) > vgen_dtype_size(x->dtype)) {
        for (int64_t i = n - 1; i >= 0; i--) vgen_ops_put(y->data, y->dtype, i, vgen_ops_get(x->data, x->dtype, i));
    } else {
        for (int64_t i = 0; i < n; i++) vgen_ops_put(y->data, y->dtype, i, vgen_ops_get(x->data, x->dtype, i));
    }
    return VGEN_OK;
}

void vgen_ref_elementwise_install(vgen_backend *be) {
    be->unary = ref_unary;
    be->binary = ref_binary;
    be->gated_add = ref_gated_add;
    be->convert = ref_convert;
}

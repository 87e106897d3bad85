/* ops_elementwise.c - reference unary, binary, gated_add and convert (backend.h).
 *   gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   in f32 (core/elem_math.h, every backend's
 *   silu(x)      = x / (1 + exp(-x))                                 formulas; tests/test_elem_math.c checks them
 *                                                                    against double precision)
 *   binary: y = a + b or a * b in f32 (one correctly rounded f32 operation, as any backend computes it)
 *   gated_add: x = x + gate * y in f32 (elem_math.h: the product and the sum each rounded)
 *   convert: through f32 with round-to-nearest-even (numeric.h)
 * Elementwise in increasing index order, so y may be x. */
#include "elem_math.h"
#include "ref/ops_ref.h"

static float unary_f(vgen_unary_op op, float x) { return op == VGEN_UNARY_SILU ? vgen_silu(x) : vgen_gelu_tanh(x); }

static int ref_unary(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t n;
    int rc = vgen_ops_check_unary("ref unary", VGEN_DEVICE_CPU, op, x, y, &n, err);
    if (rc) return rc;
    for (int64_t i = 0; i < n; i++)
        vgen_ops_put(y->data, y->dtype, i, unary_f(op, vgen_ops_get(x->data, x->dtype, i)));
    return VGEN_OK;
}

static int ref_binary(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b, vgen_tensor *y,
                      vgen_err *err) {
    (void)be;
    int64_t m, d;
    int b_rows;
    int rc = vgen_ops_check_binary("ref binary", VGEN_DEVICE_CPU, op, a, b, y, &m, &d, &b_rows, err);
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
    int rc = vgen_ops_check_gated_add("ref gated_add", VGEN_DEVICE_CPU, x, y, &m, &d, err);
    if (rc) return rc;
    for (int64_t r = 0; r < m; r++) {
        for (int64_t i = 0; i < d; i++) {
            const float v = vgen_gated_add1(vgen_ops_get(x->data, x->dtype, r * d + i), gate ? gate[i] : 1.0f,
                                            vgen_ops_get(y->data, y->dtype, r * d + i));
            vgen_ops_put(x->data, x->dtype, r * d + i, v);
        }
    }
    return VGEN_OK;
}

static int ref_convert(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t n;
    int rc = vgen_ops_check_convert("ref convert", VGEN_DEVICE_CPU, x, y, &n, err);
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

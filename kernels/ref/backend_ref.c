/* backend_ref.c - the plain-C reference backend, the oracle every other backend is tested against.
 *
 * linear: y[M, N] = x[M, K] W[N, K]^T + bias[N], one output feature n at a time:
 *   1. row n of W is dequantized to f32 by vgen_wformat_dequantize_rows (the format's definition), so the only
 *      temporary is one row of K floats;
 *   2. compute dtype = x's dtype (backend.h):
 *        f32 x:  w = deq(W)[n, k] (f32) and x as given;
 *        bf16 x: x as given (already bf16) and w = bf16_rne(deq(W)[n, k]);
 *      every product x * w is exact in double (24-bit by 24-bit significands fit in 53 bits), and the sum over k,
 *      plus bias[n], is accumulated in double in increasing k;
 *   3. the sum is rounded once to f32, then, for a bf16 y, to bf16 (round to nearest even; numeric.h).
 * For bf16 compute this is the exact value that "bf16 products with f32 accumulation" approximates (the products
 * of two bf16 values are exact in f32, so an f32-accumulating backend differs only by its summation error).
 * Plain loops, no threads, no blocking: slow on purpose, and obviously right.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "ref/ops_ref.h"
#include "numeric.h"
#include "ref/backend_common.h"
#include "ref/linear_check.h"

/* x[m, k] as f32 (x is f32 or bf16). */
static float x_at(const vgen_tensor *x, int64_t i) {
    if (x->dtype == VGEN_DTYPE_BF16) return vgen_bf16_to_f32(((const uint16_t *)x->data)[i]);
    return ((const float *)x->data)[i];
}

static void y_store(vgen_tensor *y, int64_t i, double v) {
    float f = (float)v;
    if (y->dtype == VGEN_DTYPE_BF16) ((uint16_t *)y->data)[i] = vgen_f32_to_bf16(f);
    else ((float *)y->data)[i] = f;
}

/* Column n of y: y[m, n] = sum_k x[m, k] w[k] + b, for every m. w: [K] f32 in the compute precision. */
static void ref_column(const vgen_tensor *x, const float *w, double b, int64_t m_rows, int64_t k_dim, int64_t n,
                       int64_t n_dim, vgen_tensor *y) {
    for (int64_t m = 0; m < m_rows; m++) {
        double acc = 0.0;
        for (int64_t k = 0; k < k_dim; k++) acc += (double)x_at(x, m * k_dim + k) * (double)w[k];
        y_store(y, m * n_dim + n, acc + b);
    }
}

static int ref_linear(vgen_backend *be, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias,
                      vgen_tensor *y, vgen_err *err) {
    (void)be;
    int64_t m_rows;
    int rc = vgen_linear_check("ref", x, w, y, &m_rows, err);
    if (rc || m_rows == 0) return rc;
    const int64_t k_dim = w->cols, n_dim = w->rows;
    float *row = malloc((size_t)k_dim * sizeof *row); /* [K] */
    if (!row) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "ref linear: cannot allocate a row of %lld floats",
                                  (long long)k_dim);
    for (int64_t n = 0; n < n_dim; n++) {
        vgen_wformat_dequantize_rows(w, n, 1, row);
        if (x->dtype == VGEN_DTYPE_BF16)
            for (int64_t k = 0; k < k_dim; k++) row[k] = vgen_bf16_to_f32(vgen_f32_to_bf16(row[k]));
        ref_column(x, row, bias ? (double)bias[n] : 0.0, m_rows, k_dim, n, n_dim, y);
    }
    free(row);
    return VGEN_OK;
}

static bool ref_supports(const vgen_backend *be, vgen_op op, vgen_wformat format) {
    return vgen_backend_has_op(be, op, format);
}

static void ref_destroy(vgen_backend *be) { be->impl = NULL; }

int vgen_backend_ref_new(vgen_backend **out, vgen_err *err) {
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_backend_ref_new: out is NULL");
    *out = NULL;
    vgen_backend *be = calloc(1, sizeof *be);
    if (!be) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the reference backend");
    be->name = "ref";
    be->device = VGEN_DEVICE_CPU;
    be->supports = ref_supports;
    be->linear = ref_linear;
    be->destroy = ref_destroy;
    vgen_ref_ops_install(be); /* every other op (kernels/ref/ops_*.c) */
    vgen_backend_host_install(be);
    *out = be;
    return VGEN_OK;
}

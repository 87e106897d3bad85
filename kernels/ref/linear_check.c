/* linear_check.c - validation of linear's arguments (see linear_check.h). */
#include "ref/linear_check.h"

#include <stddef.h>
#include <stdint.h>

/* Whether the byte ranges of two non-empty tensors intersect (the GEMM cannot run in place). */
static int overlap(const vgen_tensor *a, const vgen_tensor *b) {
    uintptr_t a0 = (uintptr_t)a->data, b0 = (uintptr_t)b->data;
    return a0 < b0 + vgen_tensor_bytes(b) && b0 < a0 + vgen_tensor_bytes(a);
}

static int act_dtype_ok(vgen_dtype t) { return t == VGEN_DTYPE_F32 || t == VGEN_DTYPE_BF16; }

/* W: format known, N and K positive, data present, scales / zeros present when the format has them. */
static int check_weights(const char *be, const vgen_qmatrix *w, vgen_err *err) {
    const vgen_wformat_traits *tr = vgen_wformat_get(w->format);
    if (!tr)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s linear: unknown weight format %d", be, (int)w->format);
    if (w->rows <= 0 || w->cols <= 0)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s linear: W [%lld, %lld] (%s) must have positive dims", be,
                            (long long)w->rows, (long long)w->cols, tr->name);
    size_t bytes;
    if (vgen_wformat_data_bytes(w->format, w->rows, w->cols, &bytes))
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s linear: W [%lld, %lld] (%s) is too large", be,
                            (long long)w->rows, (long long)w->cols, tr->name);
    if (!w->data) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s linear: W (%s) has no data", be, tr->name);
    if (tr->scale_kind != VGEN_SCALE_NONE && !w->scales)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s linear: W (%s) has no scales", be, tr->name);
    if (tr->has_zero && !w->zeros)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s linear: W (%s) has no zero points", be, tr->name);
    return VGEN_OK;
}

static int shape_error(const char *be, const vgen_tensor *x, const vgen_qmatrix *w, const vgen_tensor *y,
                       const char *why, vgen_err *err) {
    char xs[96], ys[96];
    int64_t ws[2] = {w->rows, w->cols};
    char wss[64];
    return vgen_err_set(err, VGEN_ERR_SHAPE, "%s linear: x %s %s, W %s, y %s %s: %s", be,
                        vgen_shape_str(x->shape, x->n_dims, xs, sizeof xs), vgen_dtype_name(x->dtype),
                        vgen_shape_str(ws, 2, wss, sizeof wss), vgen_shape_str(y->shape, y->n_dims, ys, sizeof ys),
                        vgen_dtype_name(y->dtype), why);
}

/* x[..., K] and y[..., N] with equal leading dims. */
static int check_shapes(const char *be, const vgen_tensor *x, const vgen_qmatrix *w, const vgen_tensor *y,
                        int64_t *m, vgen_err *err) {
    if (x->n_dims < 1 || x->n_dims > VGEN_TENSOR_MAX_DIMS || y->n_dims < 1 || y->n_dims > VGEN_TENSOR_MAX_DIMS)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s linear: rank of x (%d) or y (%d) outside 1..%d", be, x->n_dims,
                            y->n_dims, VGEN_TENSOR_MAX_DIMS);
    if (!act_dtype_ok(x->dtype) || !act_dtype_ok(y->dtype))
        return shape_error(be, x, w, y, "x and y must be f32 or bf16", err);
    if (x->shape[x->n_dims - 1] != w->cols) return shape_error(be, x, w, y, "x's innermost dim must be K", err);
    if (y->shape[y->n_dims - 1] != w->rows) return shape_error(be, x, w, y, "y's innermost dim must be N", err);
    if (x->n_dims != y->n_dims) return shape_error(be, x, w, y, "x and y must have the same rank", err);
    int64_t rows = 1;
    for (int i = 0; i < x->n_dims - 1; i++) {
        if (x->shape[i] != y->shape[i]) return shape_error(be, x, w, y, "leading dims of x and y differ", err);
        if (x->shape[i] < 0) return shape_error(be, x, w, y, "negative dim", err);
        rows *= x->shape[i]; /* bounded: the tensor's byte size was checked when it was made */
    }
    *m = rows;
    return VGEN_OK;
}

int vgen_linear_check(const char *be, const vgen_tensor *x, const vgen_qmatrix *w, const vgen_tensor *y, int64_t *m,
                      vgen_err *err) {
    return vgen_linear_check_on(be, VGEN_DEVICE_CPU, x, w, y, m, err);
}

int vgen_linear_check_on(const char *be, vgen_device device, const vgen_tensor *x, const vgen_qmatrix *w,
                         const vgen_tensor *y, int64_t *m, vgen_err *err) {
    if (!x || !w || !y)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s linear: x, W and y must not be NULL", be);
    int rc = check_weights(be, w, err);
    if (rc) return rc;
    if (x->device != device || y->device != device)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s linear: x and y must be %s tensors", be,
                            device == VGEN_DEVICE_CPU ? "CPU" : "CUDA");
    rc = check_shapes(be, x, w, y, m, err);
    if (rc) return rc;
    if (*m == 0) return VGEN_OK;
    if (!x->data || !y->data) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s linear: x or y has no data", be);
    if (overlap(x, y)) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s linear: x and y overlap in memory", be);
    return VGEN_OK;
}

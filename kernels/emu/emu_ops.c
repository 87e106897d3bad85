/* emu_ops.c - the device emulator's ops: check that every pointer argument is device memory (emu_touch), open the
 * buffers, run the inner backend's op, close them. Sizes of the plain float arguments follow backend.h. */
#include "emu/emu_impl.h"

#include "ref/ops_ref.h"
#include "wformat.h"

#define INNER(be) (emu_of(be)->inner)

/* Runs call with the buffers open; rc is what the checks before it returned. */
#define EMU_RUN(be, rc, call)              \
    do {                                   \
        if (rc) return rc;                 \
        emu_open(emu_of(be));              \
        rc = (call);                       \
        emu_close(emu_of(be));             \
        return rc;                         \
    } while (0)

static int64_t inner_dim(const vgen_tensor *t) { return t && t->n_dims > 0 ? t->shape[t->n_dims - 1] : 0; }
static size_t floats(int64_t n) { return n > 0 ? (size_t)n * sizeof(float) : 0; }

static int touch_qmatrix(vgen_backend *be, const vgen_qmatrix *w, vgen_err *err) {
    size_t data = 0, scales = 0, zeros = 0;
    if (!w || vgen_wformat_data_bytes(w->format, w->rows, w->cols, &data) ||
        vgen_wformat_scale_count(w->format, w->rows, w->cols, &scales) ||
        vgen_wformat_zero_count(w->format, w->rows, w->cols, &zeros))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "device emulator: linear: bad weight matrix");
    int rc = emu_touch(be, w->data, data, "linear weight data", err);
    if (!rc && scales) rc = emu_touch(be, w->scales, floats((int64_t)scales), "linear weight scales", err);
    if (!rc && zeros) rc = emu_touch(be, w->zeros, zeros, "linear weight zero points", err);
    return rc;
}

static int emu_linear(vgen_backend *be, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias, vgen_tensor *y,
                      vgen_err *err) {
    int rc = emu_touch_tensor(be, x, "linear x", err);
    if (!rc) rc = touch_qmatrix(be, w, err);
    if (!rc) rc = emu_touch(be, bias, floats(w->rows), "linear bias", err);
    if (!rc) rc = emu_touch_tensor(be, y, "linear y", err);
    EMU_RUN(be, rc, INNER(be)->linear(INNER(be), x, w, bias, y, err));
}

static int emu_layer_norm(vgen_backend *be, const vgen_tensor *x, const float *w, const float *b, const float *shift,
                          const float *scale, float eps, vgen_tensor *y, vgen_err *err) {
    const size_t d = floats(inner_dim(x));
    int rc = emu_touch_tensor(be, x, "layer_norm x", err);
    if (!rc) rc = emu_touch(be, w, d, "layer_norm weight", err);
    if (!rc) rc = emu_touch(be, b, d, "layer_norm bias", err);
    if (!rc) rc = emu_touch(be, shift, d, "layer_norm shift", err);
    if (!rc) rc = emu_touch(be, scale, d, "layer_norm scale", err);
    if (!rc) rc = emu_touch_tensor(be, y, "layer_norm y", err);
    EMU_RUN(be, rc, INNER(be)->layer_norm(INNER(be), x, w, b, shift, scale, eps, y, err));
}

static int emu_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *w, float eps, vgen_tensor *y,
                        vgen_err *err) {
    int rc = emu_touch_tensor(be, x, "rms_norm x", err);
    if (!rc) rc = emu_touch(be, w, floats(inner_dim(x)), "rms_norm weight", err);
    if (!rc) rc = emu_touch_tensor(be, y, "rms_norm y", err);
    EMU_RUN(be, rc, INNER(be)->rms_norm(INNER(be), x, w, eps, y, err));
}

static int emu_channel_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *gamma, const float *bias,
                                vgen_tensor *y, vgen_err *err) {
    const size_t c = floats(x && x->n_dims > 0 ? x->shape[0] : 0);
    int rc = emu_touch_tensor(be, x, "channel_rms_norm x", err);
    if (!rc) rc = emu_touch(be, gamma, c, "channel_rms_norm gamma", err);
    if (!rc) rc = emu_touch(be, bias, c, "channel_rms_norm bias", err);
    if (!rc) rc = emu_touch_tensor(be, y, "channel_rms_norm y", err);
    EMU_RUN(be, rc, INNER(be)->channel_rms_norm(INNER(be), x, gamma, bias, y, err));
}

static int emu_rope(vgen_backend *be, vgen_tensor *x, const float *cos_t, const float *sin_t, vgen_err *err) {
    const size_t n = floats(x && x->n_dims == 3 ? x->shape[0] * (x->shape[2] / 2) : 0); /* [L, Dh/2] */
    int rc = emu_touch_tensor(be, x, "rope x", err);
    if (!rc) rc = emu_touch(be, cos_t, n, "rope cos table", err);
    if (!rc) rc = emu_touch(be, sin_t, n, "rope sin table", err);
    EMU_RUN(be, rc, INNER(be)->rope(INNER(be), x, cos_t, sin_t, err));
}

static int emu_attention(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                         float scale, const vgen_tensor *bias, vgen_tensor *out, vgen_err *err) {
    int rc = emu_touch_tensor(be, q, "attention q", err);
    if (!rc) rc = emu_touch_tensor(be, k, "attention k", err);
    if (!rc) rc = emu_touch_tensor(be, v, "attention v", err);
    if (!rc) rc = emu_touch_tensor(be, bias, "attention bias", err);
    if (!rc) rc = emu_touch_tensor(be, out, "attention out", err);
    EMU_RUN(be, rc, INNER(be)->attention(INNER(be), q, k, v, scale, bias, out, err));
}

static int emu_unary(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    int rc = emu_touch_tensor(be, x, "unary x", err);
    if (!rc) rc = emu_touch_tensor(be, y, "unary y", err);
    EMU_RUN(be, rc, INNER(be)->unary(INNER(be), op, x, y, err));
}

static int emu_binary(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b, vgen_tensor *y,
                      vgen_err *err) {
    int rc = emu_touch_tensor(be, a, "binary a", err);
    if (!rc) rc = emu_touch_tensor(be, b, "binary b", err);
    if (!rc) rc = emu_touch_tensor(be, y, "binary y", err);
    EMU_RUN(be, rc, INNER(be)->binary(INNER(be), op, a, b, y, err));
}

static int emu_gated_add(vgen_backend *be, vgen_tensor *x, const float *gate, const vgen_tensor *y, vgen_err *err) {
    int rc = emu_touch_tensor(be, x, "gated_add x", err);
    if (!rc) rc = emu_touch(be, gate, floats(inner_dim(x)), "gated_add gate", err);
    if (!rc) rc = emu_touch_tensor(be, y, "gated_add y", err);
    EMU_RUN(be, rc, INNER(be)->gated_add(INNER(be), x, gate, y, err));
}

static int emu_conv3d(vgen_backend *be, const vgen_tensor *x, const vgen_tensor *w, const float *bias,
                      const vgen_conv3d_params *p, vgen_tensor *y, vgen_err *err) {
    int rc = emu_touch_tensor(be, x, "conv3d x", err);
    if (!rc) rc = emu_touch_tensor(be, w, "conv3d weight", err);
    if (!rc) rc = emu_touch(be, bias, floats(w && w->n_dims > 0 ? w->shape[0] : 0), "conv3d bias", err);
    if (!rc) rc = emu_touch_tensor(be, y, "conv3d y", err);
    EMU_RUN(be, rc, INNER(be)->conv3d(INNER(be), x, w, bias, p, y, err));
}

static int emu_convert(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    int rc = emu_touch_tensor(be, x, "convert x", err);
    if (!rc) rc = emu_touch_tensor(be, y, "convert y", err);
    EMU_RUN(be, rc, INNER(be)->convert(INNER(be), x, y, err));
}

static int emu_check_finite(vgen_backend *be, const vgen_tensor *x, const char *what, vgen_err *err) {
    int rc = emu_touch_tensor(be, x, "check_finite x", err);
    EMU_RUN(be, rc, INNER(be)->check_finite(INNER(be), x, what, err));
}

/* Both sides must lie in device buffers over the whole range their strides span. */
static int emu_copy_strided(vgen_backend *be, const void *src, const int64_t *src_strides, void *dst,
                            const int64_t *dst_strides, const int64_t *shape, int n_dims, size_t elem_size,
                            vgen_err *err) {
    int64_t n;
    size_t sb, db;
    int rc = vgen_ops_check_copy_strided("device emulator: copy_strided", src, src_strides, dst, dst_strides, shape,
                                         n_dims, elem_size, &n, &sb, &db, err);
    if (!rc && n == 0) return emu_check(be, "copy_strided", err);
    if (!rc) rc = emu_touch(be, src, sb, "copy_strided src", err);
    if (!rc) rc = emu_touch(be, dst, db, "copy_strided dst", err);
    EMU_RUN(be, rc,
            INNER(be)->copy_strided(INNER(be), src, src_strides, dst, dst_strides, shape, n_dims, elem_size, err));
}

void emu_install_ops(vgen_backend *be) {
    const vgen_backend *in = INNER(be);
    /* An op the inner backend lacks stays NULL (backend.h: the backend lacks it). */
    be->linear = in->linear ? emu_linear : NULL;
    be->layer_norm = in->layer_norm ? emu_layer_norm : NULL;
    be->rms_norm = in->rms_norm ? emu_rms_norm : NULL;
    be->channel_rms_norm = in->channel_rms_norm ? emu_channel_rms_norm : NULL;
    be->rope = in->rope ? emu_rope : NULL;
    be->attention = in->attention ? emu_attention : NULL;
    be->unary = in->unary ? emu_unary : NULL;
    be->binary = in->binary ? emu_binary : NULL;
    be->gated_add = in->gated_add ? emu_gated_add : NULL;
    be->conv3d = in->conv3d ? emu_conv3d : NULL;
    be->convert = in->convert ? emu_convert : NULL;
    be->check_finite = in->check_finite ? emu_check_finite : NULL;
    be->copy_strided = in->copy_strided ? emu_copy_strided : NULL;
}

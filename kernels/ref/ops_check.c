/* ops_check.c - validation of op calls, shared by every backend (ops_ref.h). Each check takes the device of the
 * calling backend (dev) and rejects tensors that live elsewhere; it reads descriptors only, never data. */
#include <stdio.h>

#include "ref/ops_ref.h"

#define SHAPE_BUF 96

static const char *shape_of(const vgen_tensor *t, char *buf) {
    return vgen_shape_str(t->shape, t->n_dims, buf, SHAPE_BUF);
}

static int is_act(vgen_dtype dt) { return dt == VGEN_DTYPE_F32 || dt == VGEN_DTYPE_BF16; }

static const char *device_memory(vgen_device dev) {
    return dev == VGEN_DEVICE_CPU ? "host memory" : dev == VGEN_DEVICE_CUDA ? "CUDA device memory" : "?";
}

/* t lives on dev (VGEN_ERR_INVALID_ARGUMENT naming the memory the op needs otherwise). */
static int check_device(const char *who, const char *name, const vgen_tensor *t, vgen_device dev, vgen_err *err) {
    if (t->device == dev) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: %s is not in %s", who, name, device_memory(dev));
}

/* A tensor the op can read or write: non-NULL, rank 1..5, on dev, data present unless empty, dtype allowed. */
static int check_tensor(const char *who, vgen_device dev, const char *name, const vgen_tensor *t, int allow_f16,
                        vgen_err *err) {
    if (!t) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", who, name);
    char b[SHAPE_BUF];
    if (t->n_dims < 1 || t->n_dims > VGEN_TENSOR_MAX_DIMS)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: %s has rank %d", who, name, t->n_dims);
    for (int i = 0; i < t->n_dims; i++)
        if (t->shape[i] < 0)
            return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: %s has a negative dim %s", who, name, shape_of(t, b));
    if (!is_act(t->dtype) && !(allow_f16 && t->dtype == VGEN_DTYPE_F16))
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: %s %s is %s, expected f32 or bf16%s", who, name, shape_of(t, b),
                            vgen_dtype_name(t->dtype), allow_f16 ? " or f16" : "");
    int rc = check_device(who, name, t, dev, err);
    if (rc) return rc;
    if (!t->data && vgen_tensor_numel(t) > 0)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: %s %s has no data", who, name, shape_of(t, b));
    return VGEN_OK;
}

static int same_shape(const vgen_tensor *a, const vgen_tensor *b) {
    if (a->n_dims != b->n_dims) return 0;
    for (int i = 0; i < a->n_dims; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

static int overlaps(const vgen_tensor *a, const vgen_tensor *b) {
    const char *pa = a->data, *pb = b->data;
    size_t na = vgen_tensor_bytes(a), nb = vgen_tensor_bytes(b);
    if (!pa || !pb || !na || !nb) return 0;
    return pa < pb + nb && pb < pa + na;
}

/* y is the same buffer as x with the same dtype (in place), or does not overlap it. */
static int check_alias(const char *who, const char *xn, const vgen_tensor *x, const char *yn, const vgen_tensor *y,
                       vgen_err *err) {
    if (!overlaps(x, y)) return VGEN_OK;
    if (x->data == y->data && x->dtype == y->dtype && same_shape(x, y)) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: %s overlaps %s without being the same %s tensor", who,
                        yn, xn, vgen_dtype_name(x->dtype));
}

static int shape_mismatch(const char *who, const char *an, const vgen_tensor *a, const char *bn,
                          const vgen_tensor *b, vgen_err *err) {
    char s1[SHAPE_BUF], s2[SHAPE_BUF];
    return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: %s %s and %s %s differ in shape", who, an, shape_of(a, s1), bn,
                        shape_of(b, s2));
}

int vgen_ops_check_rows(const char *who, vgen_device dev, const vgen_tensor *x, const vgen_tensor *y, int64_t *m,
                        int64_t *d, vgen_err *err) {
    int rc = check_tensor(who, dev, "x", x, 0, err);
    if (!rc) rc = check_tensor(who, dev, "y", y, 0, err);
    if (rc) return rc;
    if (!same_shape(x, y)) return shape_mismatch(who, "x", x, "y", y, err);
    rc = check_alias(who, "x", x, "y", y, err);
    if (rc) return rc;
    *d = x->shape[x->n_dims - 1];
    *m = *d ? vgen_tensor_numel(x) / *d : 0;
    return VGEN_OK;
}

int vgen_ops_check_param(const char *who, const char *name, const float *p, vgen_err *err) {
    if (!p) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", who, name);
    return VGEN_OK;
}

int vgen_ops_check_channels(const char *who, vgen_device dev, const vgen_tensor *x, const float *gamma,
                            const vgen_tensor *y, int64_t *c, int64_t *s, vgen_err *err) {
    int64_t m = 0, d = 0;
    int rc = vgen_ops_check_rows(who, dev, x, y, &m, &d, err);
    if (!rc) rc = vgen_ops_check_param(who, "gamma", gamma, err);
    if (rc) return rc;
    *c = x->shape[0];
    *s = *c ? vgen_tensor_numel(x) / *c : 0;
    return VGEN_OK;
}

int vgen_ops_check_rope(const char *who, vgen_device dev, const vgen_tensor *x, const float *cos_t,
                        const float *sin_t, vgen_err *err) {
    int rc = check_tensor(who, dev, "x", x, 0, err);
    if (rc) return rc;
    char b[SHAPE_BUF];
    if (x->n_dims != 3 || x->shape[2] % 2 != 0)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: x %s must be [L, H, Dh] with Dh even", who, shape_of(x, b));
    rc = vgen_ops_check_param(who, "cos_t", cos_t, err);
    if (!rc) rc = vgen_ops_check_param(who, "sin_t", sin_t, err);
    return rc;
}

static int check_lhd(const char *who, vgen_device dev, const char *name, const vgen_tensor *t, vgen_err *err) {
    int rc = check_tensor(who, dev, name, t, 0, err);
    if (rc) return rc;
    char b[SHAPE_BUF];
    if (t->n_dims != 3) return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: %s %s must be [L, H, Dh]", who, name,
                                            shape_of(t, b));
    return VGEN_OK;
}

static int check_attn_bias(const char *who, vgen_device dev, const vgen_tensor *bias, const vgen_attn_dims *d,
                           vgen_err *err) {
    if (!bias) return VGEN_OK;
    if (!bias->data && d->h * d->lq * d->lk > 0)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: bias has no data", who);
    int rc = check_device(who, "bias", bias, dev, err);
    if (rc) return rc;
    char b[SHAPE_BUF];
    if (bias->dtype != VGEN_DTYPE_F32 || bias->n_dims != 3 || bias->shape[0] != d->h || bias->shape[1] != d->lq ||
        bias->shape[2] != d->lk)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: bias %s %s must be f32 [H, Lq, Lk] = [%lld, %lld, %lld]", who,
                            vgen_shape_str(bias->shape, bias->n_dims > 0 && bias->n_dims <= VGEN_TENSOR_MAX_DIMS
                                           ? bias->n_dims : 0, b, sizeof b),
                            vgen_dtype_name(bias->dtype), (long long)d->h, (long long)d->lq, (long long)d->lk);
    return VGEN_OK;
}

static int attn_overlap(const char *who, const vgen_tensor *out, const char *name, const vgen_tensor *t,
                        vgen_err *err) {
    if (!overlaps(out, t)) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: out overlaps %s", who, name);
}

int vgen_ops_check_attention(const char *who, vgen_device dev, const vgen_tensor *q, const vgen_tensor *k,
                             const vgen_tensor *v, const vgen_tensor *bias, const vgen_tensor *out,
                             vgen_attn_dims *dims, vgen_err *err) {
    int rc = check_lhd(who, dev, "q", q, err);
    if (!rc) rc = check_lhd(who, dev, "k", k, err);
    if (!rc) rc = check_lhd(who, dev, "v", v, err);
    if (!rc) rc = check_lhd(who, dev, "out", out, err);
    if (rc) return rc;
    if (!same_shape(k, v)) return shape_mismatch(who, "k", k, "v", v, err);
    if (!same_shape(q, out)) return shape_mismatch(who, "q", q, "out", out, err);
    if (q->shape[1] != k->shape[1] || q->shape[2] != k->shape[2]) {
        char s1[SHAPE_BUF], s2[SHAPE_BUF];
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: q %s and k %s differ in heads or head dim", who,
                            shape_of(q, s1), shape_of(k, s2));
    }
    *dims = (vgen_attn_dims){q->shape[0], k->shape[0], q->shape[1], q->shape[2]};
    rc = check_attn_bias(who, dev, bias, dims, err);
    if (!rc) rc = attn_overlap(who, out, "q", q, err);
    if (!rc) rc = attn_overlap(who, out, "k", k, err);
    if (!rc) rc = attn_overlap(who, out, "v", v, err);
    return rc;
}

int vgen_ops_check_unary(const char *who, vgen_device dev, vgen_unary_op op, const vgen_tensor *x,
                         const vgen_tensor *y, int64_t *n, vgen_err *err) {
    if ((int)op < 0 || op >= VGEN_UNARY_COUNT)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: unknown unary op %d", who, (int)op);
    int64_t m = 0, d = 0;
    int rc = vgen_ops_check_rows(who, dev, x, y, &m, &d, err);
    if (!rc) *n = m * d;
    return rc;
}

static int check_binary_b(const char *who, vgen_device dev, const vgen_tensor *a, const vgen_tensor *b,
                          const vgen_tensor *y, int *b_rows, vgen_err *err) {
    int rc = check_tensor(who, dev, "b", b, 0, err);
    if (rc) return rc;
    int64_t d = a->shape[a->n_dims - 1];
    if (same_shape(a, b)) *b_rows = 1;
    else if (b->n_dims == 1 && b->shape[0] == d) *b_rows = 0;
    else {
        char s1[SHAPE_BUF], s2[SHAPE_BUF];
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: b %s is neither a's shape %s nor [%lld]", who, shape_of(b, s1),
                            shape_of(a, s2), (long long)d);
    }
    if (*b_rows) return check_alias(who, "b", b, "y", y, err);
    if (overlaps(b, y)) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: y overlaps the broadcast b", who);
    return VGEN_OK;
}

int vgen_ops_check_binary(const char *who, vgen_device dev, vgen_binary_op op, const vgen_tensor *a,
                          const vgen_tensor *b, const vgen_tensor *y, int64_t *m, int64_t *d, int *b_rows,
                          vgen_err *err) {
    if ((int)op < 0 || op >= VGEN_BINARY_COUNT)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: unknown binary op %d", who, (int)op);
    int rc = vgen_ops_check_rows(who, dev, a, y, m, d, err);
    if (!rc) rc = check_binary_b(who, dev, a, b, y, b_rows, err);
    return rc;
}

int vgen_ops_check_gated_add(const char *who, vgen_device dev, const vgen_tensor *x, const vgen_tensor *y,
                             int64_t *m, int64_t *d, vgen_err *err) {
    int rc = check_tensor(who, dev, "x", x, 0, err);
    if (!rc) rc = check_tensor(who, dev, "y", y, 0, err);
    if (rc) return rc;
    if (!same_shape(x, y)) return shape_mismatch(who, "x", x, "y", y, err);
    if (overlaps(x, y)) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: y overlaps x", who);
    *d = x->shape[x->n_dims - 1];
    *m = *d ? vgen_tensor_numel(x) / *d : 0;
    return VGEN_OK;
}

int vgen_ops_check_convert(const char *who, vgen_device dev, const vgen_tensor *x, const vgen_tensor *y, int64_t *n,
                           vgen_err *err) {
    int rc = check_tensor(who, dev, "x", x, 1, err);
    if (!rc) rc = check_tensor(who, dev, "y", y, 1, err);
    if (rc) return rc;
    if (vgen_tensor_numel(x) != vgen_tensor_numel(y)) {
        char s1[SHAPE_BUF], s2[SHAPE_BUF];
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: x %s and y %s differ in element count", who, shape_of(x, s1),
                            shape_of(y, s2));
    }
    if (overlaps(x, y) && x->data != y->data)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: y partially overlaps x", who);
    *n = vgen_tensor_numel(x);
    return VGEN_OK;
}

int vgen_ops_check_finite(const char *who, vgen_device dev, const vgen_tensor *x, const char *what, int64_t *n,
                          vgen_err *err) {
    if (!x || (!x->data && vgen_tensor_numel(x) > 0))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: no tensor", who);
    if (x->dtype != VGEN_DTYPE_F32 && x->dtype != VGEN_DTYPE_BF16 && x->dtype != VGEN_DTYPE_F16)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: %s is not f32, bf16 or f16", who, what ? what : "tensor");
    int rc = check_device(who, what ? what : "tensor", x, dev, err);
    if (!rc) *n = vgen_tensor_numel(x);
    return rc;
}

/* ---- conv3d ---- */

static int conv_axis(int64_t in, int64_t k, const int pad[2], int stride, int64_t *out) {
    if (pad[0] < 0 || pad[1] < 0 || stride < 1) return 0;
    int64_t span = in + pad[0] + pad[1] - k;
    if (span < 0) return 0;
    *out = span / stride + 1;
    return 1;
}

static int conv_geometry(const char *who, const vgen_tensor *x, const vgen_tensor *w, const vgen_conv3d_params *p,
                         vgen_conv3d_dims *g, vgen_err *err) {
    char s1[SHAPE_BUF], s2[SHAPE_BUF];
    if (x->n_dims != 4 || w->n_dims != 5 || w->shape[1] != x->shape[0])
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: x %s must be [Cin, F, H, W] and w %s [Cout, Cin, kt, kh, kw]",
                            who, shape_of(x, s1), shape_of(w, s2));
    *g = (vgen_conv3d_dims){.cin = x->shape[0], .f = x->shape[1], .h = x->shape[2], .w = x->shape[3],
                            .cout = w->shape[0], .kt = w->shape[2], .kh = w->shape[3], .kw = w->shape[4],
                            .pt = p->pad_t[0], .ph = p->pad_h[0], .pw = p->pad_w[0],
                            .st = p->stride_t, .sh = p->stride_h, .sw = p->stride_w};
    if (!conv_axis(g->f, g->kt, p->pad_t, p->stride_t, &g->fo) || !conv_axis(g->h, g->kh, p->pad_h, p->stride_h, &g->ho) ||
        !conv_axis(g->w, g->kw, p->pad_w, p->stride_w, &g->wo))
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: x %s, w %s, pads t %d/%d h %d/%d w %d/%d, strides %d/%d/%d: "
                            "pads must be >= 0, strides >= 1, padded input >= kernel", who, shape_of(x, s1),
                            shape_of(w, s2), p->pad_t[0], p->pad_t[1], p->pad_h[0], p->pad_h[1], p->pad_w[0],
                            p->pad_w[1], p->stride_t, p->stride_h, p->stride_w);
    return VGEN_OK;
}

int vgen_ops_check_conv3d(const char *who, vgen_device dev, const vgen_tensor *x, const vgen_tensor *w,
                          const vgen_conv3d_params *p, const vgen_tensor *y, vgen_conv3d_dims *dims, vgen_err *err) {
    int rc = check_tensor(who, dev, "x", x, 0, err);
    if (!rc) rc = check_tensor(who, dev, "w", w, 0, err);
    if (!rc) rc = check_tensor(who, dev, "y", y, 0, err);
    if (rc) return rc;
    if (!p) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: params are NULL", who);
    rc = conv_geometry(who, x, w, p, dims, err);
    if (rc) return rc;
    const int64_t want[4] = {dims->cout, dims->fo, dims->ho, dims->wo};
    char s1[SHAPE_BUF], s2[SHAPE_BUF];
    if (y->n_dims != 4 || y->shape[0] != want[0] || y->shape[1] != want[1] || y->shape[2] != want[2] ||
        y->shape[3] != want[3])
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: y is %s, expected %s", who, shape_of(y, s1),
                            vgen_shape_str(want, 4, s2, sizeof s2));
    if (overlaps(y, x) || overlaps(y, w))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: y overlaps x or w", who);
    return VGEN_OK;
}

/* ---- copy_strided ---- */

/* bytes spanned from the pointer: (sum_k (shape_k - 1) stride_k + 1) elements; 0 on overflow (*ok cleared). */
static size_t span_bytes(const int64_t *strides, const int64_t *shape, int n_dims, size_t elem_size, int *ok) {
    uint64_t last = 0;
    for (int k = 0; k < n_dims; k++) {
        const uint64_t step = (uint64_t)(shape[k] - 1), st = (uint64_t)strides[k];
        if (st && step > (UINT64_MAX / 2 - last) / st) *ok = 0;
        else last += step * st;
    }
    if (!*ok || last + 1 > SIZE_MAX / elem_size) {
        *ok = 0;
        return 0;
    }
    return (size_t)(last + 1) * elem_size;
}

int vgen_ops_check_copy_strided(const char *who, const void *src, const int64_t *src_strides, const void *dst,
                                const int64_t *dst_strides, const int64_t *shape, int n_dims, size_t elem_size,
                                int64_t *n, size_t *src_bytes, size_t *dst_bytes, vgen_err *err) {
    *n = 0, *src_bytes = 0, *dst_bytes = 0;
    if (!shape || !src_strides || !dst_strides)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: shape or strides are NULL", who);
    if (n_dims < 1 || n_dims > VGEN_COPY_MAX_DIMS)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: rank %d (1 to %d)", who, n_dims, VGEN_COPY_MAX_DIMS);
    if (elem_size != 1 && elem_size != 2 && elem_size != 4 && elem_size != 8)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: element size %zu (1, 2, 4 or 8)", who, elem_size);
    char b1[SHAPE_BUF], b2[SHAPE_BUF], b3[SHAPE_BUF];
    vgen_shape_str(shape, n_dims, b1, SHAPE_BUF), vgen_shape_str(src_strides, n_dims, b2, SHAPE_BUF);
    vgen_shape_str(dst_strides, n_dims, b3, SHAPE_BUF);
    int64_t count = 1;
    for (int k = 0; k < n_dims; k++) {
        if (shape[k] < 0 || src_strides[k] < 0 || dst_strides[k] < 0)
            return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: shape %s with src strides %s, dst strides %s: negative "
                                "size or stride", who, b1, b2, b3);
        if (shape[k] && count > INT64_MAX / shape[k])
            return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: shape %s has too many elements", who, b1);
        count *= shape[k];
    }
    if (count == 0) return VGEN_OK;
    if (!src || !dst) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: src or dst is NULL", who);
    int ok = 1;
    const size_t sb = span_bytes(src_strides, shape, n_dims, elem_size, &ok);
    const size_t db = span_bytes(dst_strides, shape, n_dims, elem_size, &ok);
    if (!ok)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: shape %s with src strides %s, dst strides %s addresses more "
                            "than memory holds", who, b1, b2, b3);
    const char *ps = src, *pd = dst;
    if (ps < pd + db && pd < ps + sb)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: src and dst overlap (shape %s, src strides %s, dst "
                            "strides %s)", who, b1, b2, b3);
    *n = count, *src_bytes = sb, *dst_bytes = db;
    return VGEN_OK;
}

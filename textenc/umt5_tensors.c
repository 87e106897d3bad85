/* umt5_tensors.c - reading one tensor of the encoder: matrices (linear weights, the embedding table) as vgen_qmatrix
 * views (plain, vgen-quantized, fp8 with an optional ComfyUI scale_weight) or quantized-on-load copies; norm weights
 * and relative-position tables as f32 copies owned by the model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mmap_evict.h"
#include "numeric.h"
#include "qfile.h"
#include "umt5_internal.h"

static int shape_error(const char *name, const int64_t *got, int got_rank, const int64_t *want, int rank,
                       vgen_err *err) {
    char g[96], w[96];
    return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor %s has shape %s, expected %s", name,
                        vgen_shape_str(got, got_rank, g, sizeof g), vgen_shape_str(want, rank, w, sizeof w));
}

static const vgen_st_tensor *find_expected(const vgen_st_set *set, const char *name, const int64_t *shape, int rank,
                                           vgen_err *err) {
    const vgen_st_tensor *t = vgen_st_find(set, name);
    if (!t) {
        char w[96];
        vgen_err_set(err, VGEN_ERR_NOT_FOUND, "tensor %s is missing (expected shape %s)", name,
                     vgen_shape_str(shape, rank, w, sizeof w));
    }
    return t;
}

static int same_shape(const vgen_st_tensor *t, const int64_t *shape, int rank) {
    if (t->n_dims != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (t->shape[i] != shape[i]) return 0;
    return 1;
}

/* "<layer>.weight" -> "<layer>.scale_weight" (ComfyUI scaled fp8). */
static int scale_name(const char *name, char *buf, size_t size) {
    static const char suffix[] = ".weight";
    size_t n = strlen(name), sn = sizeof suffix - 1;
    if (n < sn || strcmp(name + n - sn, suffix) != 0 || n - sn + sizeof ".scale_weight" > size) return 0;
    memcpy(buf, name, n - sn);
    memcpy(buf + n - sn, ".scale_weight", sizeof ".scale_weight");
    return 1;
}

/* fp8 e4m3 weights outside vgen's own files: per-tensor scale from "<layer>.scale_weight" (0-d or [1] F32), else 1. */
static int fp8_view(const vgen_st_set *set, const vgen_st_tensor *t, vgen_qmatrix *w, float *scale1, vgen_err *err) {
    char sname[VGEN_QFILE_NAME_MAX];
    const vgen_st_tensor *st = scale_name(t->name, sname, sizeof sname) ? vgen_st_find(set, sname) : NULL;
    *scale1 = 1.0f;
    if (st) {
        if (st->dtype != VGEN_ST_F32 || st->n_bytes != 4 || st->n_dims > 1)
            return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor %s is %s of %llu bytes, expected a 0-d F32 scale", sname,
                                vgen_st_dtype_name(st->dtype), (unsigned long long)st->n_bytes);
        memcpy(scale1, st->data, 4);
        if (!isfinite(*scale1) || *scale1 <= 0)
            return vgen_err_set(err, VGEN_ERR_NUMERIC, "tensor %s is %g, expected a positive finite scale", sname,
                                (double)*scale1);
    }
    *w = (vgen_qmatrix){.format = VGEN_WF_FP8_E4M3_TENSOR, .rows = t->shape[0], .cols = t->shape[1], .data = t->data};
    return VGEN_OK;
}

/* Any stored matrix as a view; for raw fp8 the scale goes to *scale1 (w->scales is left NULL). */
static int matrix_view(const vgen_st_set *set, const vgen_st_tensor *t, vgen_qmatrix *w, float *scale1,
                       vgen_err *err) {
    if (vgen_qfile_tensor_format(set, t->name)) return vgen_qfile_matrix(set, t->name, w, err);
    if (t->n_dims != 2 || t->shape[0] <= 0 || t->shape[1] <= 0) {
        char g[96];
        return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor %s has shape %s, expected a 2-D matrix", t->name,
                            vgen_shape_str(t->shape, t->n_dims, g, sizeof g));
    }
    if (t->dtype == VGEN_ST_F8_E4M3) return fp8_view(set, t, w, scale1, err);
    return vgen_qfile_matrix(set, t->name, w, err);
}

int umt5_matrix_dims(const vgen_st_set *set, const char *name, int64_t *n, int64_t *k, vgen_err *err) {
    const vgen_st_tensor *t = vgen_st_find(set, name);
    if (!t) return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "tensor %s is missing", name);
    vgen_qmatrix w;
    float s;
    int rc = matrix_view(set, t, &w, &s, err);
    if (rc) return rc;
    *n = w.rows;
    *k = w.cols;
    return VGEN_OK;
}

static size_t elem_align(vgen_wformat f) {
    return f == VGEN_WF_F32 ? 4 : (f == VGEN_WF_F16 || f == VGEN_WF_BF16) ? 2 : 1;
}

/* An aligned copy of a plain matrix whose data is not aligned to its element size in the file. */
static int aligned_copy(umt5_matrix *m, size_t bytes, const char *name, vgen_err *err) {
    void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!p) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for %s", bytes, name);
    memcpy(p, m->w.data, bytes);
    m->own = p;
    m->own_bytes = bytes;
    m->w.data = p;
    return VGEN_OK;
}

int umt5_load_matrix(umt5_load_ctx *lc, const char *name, int64_t rows, int64_t cols, int quantize, vgen_wformat fmt,
                     umt5_matrix *m, vgen_err *err) {
    const int64_t shape[2] = {rows, cols};
    const vgen_st_tensor *t = find_expected(lc->set, name, shape, 2, err);
    if (!t) return VGEN_ERR_NOT_FOUND;
    if (!vgen_qfile_tensor_format(lc->set, name) && !same_shape(t, shape, 2))
        return shape_error(name, t->shape, t->n_dims, shape, 2, err);
    int rc = matrix_view(lc->set, t, &m->w, &m->scale1, err);
    if (rc) return rc;
    if (m->w.format == VGEN_WF_FP8_E4M3_TENSOR && !m->w.scales) m->w.scales = &m->scale1;
    const int64_t got[2] = {m->w.rows, m->w.cols};
    if (got[0] != rows || got[1] != cols) return shape_error(name, got, 2, shape, 2, err);
    size_t bytes = 0;
    vgen_wformat_data_bytes(m->w.format, rows, cols, &bytes);
    if (quantize && m->w.format != fmt) {
        vgen_qmatrix src = m->w;
        rc = umt5_quantize_matrix(&src, fmt, lc->pool, name, m, err);
        vgen_mmap_evict(t->data, t->n_bytes);
        if (!rc) lc->owned_bytes += m->own_bytes;
        return rc;
    }
    if ((uintptr_t)m->w.data % elem_align(m->w.format)) {
        rc = aligned_copy(m, bytes, name, err);
        vgen_mmap_evict(t->data, t->n_bytes);
        if (!rc) lc->owned_bytes += bytes;
        return rc;
    }
    lc->mapped_bytes += bytes;
    return VGEN_OK;
}

/* out[n] = t's n values as f32 (F32, F16, BF16; unaligned data is fine). */
static int to_f32(const vgen_st_tensor *t, float *out, size_t n, vgen_err *err) {
    const unsigned char *p = t->data;
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        switch (t->dtype) {
        case VGEN_ST_F32: memcpy(&out[i], p + 4 * i, 4); break;
        case VGEN_ST_BF16: memcpy(&h, p + 2 * i, 2); out[i] = vgen_bf16_to_f32(h); break;
        case VGEN_ST_F16: memcpy(&h, p + 2 * i, 2); out[i] = vgen_f16_to_f32(h); break;
        default:
            return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor %s has dtype %s, expected F32, F16 or BF16", t->name,
                                vgen_st_dtype_name(t->dtype));
        }
    }
    return VGEN_OK;
}

int umt5_load_vector(umt5_load_ctx *lc, const char *name, int64_t rows, int64_t cols, float **out, vgen_err *err) {
    const int64_t shape[2] = {rows, cols};
    const int rank = cols > 0 ? 2 : 1;
    const vgen_st_tensor *t = find_expected(lc->set, name, shape, rank, err);
    if (!t) return VGEN_ERR_NOT_FOUND;
    if (!same_shape(t, shape, rank)) return shape_error(name, t->shape, t->n_dims, shape, rank, err);
    const size_t n = (size_t)rows * (size_t)(cols > 0 ? cols : 1);
    float *v = malloc(n * sizeof *v);
    if (!v) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu floats for %s", n, name);
    int rc = to_f32(t, v, n, err);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!isfinite(v[i]))
            rc = vgen_err_set(err, VGEN_ERR_NUMERIC, "tensor %s holds NaN or Inf at element %zu", name, i);
        else if (lc->compute == VGEN_DTYPE_BF16)
            v[i] = vgen_bf16_to_f32(vgen_f32_to_bf16(v[i]));
    }
    if (rc) {
        free(v);
        return rc;
    }
    vgen_mmap_evict(t->data, t->n_bytes);
    lc->owned_bytes += n * sizeof *v;
    *out = v;
    return VGEN_OK;
}

void umt5_matrix_release(umt5_matrix *m) {
    free(m->own);
    m->own = NULL;
    m->own_bytes = 0;
}

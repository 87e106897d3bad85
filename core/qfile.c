/* qfile.c - the storage convention of quantized weight matrices in safetensors files (see qfile.h). */
#include "qfile.h"
#include "tensor.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vgen_qfile_meta_key(const char *what, const char *name, char *buf, size_t size) {
    int n = snprintf(buf, size, "vgen.%s.%s", what, name);
    return (n < 0 || (size_t)n >= size) ? VGEN_ERR_INVALID_ARGUMENT : VGEN_OK;
}

const char *vgen_qfile_tensor_format(const vgen_st_set *set, const char *name) {
    char key[VGEN_QFILE_NAME_MAX + 16];
    if (vgen_qfile_meta_key("format", name, key, sizeof key)) return NULL;
    return vgen_st_metadata_get(set, key);
}

static int suffixed(const char *name, const char *suffix, char *buf, vgen_err *err) {
    int n = snprintf(buf, VGEN_QFILE_NAME_MAX, "%s%s", name, suffix);
    if (n < 0 || n >= VGEN_QFILE_NAME_MAX)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tensor name too long: %.64s...", name);
    return VGEN_OK;
}

static vgen_st_dtype storage_dtype(const vgen_wformat_traits *tr) {
    vgen_st_dtype d = VGEN_ST_U8;
    vgen_st_dtype_from_name(tr->storage_dtype, &d);
    return d;
}

/* Fills decls for data, scale and zero tensors of one matrix. */
int vgen_qfile_declare(vgen_wformat f, const char *name, int64_t n, int64_t k, vgen_st_decl decls[3],
                       char name_buf[2][VGEN_QFILE_NAME_MAX], size_t *n_decls, vgen_err *err) {
    const vgen_wformat_traits *tr = vgen_wformat_get(f);
    if (!tr) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: unknown weight format %d", name, (int)f);
    size_t row_bytes, n_scales, n_zeros;
    int rc = vgen_wformat_row_bytes(f, k, &row_bytes);
    if (!rc) rc = vgen_wformat_scale_count(f, n, k, &n_scales);
    if (!rc) rc = vgen_wformat_zero_count(f, n, k, &n_zeros);
    if (rc) return vgen_err_set(err, rc, "%s: cannot quantize a [%" PRId64 ", %" PRId64 "] matrix as %s", name, n, k,
                                tr->name);
    size_t elem = vgen_st_dtype_size(storage_dtype(tr));
    decls[0] = (vgen_st_decl){.name = name, .dtype = storage_dtype(tr), .n_dims = 2, .shape = {n, (int64_t)(row_bytes / elem)}};
    *n_decls = 1;
    if (tr->scale_kind == VGEN_SCALE_NONE) return VGEN_OK;
    if ((rc = suffixed(name, "_scale", name_buf[0], err))) return rc;
    vgen_st_decl *s = &decls[(*n_decls)++];
    *s = (vgen_st_decl){.name = name_buf[0], .dtype = VGEN_ST_F32};
    if (tr->scale_kind == VGEN_SCALE_GROUP) {
        s->n_dims = 2;
        s->shape[0] = n;
        s->shape[1] = (int64_t)(n_scales / (size_t)n);
    } else {
        s->n_dims = 1;
        s->shape[0] = (int64_t)n_scales;
    }
    if (!tr->has_zero) return VGEN_OK;
    if ((rc = suffixed(name, "_zero", name_buf[1], err))) return rc;
    decls[(*n_decls)++] = (vgen_st_decl){.name = name_buf[1], .dtype = VGEN_ST_U8, .n_dims = 2,
                                         .shape = {n, (int64_t)(n_zeros / (size_t)n)}};
    return VGEN_OK;
}

/* Checks that tensor t has exactly the declared dtype and shape. */
static int check_decl(const vgen_st_tensor *t, const vgen_st_decl *d, vgen_err *err) {
    int same = t->dtype == d->dtype && t->n_dims == d->n_dims;
    for (int i = 0; same && i < d->n_dims; i++) same = t->shape[i] == d->shape[i];
    if (same) return VGEN_OK;
    char got[96], want[96];
    return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor %s is %s %s, expected %s %s", t->name,
                        vgen_st_dtype_name(t->dtype), vgen_shape_str(t->shape, t->n_dims, got, sizeof got),
                        vgen_st_dtype_name(d->dtype), vgen_shape_str(d->shape, d->n_dims, want, sizeof want));
}

static int plain_matrix(const vgen_st_tensor *t, vgen_qmatrix *out, vgen_err *err) {
    vgen_wformat f;
    switch (t->dtype) {
    case VGEN_ST_F32: f = VGEN_WF_F32; break;
    case VGEN_ST_F16: f = VGEN_WF_F16; break;
    case VGEN_ST_BF16: f = VGEN_WF_BF16; break;
    default:
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "tensor %s has dtype %s, not a weight format vgen reads",
                            t->name, vgen_st_dtype_name(t->dtype));
    }
    if (t->n_dims != 2 || t->shape[0] <= 0 || t->shape[1] <= 0) {
        char s[96];
        return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor %s has shape %s, expected a 2-D matrix", t->name,
                            vgen_shape_str(t->shape, t->n_dims, s, sizeof s));
    }
    *out = (vgen_qmatrix){.format = f, .rows = t->shape[0], .cols = t->shape[1], .data = t->data};
    return VGEN_OK;
}

static int parse_shape_meta(const vgen_st_set *set, const char *name, int64_t *n, int64_t *k, vgen_err *err) {
    char key[VGEN_QFILE_NAME_MAX + 16];
    const char *v = NULL;
    if (!vgen_qfile_meta_key("shape", name, key, sizeof key)) v = vgen_st_metadata_get(set, key);
    long long a, b;
    char tail;
    if (!v || sscanf(v, "%lld,%lld%c", &a, &b, &tail) != 2 || a <= 0 || b <= 0)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "tensor %s: metadata %s is missing or not \"N,K\"", name, key);
    *n = a;
    *k = b;
    return VGEN_OK;
}

static int find_checked(const vgen_st_set *set, const vgen_st_decl *d, const vgen_st_tensor **t, vgen_err *err) {
    *t = vgen_st_find(set, d->name);
    if (!*t) return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "tensor %s is missing", d->name);
    return check_decl(*t, d, err);
}

int vgen_qfile_matrix(const vgen_st_set *set, const char *name, vgen_qmatrix *out, vgen_err *err) {
    const vgen_st_tensor *t = vgen_st_find(set, name);
    if (!t) return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "tensor %s is missing", name);
    const char *fname = vgen_qfile_tensor_format(set, name);
    if (!fname) return plain_matrix(t, out, err);

    vgen_wformat f;
    if (vgen_wformat_from_name(fname, &f))
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "tensor %s: unknown vgen weight format \"%s\"", name, fname);
    int64_t n = 0, k = 0;
    int rc = parse_shape_meta(set, name, &n, &k, err);
    vgen_st_decl decls[3];
    char names[2][VGEN_QFILE_NAME_MAX];
    size_t nd = 0;
    if (!rc) rc = vgen_qfile_declare(f, name, n, k, decls, names, &nd, err);
    const vgen_st_tensor *parts[3] = {0};
    for (size_t i = 0; !rc && i < nd; i++) rc = find_checked(set, &decls[i], &parts[i], err);
    if (rc) return rc;
    *out = (vgen_qmatrix){.format = f, .rows = n, .cols = k, .data = parts[0]->data};
    if (nd > 1) {
        if (((uintptr_t)parts[1]->data & 3u) != 0)
            return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "tensor %s is not 4-byte aligned in the file",
                                parts[1]->name);
        out->scales = parts[1]->data;
    }
    if (nd > 2) out->zeros = parts[2]->data;
    return VGEN_OK;
}

/* tensor.c - tensor descriptors: sizes, views, heap tensors. */
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"

size_t vgen_dtype_size(vgen_dtype t) {
    switch (t) {
    case VGEN_DTYPE_F32: case VGEN_DTYPE_I32: return 4;
    case VGEN_DTYPE_F16: case VGEN_DTYPE_BF16: return 2;
    case VGEN_DTYPE_I64: return 8;
    case VGEN_DTYPE_U8: case VGEN_DTYPE_I8: case VGEN_DTYPE_F8_E4M3: return 1;
    default: return 0;
    }
}

const char *vgen_dtype_name(vgen_dtype t) {
    static const char *const names[VGEN_DTYPE_COUNT] = {"f32", "f16", "bf16", "i32", "i64", "u8", "i8", "f8_e4m3"};
    return (t >= 0 && t < VGEN_DTYPE_COUNT) ? names[t] : "?";
}

int64_t vgen_tensor_numel(const vgen_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) n *= t->shape[i];
    return n;
}

size_t vgen_tensor_bytes(const vgen_tensor *t) {
    return (size_t)vgen_tensor_numel(t) * vgen_dtype_size(t->dtype);
}

static int check_shape(vgen_dtype dtype, int n_dims, const int64_t *shape, size_t *bytes, vgen_err *err) {
    if (vgen_dtype_size(dtype) == 0) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "unknown dtype %d", dtype);
    if (n_dims < 1 || n_dims > VGEN_TENSOR_MAX_DIMS)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor rank %d outside 1..%d", n_dims, VGEN_TENSOR_MAX_DIMS);
    uint64_t numel, nbytes;
    if (!vgen_shape_numel(shape, n_dims, &numel) || !vgen_mul_u64(numel, vgen_dtype_size(dtype), &nbytes) ||
        nbytes > SIZE_MAX) {
        char buf[128];
        return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor shape %s is negative or too large",
                            vgen_shape_str(shape, n_dims, buf, sizeof buf));
    }
    *bytes = (size_t)nbytes;
    return VGEN_OK;
}

int vgen_tensor_view(vgen_tensor *t, vgen_dtype dtype, int n_dims, const int64_t *shape, void *data,
                     vgen_err *err) {
    size_t bytes = 0;
    int rc = check_shape(dtype, n_dims, shape, &bytes, err);
    if (rc) return rc;
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->n_dims = n_dims;
    memcpy(t->shape, shape, (size_t)n_dims * sizeof shape[0]);
    t->device = VGEN_DEVICE_CPU;
    t->owner = VGEN_OWNER_NONE;
    t->data = data;
    return VGEN_OK;
}

int vgen_tensor_alloc(vgen_tensor *t, vgen_dtype dtype, int n_dims, const int64_t *shape, vgen_err *err) {
    size_t bytes = 0;
    int rc = check_shape(dtype, n_dims, shape, &bytes, err);
    if (rc) return rc;
    void *data = calloc(bytes ? bytes : 1, 1);
    if (!data) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for a tensor", bytes);
    vgen_tensor_view(t, dtype, n_dims, shape, data, err);
    t->owner = VGEN_OWNER_HEAP;
    return VGEN_OK;
}

void vgen_tensor_release(vgen_tensor *t) {
    if (!t) return;
    if (t->owner == VGEN_OWNER_HEAP) free(t->data);
    memset(t, 0, sizeof *t);
}

const char *vgen_shape_str(const int64_t *shape, int n_dims, char *buf, size_t buf_size) {
    size_t pos = 0;
    if (buf_size == 0) return buf;
    buf[0] = '\0';
    pos += (size_t)snprintf(buf + pos, buf_size - pos, "[");
    for (int i = 0; i < n_dims && pos < buf_size; i++)
        pos += (size_t)snprintf(buf + pos, buf_size - pos, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (pos < buf_size) snprintf(buf + pos, buf_size - pos, "]");
    return buf;
}

/* ops_copy.c - reference copy_strided (backend.h): every element in index order, one memcpy of elem_size bytes.
 *   dst[sum_k i_k dst_strides[k]] = src[sum_k i_k src_strides[k]]   for every index i < shape */
#include <string.h>

#include "ref/ops_ref.h"

static int ref_copy_strided(vgen_backend *be, const void *src, const int64_t *src_strides, void *dst,
                            const int64_t *dst_strides, const int64_t *shape, int n_dims, size_t elem_size,
                            vgen_err *err) {
    (void)be;
    int64_t n;
    size_t sb, db;
    int rc = vgen_ops_check_copy_strided("ref copy_strided", src, src_strides, dst, dst_strides, shape, n_dims,
                                         elem_size, &n, &sb, &db, err);
    if (rc || n == 0) return rc;
    int64_t idx[VGEN_COPY_MAX_DIMS] = {0};
    const char *s = src;
    char *d = dst;
    for (int64_t e = 0; e < n; e++) {
        int64_t so = 0, dof = 0;
        for (int k = 0; k < n_dims; k++) so += idx[k] * src_strides[k], dof += idx[k] * dst_strides[k];
        memcpy(d + (size_t)dof * elem_size, s + (size_t)so * elem_size, elem_size);
        for (int k = n_dims - 1; k >= 0; k--) { /* odometer: the last dim fastest */
            if (++idx[k] < shape[k]) break;
            idx[k] = 0;
        }
    }
    return VGEN_OK;
}

void vgen_ref_copy_install(vgen_backend *be) { be->copy_strided = ref_copy_strided; }

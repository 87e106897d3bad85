/* device_image.c - device images of weights and host copies of device tensors (device_image.h). */
#include "device_image.h"

#include <stdlib.h>
#include <string.h>

void *vgen_image_piece(vgen_image_walk *w, const void *src, size_t bytes) {
    if (!src || !bytes) return (void *)src;
    w->off = vgen_round64(w->off);
    if (w->image) memcpy(w->image + w->off, src, bytes);
    void *at = w->base ? w->base + w->off : (void *)src;
    w->off += bytes;
    return at;
}

float *vgen_image_floats(vgen_image_walk *w, const float *src, int64_t n) {
    return vgen_image_piece(w, src, n > 0 ? (size_t)n * sizeof(float) : 0);
}

void vgen_image_qmatrix(vgen_image_walk *w, vgen_qmatrix *dst, const vgen_qmatrix *src) {
    size_t data = 0, scales = 0, zeros = 0;
    (void)vgen_wformat_data_bytes(src->format, src->rows, src->cols, &data);
    (void)vgen_wformat_scale_count(src->format, src->rows, src->cols, &scales);
    (void)vgen_wformat_zero_count(src->format, src->rows, src->cols, &zeros);
    *dst = *src;
    dst->data = vgen_image_piece(w, src->data, data);
    dst->scales = vgen_image_piece(w, src->scales, scales * sizeof(float));
    dst->zeros = vgen_image_piece(w, src->zeros, zeros);
}

size_t vgen_image_bytes(const vgen_image_walk *w) { return vgen_round64(w->off); }

size_t vgen_image_qmatrix_bytes(vgen_wformat f, int64_t n, int64_t k) {
    size_t data = 0, scales = 0, zeros = 0;
    if (vgen_wformat_data_bytes(f, n, k, &data) || vgen_wformat_scale_count(f, n, k, &scales) ||
        vgen_wformat_zero_count(f, n, k, &zeros))
        return 0;
    return vgen_round64(data) + vgen_round64(scales * sizeof(float)) + vgen_round64(zeros);
}

int vgen_tensor_download_copy(vgen_backend *be, const vgen_tensor *t, vgen_tensor *host, vgen_err *err) {
    const size_t bytes = vgen_tensor_bytes(t);
    *host = *t;
    host->device = VGEN_DEVICE_CPU;
    host->owner = VGEN_OWNER_NONE;
    host->data = malloc(bytes ? bytes : 1);
    if (!host->data)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of host memory", bytes);
    int rc = be->download(be, host->data, t->data, bytes, err);
    if (rc) {
        free(host->data);
        host->data = NULL;
    }
    return rc;
}

/* device_image.h - weights packed for a device, and host copies of device tensors.
 *
 * A model's weights go to a device as images: every piece (a matrix's data, scales and zero points, a bias, a norm
 * weight, a table) at a 64-byte-aligned offset of one buffer. A component writes one walk over its weight struct
 * with vgen_image_piece / _floats / _qmatrix and runs it three ways: measuring (image and base NULL), packing into
 * a host image (image set), and pointing a copy of the struct at the device buffer (base set). The planners size
 * matrices with vgen_image_qmatrix_bytes, the same rule. */
#ifndef VGEN_CORE_DEVICE_IMAGE_H
#define VGEN_CORE_DEVICE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "wformat.h"

typedef struct vgen_image_walk {
    uint8_t *image;       /* pack each piece here, or NULL */
    uint8_t *base;        /* the device copy: pieces point into it, or NULL (pointers left as they are) */
    size_t off;           /* bytes so far */
} vgen_image_walk;

static inline size_t vgen_round64(size_t n) { return (n + 63) & ~(size_t)63; }

/* The next piece: src (bytes long, NULL or 0 = absent) at the next 64-byte offset; returns where it lives now
 * (base + offset with a base, else src). */
void *vgen_image_piece(vgen_image_walk *w, const void *src, size_t bytes);
float *vgen_image_floats(vgen_image_walk *w, const float *src, int64_t n);
/* dst = src with its data, scales and zero points placed (the shapes were checked when the matrix was loaded). */
void vgen_image_qmatrix(vgen_image_walk *w, vgen_qmatrix *dst, const vgen_qmatrix *src);
/* The image's size so far, rounded to 64 bytes. */
size_t vgen_image_bytes(const vgen_image_walk *w);
/* What vgen_image_qmatrix takes for an [n, k] matrix in format f (0 when f cannot hold the shape). */
size_t vgen_image_qmatrix_bytes(vgen_wformat f, int64_t n, int64_t k);

/* *host = a host copy of the device tensor t (malloc'd data: free(host->data)); VGEN_ERR_OUT_OF_MEMORY or the
 * download's error. For hooks and taps of tests. */
int vgen_tensor_download_copy(vgen_backend *be, const vgen_tensor *t, vgen_tensor *host, vgen_err *err);

#endif

/* tensor.h - the tensor descriptor shared by every layer.
 *
 * Shapes are in PyTorch order: shape[0] is the outermost (slowest) dimension, shape[n_dims-1] the innermost.
 * Tensors are contiguous unless stated otherwise. Dimension legend used in shape comments across the code:
 *   B batch, C channels, F/H/W latent frames/height/width, L tokens, D model dim, K in-features, N out-features.
 */
#ifndef VGEN_CORE_TENSOR_H
#define VGEN_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VGEN_TENSOR_MAX_DIMS 5

/* Element types of activations and plain tensors (quantized weights are described by vgen_wformat). */
typedef enum vgen_dtype {
    VGEN_DTYPE_F32 = 0,
    VGEN_DTYPE_F16 = 1,
    VGEN_DTYPE_BF16 = 2,
    VGEN_DTYPE_I32 = 3,
    VGEN_DTYPE_I64 = 4,
    VGEN_DTYPE_U8 = 5,
    VGEN_DTYPE_I8 = 6,
    VGEN_DTYPE_F8_E4M3 = 7,
    VGEN_DTYPE_COUNT
} vgen_dtype;

typedef enum vgen_device {
    VGEN_DEVICE_CPU = 0,
    VGEN_DEVICE_CUDA = 1
} vgen_device;

/* Who releases the data: nobody (a view, an mmap'ed file region), the heap (free), or an arena. */
typedef enum vgen_owner {
    VGEN_OWNER_NONE = 0,
    VGEN_OWNER_HEAP = 1,
    VGEN_OWNER_ARENA = 2
} vgen_owner;

typedef struct vgen_tensor {
    vgen_dtype dtype;
    int n_dims;
    int64_t shape[VGEN_TENSOR_MAX_DIMS];
    vgen_device device;
    vgen_owner owner;
    void *data;
} vgen_tensor;

size_t vgen_dtype_size(vgen_dtype t);
const char *vgen_dtype_name(vgen_dtype t);

/* Number of elements; 0 for an empty tensor. Shapes are validated on creation, so this cannot overflow. */
int64_t vgen_tensor_numel(const vgen_tensor *t);
size_t vgen_tensor_bytes(const vgen_tensor *t);

/* Fills *t as a view (owner NONE) of data with the given shape, after checking 1 <= n_dims <= 5, dims >= 0 and
 * that the byte size fits in size_t. */
int vgen_tensor_view(vgen_tensor *t, vgen_dtype dtype, int n_dims, const int64_t *shape, void *data,
                     vgen_err *err);

/* Allocates a zeroed CPU tensor on the heap (owner HEAP). */
int vgen_tensor_alloc(vgen_tensor *t, vgen_dtype dtype, int n_dims, const int64_t *shape, vgen_err *err);

/* Releases heap-owned data and resets *t; views and arena tensors are only reset. */
void vgen_tensor_release(vgen_tensor *t);

/* "[2, 16, 5]" into buf. Returns buf. */
const char *vgen_shape_str(const int64_t *shape, int n_dims, char *buf, size_t buf_size);

#endif

/* linear_check.h - argument validation shared by every backend's linear op, so all backends reject the same
 * inputs with the same messages. */
#ifndef VGEN_KERNELS_LINEAR_CHECK_H
#define VGEN_KERNELS_LINEAR_CHECK_H

#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" { /* the CUDA backend (C++) calls the checks */
#endif

/* Checks y[M, N] = x[M, K] W[N, K]^T + bias[N] (backend.h): x and y on the CPU, f32 or bf16, same leading dims,
 * innermost K and N; W a known format with the arrays its format needs. On success stores M (the product of the
 * leading dims, possibly 0) and returns VGEN_OK; otherwise VGEN_ERR_SHAPE (shapes, dtypes, with the shapes in the
 * message), VGEN_ERR_INVALID_ARGUMENT (NULL pointers, unknown format) or VGEN_ERR_UNSUPPORTED (device). */
int vgen_linear_check(const char *backend, const vgen_tensor *x, const vgen_qmatrix *w, const vgen_tensor *y,
                      int64_t *m, vgen_err *err);

/* The same checks for a backend whose tensors live on `device` (the CUDA backend passes VGEN_DEVICE_CUDA): x and y
 * must be on that device; W's arrays are not dereferenced. vgen_linear_check is this with VGEN_DEVICE_CPU. */
int vgen_linear_check_on(const char *backend, vgen_device device, const vgen_tensor *x, const vgen_qmatrix *w,
                         const vgen_tensor *y, int64_t *m, vgen_err *err);

#ifdef __cplusplus
}
#endif
#endif

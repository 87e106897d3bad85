/* cuda_backend.h - the CUDA backend (backend.h) and the device services block streaming needs: pinned host
 * buffers, a second stream for copies, and events. C API over the CUDA runtime; built with -DVGEN_CUDA=ON.
 *
 * Every op pointer of the backend takes device pointers (backend.h, "memory of the backend's device"). Ops are
 * queued on the backend's compute stream; download and synchronize wait for them. upload_async uses a second
 * stream (the copy queue), fences are CUDA events. Device memory is counted in be->mem; pinned host memory
 * (host_alloc) in be->host_mem. */
#ifndef VGEN_KERNELS_CUDA_BACKEND_H
#define VGEN_KERNELS_CUDA_BACKEND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "backend.h"

typedef struct vgen_cuda_options {
    int device;                 /* CUDA device index */
    int fp8_activations;        /* opt-in fast mode (sm_89+): fp8 weights multiply activations quantized to e4m3
                                   per token on the fly; otherwise fp8 weights are dequantized to bf16 */
    size_t workspace_bytes;     /* cuBLASLt workspace (0: 32 MiB) */
} vgen_cuda_options;

void vgen_cuda_options_init(vgen_cuda_options *o);

/* VGEN_ERR_UNSUPPORTED (message: why) when there is no usable device: callers fall back to the CPU and say so. */
int vgen_backend_cuda_new(const vgen_cuda_options *o, vgen_backend **out, vgen_err *err);

/* Compute capability of the backend's device (e.g. 8, 9). */
void vgen_cuda_compute_capability(const vgen_backend *be, int *major, int *minor);

#ifdef __cplusplus
}
#endif
#endif

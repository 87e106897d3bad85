/* cuda_backend.h - the CUDA backend (backend.h) and the device services block streaming needs: pinned host
 * buffers, a second stream for copies, and events. C API over the CUDA runtime; built with -DVGEN_CUDA=ON.
 *
 * Every op pointer of the backend takes device pointers (backend.h, "memory of the backend's device"). Ops are
 * queued on the backend's compute stream; download and synchronize wait for them. Device memory is counted in
 * be->mem; pinned host memory in the backend's own counter (vgen_cuda_pinned_stat). */
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

/* ---- pinned host memory (counted) ---- */
void *vgen_cuda_pinned_alloc(vgen_backend *be, size_t bytes, vgen_err *err);
void vgen_cuda_pinned_free(vgen_backend *be, void *p, size_t bytes);
vgen_memstat vgen_cuda_pinned_stat(const vgen_backend *be);

/* ---- the copy stream and events (block streaming: copy block i+1 while block i computes) ---- */
typedef struct vgen_cuda_event vgen_cuda_event;
int vgen_cuda_event_new(vgen_backend *be, vgen_cuda_event **out, vgen_err *err);
void vgen_cuda_event_free(vgen_cuda_event **ev);
/* Queues a host -> device copy on the copy stream (src must be pinned for the copy to overlap). */
int vgen_cuda_upload_async(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err);
/* Records ev on the copy stream (copy = 1) or the compute stream (copy = 0). */
int vgen_cuda_event_record(vgen_backend *be, vgen_cuda_event *ev, int copy, vgen_err *err);
/* Makes the compute stream (copy = 0) or the copy stream (copy = 1) wait for ev. */
int vgen_cuda_stream_wait(vgen_backend *be, vgen_cuda_event *ev, int copy, vgen_err *err);

#ifdef __cplusplus
}
#endif
#endif

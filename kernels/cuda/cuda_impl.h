/* cuda_impl.h - the CUDA backend's private state (be->impl) and error helpers, for the .cu files only. */
#ifndef VGEN_KERNELS_CUDA_IMPL_H
#define VGEN_KERNELS_CUDA_IMPL_H

#include <cublasLt.h>
#include <cuda_runtime.h>

extern "C" {
#include "arena.h"
#include "backend.h"
#include "err.h"
}

typedef struct vgen_cuda_impl {
    int device;
    int cc_major, cc_minor;
    cudaStream_t stream;        /* compute: every op is queued here */
    cudaStream_t copy_stream;   /* host -> device prefetch of streamed weights */
    cublasLtHandle_t lt;
    void *workspace;            /* cuBLASLt workspace, workspace_bytes */
    size_t workspace_bytes;
    int fp8_activations;        /* vgen_cuda_options.fp8_activations, honoured on sm_89+ only */
    void *scratch;              /* op scratch (dequantized weights, attention chunks), grown on demand */
    size_t scratch_bytes;
} vgen_cuda_impl;

static inline vgen_cuda_impl *vgen_cuda_impl_of(vgen_backend *be) { return (vgen_cuda_impl *)be->impl; }

/* Sets err from a CUDA runtime error and returns VGEN_ERR_INTERNAL (VGEN_ERR_OUT_OF_MEMORY for allocation). */
int vgen_cuda_fail(vgen_err *err, cudaError_t e, const char *who);
int vgen_cuda_lt_fail(vgen_err *err, cublasStatus_t s, const char *who);

/* Scratch of at least bytes on the device (kept by the backend, counted in be->mem); NULL + err when full.
 * One user at a time: ops run on one stream, so an op may reuse it freely until it returns. */
void *vgen_cuda_scratch(vgen_backend *be, size_t bytes, vgen_err *err);

#define VGEN_CUDA_TRY(call, err, who)                                                                              \
    do {                                                                                                           \
        cudaError_t e_ = (call);                                                                                   \
        if (e_ != cudaSuccess) return vgen_cuda_fail((err), e_, (who));                                            \
    } while (0)

/* Checks the launch of the kernel just queued. */
#define VGEN_CUDA_LAUNCHED(err, who) VGEN_CUDA_TRY(cudaGetLastError(), err, who)

#endif

/* cuda_ops.h - the CUDA implementations of the backend ops (backend.h), one file per concern:
 *   cuda_gemm.cu        linear: cuBLASLt bf16 GEMM; int8/int4/fp8 weights dequantized to bf16 per layer (fused
 *                       kernel) then the bf16 GEMM; fp8 e4m3 GEMM with per-row/per-tensor scales (sm_89+, opt-in)
 *   cuda_norm.cu        layer_norm (with modulation), rms_norm, channel_rms_norm
 *   cuda_rope.cu        rope
 *   cuda_elementwise.cu unary (gelu-tanh, silu), binary, gated_add, convert, check_finite
 *   cuda_attention.cu   attention: flash-style online softmax over key tiles, and the chunked cuBLASLt path kept
 *                       as its reference (vgen_cuda_attention_chunked)
 *   cuda_conv3d.cu      conv3d as implicit GEMM
 *   cuda_copy.cu        copy_strided
 * Each has the signature of its backend.h pointer; cuda_backend.cu installs them. Validation is the shared
 * vgen_ops_check_* of kernels/ref with the device set to CUDA, so every backend accepts the same calls. */
#ifndef VGEN_KERNELS_CUDA_OPS_H
#define VGEN_KERNELS_CUDA_OPS_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

int vgen_cuda_linear(vgen_backend *be, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias, vgen_tensor *y,
                     vgen_err *err);
int vgen_cuda_layer_norm(vgen_backend *be, const vgen_tensor *x, const float *w, const float *b, const float *shift,
                         const float *scale, float eps, vgen_tensor *y, vgen_err *err);
int vgen_cuda_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *w, float eps, vgen_tensor *y,
                       vgen_err *err);
int vgen_cuda_channel_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *gamma, const float *bias,
                               vgen_tensor *y, vgen_err *err);
int vgen_cuda_rope(vgen_backend *be, vgen_tensor *x, const float *cos_t, const float *sin_t, vgen_err *err);
int vgen_cuda_attention(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                        float scale, const vgen_tensor *bias, vgen_tensor *out, vgen_err *err);
/* The reference path of attention: scores of a chunk of queries by cuBLASLt GEMM, softmax, GEMM with v. */
int vgen_cuda_attention_chunked(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                                float scale, const vgen_tensor *bias, vgen_tensor *out, vgen_err *err);
int vgen_cuda_unary(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);
int vgen_cuda_binary(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b, vgen_tensor *y,
                     vgen_err *err);
int vgen_cuda_gated_add(vgen_backend *be, vgen_tensor *x, const float *gate, const vgen_tensor *y, vgen_err *err);
int vgen_cuda_conv3d(vgen_backend *be, const vgen_tensor *x, const vgen_tensor *w, const float *bias,
                     const vgen_conv3d_params *p, vgen_tensor *y, vgen_err *err);
int vgen_cuda_convert(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);
int vgen_cuda_check_finite(vgen_backend *be, const vgen_tensor *x, const char *what, vgen_err *err);
int vgen_cuda_copy_strided(vgen_backend *be, const void *src, const int64_t *src_strides, void *dst,
                           const int64_t *dst_strides, const int64_t *shape, int n_dims, size_t elem_size,
                           vgen_err *err);

#ifdef __cplusplus
}
#endif
#endif

/* cuda_dequant.h - format conversions on the device for the linear op (cuda_dequant.cu, used by cuda_gemm.cu):
 * weights of any format to the compute dtype, and activations to fp8 e4m3 with a scale per row.
 * Private to kernels/cuda; every function queues its kernel on `stream` and checks the launch. */
#ifndef VGEN_KERNELS_CUDA_DEQUANT_H
#define VGEN_KERNELS_CUDA_DEQUANT_H

#include "cuda/cuda_impl.h" /* first: C headers of core/ with C linkage */

extern "C" {
#include "tensor.h"
#include "wformat.h"
}

#include <stdint.h>

/* out[nr, K] = deq(W)[r0 : r0 + nr, :], row-major, in out_dtype (VGEN_DTYPE_F32, or VGEN_DTYPE_BF16 rounded to
 * nearest even). w: a validated matrix whose data / scales / zeros are device pointers. Element values are exactly
 * those of vgen_wformat_dequantize_rows (both use core/wformat_elem.h). */
int vgen_cuda_dequant_rows(const vgen_qmatrix *w, int64_t r0, int64_t nr, vgen_dtype out_dtype, void *out,
                           cudaStream_t stream, vgen_err *err);

/* Per-token fp8 quantization of activations, with the rule of the reference fp8_e4m3_row quantizer (wformat.c):
 * for each row m of x[M, K] (f32 or bf16), s[m] = amax_k |x[m, k]| / 448 (1 when that is 0) and
 * q[m, k] = e4m3_sat(x[m, k] / s[m]). q: [M, K] bytes, s: [M] floats. */
int vgen_cuda_quantize_rows_e4m3(const void *x, vgen_dtype x_dtype, int64_t m, int64_t k, uint8_t *q, float *s,
                                 cudaStream_t stream, vgen_err *err);

#endif

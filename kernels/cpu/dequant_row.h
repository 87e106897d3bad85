/* dequant_row.h - SIMD dequantization of one weight row into f32 or bf16, for the CPU backend's weight tiles.
 *
 * out[K] = deq(W)[r, :], the values vgen_wformat_dequantize_rows defines, bit for bit: each value is formed in f32
 * exactly as the reference forms it (q * s, e4m3(c) * s, (q - z) * s), then for a bf16 out rounded to nearest even
 * (NaN -> 0x7FC0) as numeric.h does. */
#ifndef VGEN_KERNELS_CPU_DEQUANT_ROW_H
#define VGEN_KERNELS_CPU_DEQUANT_ROW_H

#include <stdint.h>

#include "tensor.h"
#include "wformat.h"

/* Whether this CPU runs the AVX-512 (F, BW, VL) kernels. */
int vgen_dequant_have_avx512(void);

/* Dequantizes row r of W into out ([K] of dt: f32 or bf16) with AVX-512 and returns 1, or returns 0 without
 * touching out when there is no kernel for this format and dtype (the caller then uses the reference). Only call it
 * when vgen_dequant_have_avx512() is true. */
int vgen_dequant_row_avx512(const vgen_qmatrix *w, int64_t r, vgen_dtype dt, void *out);

#endif

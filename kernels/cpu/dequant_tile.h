/* dequant_tile.h - a tile of weight rows dequantized into the GEMM's compute precision, in parallel. */
#ifndef VGEN_KERNELS_CPU_DEQUANT_TILE_H
#define VGEN_KERNELS_CPU_DEQUANT_TILE_H

#include <stdint.h>

#include "tensor.h"
#include "threadpool.h"
#include "wformat.h"

typedef struct vgen_dequant_job {
    const vgen_qmatrix *w;
    int64_t r0, nr;   /* rows [r0, r0 + nr) of W */
    vgen_dtype dt;    /* f32 or bf16 */
    void *tile;       /* [nr, K] of dt, row stride K */
    float *rowbuf;    /* [n_threads, K] f32 staging for formats without a SIMD kernel (bf16 tiles only) */
    int simd;         /* use the AVX-512 row kernels (vgen_dequant_have_avx512()) */
} vgen_dequant_job;

/* tile[i, :] = deq(W)[r0 + i, :] in dt: bit for bit the reference dequantizer's f32 values, rounded to bf16 (RNE)
 * for a bf16 tile. Rows are spread over pool (NULL: the caller alone); rowbuf must hold
 * vgen_threadpool_size(pool) * K floats when dt is bf16. */
void vgen_dequant_tile(vgen_threadpool *pool, const vgen_dequant_job *job);

#endif

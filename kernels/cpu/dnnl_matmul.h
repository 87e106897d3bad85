/* dnnl_matmul.h - oneDNN matmul for the CPU backend: one engine and stream, and a bounded cache of matmul
 * primitives keyed by shape, dtypes and strides, all owned by one vgen_dnnl (no global state of ours).
 * Not thread-safe: one vgen_dnnl serves one caller at a time. */
#ifndef VGEN_KERNELS_CPU_DNNL_MATMUL_H
#define VGEN_KERNELS_CPU_DNNL_MATMUL_H

#include <stdint.h>

#include "err.h"
#include "tensor.h"

/* y[m, n] = x[m, k] w[n, k]^T (+ bias[n]), products in `src` precision, accumulated in f32.
 * x: [m, k] contiguous; w: [n, k] row-major (row stride k), i.e. the [k, n] matrix with oneDNN tag `ba`;
 * y: [m, n] with row stride ldy >= n; bias: [n] f32. */
typedef struct vgen_mm_desc {
    int64_t m, k, n;
    int64_t ldy;
    vgen_dtype src; /* x and w: f32 or bf16 */
    vgen_dtype dst; /* y: f32 or bf16 (bf16 only with bf16 src: oneDNN 2.6 has no f32 x f32 -> bf16 matmul) */
    int has_bias;
} vgen_mm_desc;

typedef struct vgen_dnnl vgen_dnnl;

/* capacity: how many primitives the cache keeps (least recently used ones are dropped). */
int vgen_dnnl_new(int capacity, vgen_dnnl **out, vgen_err *err);
void vgen_dnnl_free(vgen_dnnl **d);

/* Runs the matmul described by desc, building (or reusing) its primitive, and waits for it. Errors carry the
 * oneDNN status name and the shapes: VGEN_ERR_UNSUPPORTED when oneDNN has no implementation, VGEN_ERR_OUT_OF_MEMORY,
 * else VGEN_ERR_INTERNAL. */
int vgen_dnnl_matmul(vgen_dnnl *d, const vgen_mm_desc *desc, const void *x, const void *w, const float *bias, void *y,
                     vgen_err *err);

/* The oneDNN implementation chosen for desc's primitive ("gemm:jit", "brg:avx512_core_bf16", ...), or NULL if
 * it is not in the cache. For tests and benchmarks. */
const char *vgen_dnnl_impl_name(const vgen_dnnl *d, const vgen_mm_desc *desc);
/* Primitives built since creation (cache misses). */
int64_t vgen_dnnl_build_count(const vgen_dnnl *d);

#endif

/* backend.h - the backend interface: a struct of function pointers that model code calls, never a device API.
 *
 * The CPU backend implements every op; CUDA overrides what it has. supports(op, format) tells the planner and the
 * tests what a backend can run. The struct grows by appending ops as components need them (DESIGN.md section 2).
 */
#ifndef VGEN_CORE_BACKEND_H
#define VGEN_CORE_BACKEND_H

#include <stdbool.h>

#include "err.h"
#include "tensor.h"
#include "wformat.h"

typedef enum vgen_op {
    VGEN_OP_LINEAR = 0, /* y = x W^T + b with W in any weight format */
    VGEN_OP_COUNT
} vgen_op;

typedef struct vgen_threadpool vgen_threadpool;
typedef struct vgen_backend vgen_backend;

struct vgen_backend {
    const char *name;     /* "cpu", "cuda" */
    vgen_device device;
    void *impl;           /* backend-private state */

    /* Whether op can run with weights in format (format is ignored for ops without weights). */
    bool (*supports)(const vgen_backend *be, vgen_op op, vgen_wformat format);

    /* y[M, N] = x[M, K] W[N, K]^T + bias[N].
     * x: rank >= 1 with innermost dim K, f32 or bf16; y: same leading dims with innermost N, f32 or bf16;
     * bias: NULL or [N] f32. Computes in x's precision: f32 x gives f32 products and sums (weights dequantized to
     * f32); bf16 x gives bf16 products with f32 accumulation (weights dequantized to bf16). */
    int (*linear)(vgen_backend *be, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias, vgen_tensor *y,
                  vgen_err *err);

    /* Releases impl. The backend struct itself is freed by vgen_backend_free. */
    void (*destroy)(vgen_backend *be);
};

/* The CPU backend (kernels/cpu). pool may be NULL (single-threaded helpers); it is borrowed, not owned. */
int vgen_backend_cpu_new(vgen_threadpool *pool, vgen_backend **out, vgen_err *err);
/* The plain-C reference backend (kernels/ref): the oracle for every other backend. */
int vgen_backend_ref_new(vgen_backend **out, vgen_err *err);
void vgen_backend_free(vgen_backend **be);

#endif

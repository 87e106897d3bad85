/* backend_cpu.h - introspection of the CPU backend for tests, benchmarks and the memory planner (model code uses
 * backend.h only). */
#ifndef VGEN_KERNELS_CPU_BACKEND_CPU_H
#define VGEN_KERNELS_CPU_BACKEND_CPU_H

#include <stdint.h>

#include "backend.h"

/* oneDNN matmul primitives the backend has built so far (cache misses); -1 if be is not a CPU backend. */
int64_t vgen_backend_cpu_primitive_builds(const vgen_backend *be);

/* Caps the tile width (columns of y per GEMM, = rows of W dequantized at a time) at cols; 0 restores the default
 * choice. For tests (many tiles on small shapes) and tile-size sweeps. Returns VGEN_ERR_INVALID_ARGUMENT if be is
 * not a CPU backend or cols < 0. */
int vgen_backend_cpu_set_tile_cols(vgen_backend *be, int64_t cols);

/* The CPU backend's own scratch, which the planner adds to a component's activations: the linear op keeps three
 * growable buffers (the dequantized weight tile, the dequantizer's per-thread rows, the f32 staging of a bf16 y
 * with f32 compute), each as large as the largest call has needed; attention allocates its tiles and packed keys
 * for the call and frees them. Fold every call of a forward in (the same sizing code the ops run), then
 * vgen_cpu_scratch_peak is the most the backend holds beyond the tensors at any moment. threads: the pool's size. */
typedef struct vgen_cpu_scratch_plan {
    size_t tile, rows, stage;      /* kept by the linear op */
    size_t attention;              /* the largest attention call's transient scratch */
} vgen_cpu_scratch_plan;

/* y[m, n] = x[m, k] W^T with W in format f, x in dtype x_dt, y in y_dt. */
void vgen_cpu_plan_linear(vgen_cpu_scratch_plan *p, vgen_wformat f, vgen_dtype x_dt, vgen_dtype y_dt, int64_t m,
                          int64_t n, int64_t k, int threads);
/* attention of q [lq, h, dh] over lk keys, q, k and v in dtype dt. */
void vgen_cpu_plan_attention(vgen_cpu_scratch_plan *p, vgen_dtype dt, int64_t lq, int64_t lk, int64_t h,
                             int64_t dh, int threads);
size_t vgen_cpu_scratch_peak(const vgen_cpu_scratch_plan *p);

#endif

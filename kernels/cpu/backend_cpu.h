/* backend_cpu.h - introspection of the CPU backend for tests and benchmarks (model code uses backend.h only). */
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

#endif

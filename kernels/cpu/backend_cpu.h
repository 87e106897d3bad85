/* backend_cpu.h - introspection of the CPU backend for tests and benchmarks (model code uses backend.h only). */
#ifndef VGEN_KERNELS_CPU_BACKEND_CPU_H
#define VGEN_KERNELS_CPU_BACKEND_CPU_H

#include <stdint.h>

#include "backend.h"

/* oneDNN matmul primitives the backend has built so far (cache misses); -1 if be is not a CPU backend. */
int64_t vgen_backend_cpu_primitive_builds(const vgen_backend *be);

#endif

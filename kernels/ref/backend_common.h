/* backend_common.h - helpers every backend constructor shares (kernels/ref/backend_common.c). */
#ifndef VGEN_KERNELS_BACKEND_COMMON_H
#define VGEN_KERNELS_BACKEND_COMMON_H

#include <stdbool.h>

#include "backend.h"

/* The usual supports(): linear with any known weight format when be->linear is set; every other op when its
 * function pointer is set (backend.h: a NULL pointer means the backend lacks the op). */
bool vgen_backend_has_op(const vgen_backend *be, vgen_op op, vgen_wformat format);

/* The host-memory functions of backend.h (alloc, buf_free, upload, download, synchronize) for backends whose
 * device is the CPU, plus check_finite; counted in be->mem. */
void vgen_backend_host_install(vgen_backend *be);

#endif

/* scratch.h - a growable, 64-byte aligned buffer owned by a backend (dequantized weight tiles, f32 staging).
 * Grows on demand and never shrinks until freed; contents are not preserved across growth. */
#ifndef VGEN_KERNELS_CPU_SCRATCH_H
#define VGEN_KERNELS_CPU_SCRATCH_H

#include <stddef.h>

#include "err.h"

typedef struct vgen_scratch {
    void *ptr;
    size_t cap; /* bytes */
} vgen_scratch;

/* Makes s->ptr hold at least `bytes` bytes. On failure s is unchanged and VGEN_ERR_OUT_OF_MEMORY is returned,
 * naming `what`. */
int vgen_scratch_reserve(vgen_scratch *s, size_t bytes, const char *what, vgen_err *err);
void vgen_scratch_release(vgen_scratch *s);

#endif

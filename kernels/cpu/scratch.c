/* scratch.c - growable aligned scratch buffers (scratch.h). */
#include "cpu/scratch.h"

#include <stdlib.h>

#define SCRATCH_ALIGN 64

int vgen_scratch_reserve(vgen_scratch *s, size_t bytes, const char *what, vgen_err *err) {
    if (bytes <= s->cap) return VGEN_OK;
    if (bytes > SIZE_MAX / 2)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of scratch for %s", bytes, what);
    size_t want = bytes + bytes / 4; /* some headroom so slowly growing sizes do not reallocate every call */
    want = (want + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
    void *p = aligned_alloc(SCRATCH_ALIGN, want);
    if (!p) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of scratch for %s", want, what);
    free(s->ptr);
    s->ptr = p;
    s->cap = want;
    return VGEN_OK;
}

void vgen_scratch_release(vgen_scratch *s) {
    if (!s) return;
    free(s->ptr);
    s->ptr = NULL;
    s->cap = 0;
}

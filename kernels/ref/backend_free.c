/* backend_free.c - vgen_backend_free, shared by every backend (backend.h). */
#include <stdlib.h>

#include "backend.h"

void vgen_backend_free(vgen_backend **be) {
    if (!be || !*be) return;
    if ((*be)->destroy) (*be)->destroy(*be);
    free(*be);
    *be = NULL;
}

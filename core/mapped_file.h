/* mapped_file.h - a whole file mapped read-only (PROT_READ, MAP_PRIVATE) for parsers. */
#ifndef VGEN_CORE_MAPPED_FILE_H
#define VGEN_CORE_MAPPED_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct vgen_mapped_file {
    const uint8_t *data; /* [size] bytes; NULL for an empty file (nothing is mapped then) */
    size_t size;
} vgen_mapped_file;

/* Maps path. Errors: VGEN_ERR_NOT_FOUND (no such file), VGEN_ERR_IO (cannot open, not a regular file, mmap
 * failed), each with a message "<display>: ..." (display NULL: the path). On error *f is zeroed. */
int vgen_mapped_file_open(const char *path, const char *display, vgen_mapped_file *f, vgen_err *err);

/* Unmaps and zeroes *f. Safe on a zeroed struct. */
void vgen_mapped_file_close(vgen_mapped_file *f);

#endif

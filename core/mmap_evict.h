/* mmap_evict.h - dropping the pages of a read-only file mapping once they have been used, so streaming through
 * a large mmap'ed file keeps the resident set small. */
#ifndef VGEN_CORE_MMAP_EVICT_H
#define VGEN_CORE_MMAP_EVICT_H

#include <stddef.h>

/* Advises the kernel that the whole pages inside [p, p + n) are not needed (MADV_DONTNEED). Only for read-only
 * private file mappings: the pages are re-read from the file if touched again. Best effort, never fails. */
void vgen_mmap_evict(const void *p, size_t n);

#endif

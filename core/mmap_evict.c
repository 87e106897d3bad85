/* mmap_evict.c - see mmap_evict.h. */
#include "mmap_evict.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

void vgen_mmap_evict(const void *p, size_t n) {
    long page = sysconf(_SC_PAGESIZE);
    if (!p || n == 0 || page <= 0) return;
    uintptr_t begin = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1); /* round up */
    uintptr_t end = ((uintptr_t)p + n) & ~((uintptr_t)page - 1);                     /* round down */
    if (end > begin) madvise((void *)begin, end - begin, MADV_DONTNEED);
}

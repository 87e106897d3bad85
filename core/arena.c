/* arena.c - counted heap blocks and the bump arena. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

#include "checked.h"

void vgen_memstat_add(vgen_memstat *m, size_t bytes) {
    if (!m) return;
    m->current += bytes;
    if (m->current > m->peak) m->peak = m->current;
}

void vgen_memstat_sub(vgen_memstat *m, size_t bytes) {
    if (!m) return;
    m->current = bytes > m->current ? 0 : m->current - bytes;
}

void *vgen_tracked_malloc(vgen_memstat *m, size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (p) vgen_memstat_add(m, bytes);
    return p;
}

void vgen_tracked_free(vgen_memstat *m, void *p, size_t bytes) {
    if (!p) return;
    free(p);
    vgen_memstat_sub(m, bytes);
}

struct vgen_arena {
    unsigned char *base;
    size_t capacity;
    size_t used;
    size_t peak;
    vgen_memstat *stat;
};

int vgen_arena_new(size_t capacity, vgen_memstat *stat, vgen_arena **out, vgen_err *err) {
    *out = NULL;
    vgen_arena *a = calloc(1, sizeof *a);
    if (!a) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate an arena");
    /* 64-byte aligned base, so SIMD kernels can rely on alignment of 64-aligned offsets. */
    size_t rounded = (capacity + 63) & ~(size_t)63;
    if (rounded < capacity || !(a->base = aligned_alloc(64, rounded ? rounded : 64))) {
        free(a);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate an arena of %zu bytes", capacity);
    }
    a->capacity = capacity;
    a->stat = stat;
    vgen_memstat_add(stat, capacity);
    *out = a;
    return VGEN_OK;
}

void vgen_arena_free(vgen_arena **pa) {
    if (!pa || !*pa) return;
    vgen_arena *a = *pa;
    vgen_memstat_sub(a->stat, a->capacity);
    free(a->base);
    free(a);
    *pa = NULL;
}

void *vgen_arena_alloc(vgen_arena *a, size_t bytes, size_t align) {
    if (align == 0 || (align & (align - 1)) != 0 || align > 64) return NULL; /* the base is 64-aligned */
    size_t start;
    if (!vgen_add_size(a->used, align - 1, &start)) return NULL;
    start &= ~(align - 1);
    size_t end;
    if (!vgen_add_size(start, bytes, &end) || end > a->capacity) return NULL;
    a->used = end;
    if (end > a->peak) a->peak = end;
    return a->base + start;
}

size_t vgen_arena_mark(const vgen_arena *a) { return a->used; }

void vgen_arena_reset(vgen_arena *a, size_t mark) {
    if (mark <= a->used) a->used = mark;
}

size_t vgen_arena_used(const vgen_arena *a) { return a->used; }
size_t vgen_arena_peak(const vgen_arena *a) { return a->peak; }
size_t vgen_arena_capacity(const vgen_arena *a) { return a->capacity; }

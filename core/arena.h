/* arena.h - byte-counting allocation: a counter for tracked heap blocks, and a bump arena over one block.
 * Both record current and peak bytes, so tests can compare the planner's figures with what was used.
 * Neither is thread-safe: give each thread (or each session) its own. */
#ifndef VGEN_CORE_ARENA_H
#define VGEN_CORE_ARENA_H

#include <stddef.h>

#include "err.h"

typedef struct vgen_memstat {
    size_t current;
    size_t peak;
} vgen_memstat;

void vgen_memstat_add(vgen_memstat *m, size_t bytes);
void vgen_memstat_sub(vgen_memstat *m, size_t bytes);

/* malloc/free that count into m (m may be NULL). The caller passes the size back to free. */
void *vgen_tracked_malloc(vgen_memstat *m, size_t bytes);
void vgen_tracked_free(vgen_memstat *m, void *p, size_t bytes);

/* A bump allocator over one block of `capacity` bytes (counted into stat when given). Allocation never grows the
 * block: it returns NULL when full, so memory stays within what the planner reserved. */
typedef struct vgen_arena vgen_arena;

int vgen_arena_new(size_t capacity, vgen_memstat *stat, vgen_arena **out, vgen_err *err);
void vgen_arena_free(vgen_arena **a);
/* bytes aligned to `align` (a power of two, <= 64); NULL if it does not fit. */
void *vgen_arena_alloc(vgen_arena *a, size_t bytes, size_t align);
/* A mark is the current fill level; reset returns to it, releasing everything allocated since. */
size_t vgen_arena_mark(const vgen_arena *a);
void vgen_arena_reset(vgen_arena *a, size_t mark);
size_t vgen_arena_used(const vgen_arena *a);
size_t vgen_arena_peak(const vgen_arena *a);
size_t vgen_arena_capacity(const vgen_arena *a);

#endif

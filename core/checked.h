/* checked.h - overflow-safe size arithmetic for parsers and shape math.
 * Each returns 1 on success (result stored) and 0 on overflow (result untouched). */
#ifndef VGEN_CORE_CHECKED_H
#define VGEN_CORE_CHECKED_H

#include <stddef.h>
#include <stdint.h>

static inline int vgen_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) return 0;
    *out = r;
    return 1;
}

static inline int vgen_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return 0;
    *out = r;
    return 1;
}

static inline int vgen_mul_size(size_t a, size_t b, size_t *out) {
    size_t r;
    if (__builtin_mul_overflow(a, b, &r)) return 0;
    *out = r;
    return 1;
}

static inline int vgen_add_size(size_t a, size_t b, size_t *out) {
    size_t r;
    if (__builtin_add_overflow(a, b, &r)) return 0;
    *out = r;
    return 1;
}

/* Product of n non-negative dims; 0 on overflow or a negative dim. */
static inline int vgen_shape_numel(const int64_t *dims, int n, uint64_t *out) {
    uint64_t p = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0 || !vgen_mul_u64(p, (uint64_t)dims[i], &p)) return 0;
    }
    *out = p;
    return 1;
}

#endif

/* bench_rng.h - the benchmarks' random data: splitmix64 over a uint64_t state. Header-only. */
#ifndef VGEN_BENCH_RNG_H
#define VGEN_BENCH_RNG_H

#include <stdint.h>

static inline uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-a, a). */
static inline float rng_sym(uint64_t *s, float a) { return a * ((float)(rng_next(s) >> 40) * 0x1.0p-23f - 1.0f); }

#endif

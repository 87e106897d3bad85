/* torch_rng.h - PyTorch's CPU random generator, bit for bit, for the initial noise.
 *
 *   vgen_torch_rng g;
 *   vgen_torch_rng_seed(&g, seed);          // torch.Generator("cpu").manual_seed(seed)
 *   vgen_torch_randn(&g, latent, numel);     // torch.randn(shape, generator=g, dtype=torch.float32)
 *
 * The generator is a caller-owned struct (no global state); successive calls continue the stream exactly as
 * successive torch calls on one generator do. What torch does (torch 2.x, x86-64; docs/sampler.md has the detail):
 *   - engine: MT19937 seeded with the low 32 bits of the 64-bit seed (2^32 + k and k give the same stream);
 *   - torch.rand float32: one 32-bit draw per element, (draw & 0xFFFFFF) * 2^-24;
 *   - torch.randn float32 with n >= 16 elements: n uniforms as above, then Box-Muller over chunks of 16 (element j
 *     and j + 8 of a chunk come from the pair (u[j], u[j+8])), computed in float32 with the cephes polynomial
 *     log/sincos of torch's AVX2 kernel (torch runs that kernel on every AVX2 or AVX-512 CPU); when n is not a
 *     multiple of 16 the last 16 elements are recomputed from 16 fresh uniforms;
 *   - torch.randn float32 with n < 16: each element from a double-precision Box-Muller on two 53-bit uniforms (two
 *     32-bit draws each); the second normal of each pair is cached in the generator and used by the next element,
 *     even in the next call (the cache survives between calls; seeding clears it).
 * Machines without AVX2 (or ATEN_CPU_CAPABILITY=default) make torch use a libm-based path for n >= 16 that is not
 * reproduced here.
 */
#ifndef VGEN_CORE_TORCH_RNG_H
#define VGEN_CORE_TORCH_RNG_H

#include <stddef.h>
#include <stdint.h>

#define VGEN_TORCH_MT_N 624

typedef struct vgen_torch_rng {
    uint32_t state[VGEN_TORCH_MT_N];
    int left;              /* draws left before the state is regenerated (as torch's at::mt19937) */
    int next;              /* index of the next state word */
    int has_cached_normal; /* torch's next_double_normal_sample */
    double cached_normal;
} vgen_torch_rng;

/* torch.Generator("cpu").manual_seed(seed): any uint64 seed; clears the cached normal. */
void vgen_torch_rng_seed(vgen_torch_rng *g, uint64_t seed);

/* One 32-bit draw (CPUGeneratorImpl::random) / a 64-bit draw made of two (random64: first draw in the high half). */
uint32_t vgen_torch_rng_u32(vgen_torch_rng *g);
uint64_t vgen_torch_rng_u64(vgen_torch_rng *g);

/* torch.rand(n, dtype=float32): uniform [0, 1). */
void vgen_torch_rand(vgen_torch_rng *g, float *out, size_t n);

/* torch.randn(n, dtype=float32): the contiguous tensor of any shape with n elements. n == 0 draws nothing. */
void vgen_torch_randn(vgen_torch_rng *g, float *out, size_t n);

#endif

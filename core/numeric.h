/* numeric.h - scalar conversions between float32 and bf16 / f16 / fp8 e4m3fn.
 *
 * Header-only and compiled for both host and device (VGEN_HD), so the CPU tests exercise exactly the math the
 * CUDA kernels use. Rounding is round-to-nearest-even everywhere and matches PyTorch bit for bit:
 *   - bf16: NaN becomes 0x7FC0 (sign dropped), as c10::BFloat16 does;
 *   - f16: IEEE binary16, overflow to Inf, NaN becomes 0x7E00 with its sign;
 *   - e4m3fn (torch.float8_e4m3fn): no Inf; |x| >= 480 (and Inf, NaN) become NaN (0x7F | sign). That is the raw
 *     cast; quantizers clamp to +-448 first so they saturate instead (vgen_f32_to_e4m3_sat).
 */
#ifndef VGEN_CORE_NUMERIC_H
#define VGEN_CORE_NUMERIC_H

#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__)
#define VGEN_HD __host__ __device__ __forceinline__
#else
#define VGEN_HD static inline
#endif

#define VGEN_E4M3_MAX 448.0f

VGEN_HD uint32_t vgen_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

VGEN_HD float vgen_f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- bf16 ---- */

VGEN_HD float vgen_bf16_to_f32(uint16_t h) { return vgen_f32_from_bits((uint32_t)h << 16); }

VGEN_HD uint16_t vgen_f32_to_bf16(float f) {
    uint32_t u = vgen_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0; /* NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* ---- f16 (IEEE binary16) ---- */

VGEN_HD float vgen_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in f32 */
        float v = (float)m * 5.9604644775390625e-08f;
        return vgen_f32_from_bits(vgen_f32_bits(v) | sign);
    }
    if (e == 31) return vgen_f32_from_bits(sign | 0x7f800000u | (m << 13));
    return vgen_f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

VGEN_HD uint16_t vgen_f32_to_f16(float f) {
    uint32_t x = vgen_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);   /* NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  /* >= 65520 rounds to Inf */
    if (ax < 0x33000000u) return sign;                          /* <= 2^-25 rounds to zero */
    if (ax < 0x38800000u) {                                     /* below 2^-14: subnormal, units of 2^-24 */
        uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - e;                              /* 14 .. 24 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax - 0x38000000u; /* rebias the exponent from 127 to 15 */
    uint32_t q = r >> 13, rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++;
    return (uint16_t)(sign | q);
}

/* ---- fp8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa; S.1111.111 is NaN; no Inf ---- */

VGEN_HD float vgen_e4m3_to_f32(uint8_t v) {
    uint32_t sign = (uint32_t)(v & 0x80u) << 24;
    uint32_t e = (v >> 3) & 0xfu, m = v & 7u;
    if (e == 15 && m == 7) return vgen_f32_from_bits(sign | 0x7fc00000u);
    if (e == 0) { /* subnormal: m * 2^-9 */
        float s = (float)m * 0.001953125f;
        return vgen_f32_from_bits(vgen_f32_bits(s) | sign);
    }
    return vgen_f32_from_bits(sign | ((e + 120u) << 23) | (m << 20));
}

/* The raw cast, as torch's x.to(torch.float8_e4m3fn). */
VGEN_HD uint8_t vgen_f32_to_e4m3(float f) {
    uint32_t bits = vgen_f32_bits(f);
    uint32_t sign = bits & 0x80000000u;
    bits ^= sign;
    uint8_t out;
    if (bits >= (1087u << 20)) {           /* >= 480, Inf or NaN */
        out = 0x7f;
    } else if (bits < (121u << 23)) {      /* below 2^-6: round to a multiple of 2^-9 by adding 2^14 */
        const uint32_t denorm_magic = 141u << 23;
        uint32_t r = vgen_f32_bits(vgen_f32_from_bits(bits) + vgen_f32_from_bits(denorm_magic));
        out = (uint8_t)(r - denorm_magic);
    } else {                               /* normal: rebias 127 -> 7 and round the 20 dropped bits to even */
        uint32_t mant_odd = (bits >> 20) & 1u;
        bits += (uint32_t)((7 - 127) * (1 << 23)) + 0x7ffffu + mant_odd;
        out = (uint8_t)(bits >> 20);
    }
    return (uint8_t)(out | (sign >> 24));
}

/* Saturating cast used by quantizers: finite values are clamped to +-448 first. */
VGEN_HD uint8_t vgen_f32_to_e4m3_sat(float f) {
    if (f > VGEN_E4M3_MAX) f = VGEN_E4M3_MAX;
    if (f < -VGEN_E4M3_MAX) f = -VGEN_E4M3_MAX;
    return vgen_f32_to_e4m3(f);
}

#endif

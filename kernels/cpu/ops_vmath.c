/* ops_vmath.c - exp, silu and gelu_tanh over f32 rows (ops_cpu.h), AVX-512 or libm. The portable paths are
 * core/elem_math.h's functions (the CUDA kernels' formulas); the AVX-512 ones evaluate the same expressions with
 * the vector exp. */
#include <math.h>

#include "cpu/ops_cpu.h"
#include "elem_math.h"

#define GELU_K VGEN_GELU_K
#define GELU_C VGEN_GELU_C

#if defined(VGEN_HAVE_X86)
VGEN_AVX512 static void exp_avx512(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = vgen_mask16(n - i);
        _mm512_mask_storeu_ps(x + i, k, vgen_exp512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

VGEN_AVX512 static void silu_avx512(float *x, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = vgen_mask16(n - i);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        __m512 e = vgen_exp512(_mm512_sub_ps(_mm512_setzero_ps(), v));
        _mm512_mask_storeu_ps(x + i, k, _mm512_div_ps(v, _mm512_add_ps(one, e)));
    }
}

VGEN_AVX512 static void gelu_avx512(float *x, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f), c = _mm512_set1_ps(GELU_C), m2k = _mm512_set1_ps(-2.0f * GELU_K);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = vgen_mask16(n - i);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        /* -2u = -2k (x + c x^3) = (-2k x) (1 + c x^2): vgen_gelu_tanh's operations (elem_math.h) */
        __m512 t = _mm512_mul_ps(_mm512_mul_ps(m2k, v), _mm512_fmadd_ps(_mm512_mul_ps(c, v), v, one));
        _mm512_mask_storeu_ps(x + i, k, _mm512_div_ps(v, _mm512_add_ps(one, vgen_exp512(t))));
    }
}
#endif

void vgen_cpu_exp_rows(float *x, int64_t n, int simd) {
#if defined(VGEN_HAVE_X86)
    if (simd >= VGEN_SIMD_AVX512) {
        exp_avx512(x, n);
        return;
    }
#endif
    (void)simd;
    for (int64_t i = 0; i < n; i++) x[i] = expf(x[i]);
}

void vgen_cpu_silu_rows(float *x, int64_t n, int simd) {
#if defined(VGEN_HAVE_X86)
    if (simd >= VGEN_SIMD_AVX512) {
        silu_avx512(x, n);
        return;
    }
#endif
    (void)simd;
    for (int64_t i = 0; i < n; i++) x[i] = vgen_silu(x[i]);
}

void vgen_cpu_gelu_tanh_rows(float *x, int64_t n, int simd) {
#if defined(VGEN_HAVE_X86)
    if (simd >= VGEN_SIMD_AVX512) {
        gelu_avx512(x, n);
        return;
    }
#endif
    (void)simd;
    for (int64_t i = 0; i < n; i++) x[i] = vgen_gelu_tanh(x[i]);
}

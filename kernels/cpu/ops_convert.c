/* ops_convert.c - f32 rows from and to activation dtypes (ops_cpu.h), and the convert op (backend.h).
 *
 * bf16 <-> f32 uses AVX-512 integer code when available: widening is a shift, narrowing is the round-to-nearest-
 * even of numeric.h (add 0x7fff + lsb, NaN -> 0x7FC0), so results are bit-identical to vgen_f32_to_bf16 and do not
 * depend on MXCSR (oneDNN threads may run with FTZ/DAZ). f16 goes through numeric.h's scalar code.
 * convert runs in chunks on the thread pool; in place into a different element size it runs serially, forwards when
 * narrowing and backwards when widening, so nothing is overwritten before it is read. */
#include <stdlib.h>
#include <string.h>

#include "cpu/ops_cpu.h"
#include "ref/ops_ref.h"
#include "threadpool.h"

#define CONVERT_BLOCK 1024 /* elements staged through an f32 buffer on the stack */

#if defined(VGEN_HAVE_X86)
VGEN_AVX512 static void load_bf16_avx512(const uint16_t *src, int64_t n, float *dst) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = vgen_mask16(n - i);
        __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, src + i));
        _mm512_mask_storeu_ps(dst + i, k, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
}

VGEN_AVX512 static void store_bf16_avx512(const float *src, int64_t n, uint16_t *dst) {
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff), qnan = _mm512_set1_epi32(0x7fc0);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = vgen_mask16(n - i);
        __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(k, src + i));
        __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, bias)), 16);
        __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs_mask), inf);
        r = _mm512_mask_mov_epi32(r, nan, qnan);
        _mm256_mask_storeu_epi16(dst + i, k, _mm512_cvtepi32_epi16(r));
    }
}
#endif

void vgen_cpu_load_f32(const void *src, vgen_dtype dt, int64_t off, int64_t n, float *dst, int simd) {
    if (dt == VGEN_DTYPE_F32) {
        memcpy(dst, (const float *)src + off, (size_t)n * sizeof *dst);
        return;
    }
#if defined(VGEN_HAVE_X86)
    if (dt == VGEN_DTYPE_BF16 && simd >= VGEN_SIMD_AVX512) {
        load_bf16_avx512((const uint16_t *)src + off, n, dst);
        return;
    }
#else
    (void)simd;
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = vgen_ops_get(src, dt, off + i);
}

void vgen_cpu_store_f32(const float *src, int64_t n, vgen_dtype dt, void *dst, int64_t off, int simd) {
    if (dt == VGEN_DTYPE_F32) {
        memcpy((float *)dst + off, src, (size_t)n * sizeof *src);
        return;
    }
#if defined(VGEN_HAVE_X86)
    if (dt == VGEN_DTYPE_BF16 && simd >= VGEN_SIMD_AVX512) {
        store_bf16_avx512(src, n, (uint16_t *)dst + off);
        return;
    }
#else
    (void)simd;
#endif
    for (int64_t i = 0; i < n; i++) vgen_ops_put(dst, dt, off + i, src[i]);
}

/* ---- the convert op ---- */

typedef struct convert_job {
    const vgen_tensor *x;
    vgen_tensor *y;
    int64_t n;
    int simd;
} convert_job;

/* y[i0, i1) = x[i0, i1), staged through f32 one block at a time (all of a block is read before it is written). */
static void convert_block(const convert_job *j, int64_t i0, int64_t i1) {
    float buf[CONVERT_BLOCK];
    vgen_cpu_load_f32(j->x->data, j->x->dtype, i0, i1 - i0, buf, j->simd);
    vgen_cpu_store_f32(buf, i1 - i0, j->y->dtype, j->y->data, i0, j->simd);
}

static void convert_chunk(void *arg, int64_t c, int thread) {
    (void)thread;
    const convert_job *j = arg;
    const int64_t end = (c + 1) * VGEN_CPU_CHUNK < j->n ? (c + 1) * VGEN_CPU_CHUNK : j->n;
    for (int64_t i = c * VGEN_CPU_CHUNK; i < end; i += CONVERT_BLOCK)
        convert_block(j, i, i + CONVERT_BLOCK < end ? i + CONVERT_BLOCK : end);
}

static void convert_serial(const convert_job *j, int backwards) {
    if (backwards) {
        for (int64_t i1 = j->n; i1 > 0; i1 -= CONVERT_BLOCK)
            convert_block(j, i1 > CONVERT_BLOCK ? i1 - CONVERT_BLOCK : 0, i1);
    } else {
        for (int64_t i0 = 0; i0 < j->n; i0 += CONVERT_BLOCK)
            convert_block(j, i0, i0 + CONVERT_BLOCK < j->n ? i0 + CONVERT_BLOCK : j->n);
    }
}

static int convert_run(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, int simd, vgen_err *err) {
    convert_job j = {x, y, 0, simd};
    int rc = vgen_ops_check_convert("cpu convert", VGEN_DEVICE_CPU, x, y, &j.n, err);
    if (rc || j.n == 0) return rc;
    const size_t xs = vgen_dtype_size(x->dtype), ys = vgen_dtype_size(y->dtype);
    if (x->data == y->data && x->dtype == y->dtype) return VGEN_OK;
    if (x->data == y->data && ys != xs) convert_serial(&j, ys > xs);
    else vgen_threadpool_for(be->pool, (j.n + VGEN_CPU_CHUNK - 1) / VGEN_CPU_CHUNK, convert_chunk, &j);
    return VGEN_OK;
}

static int cpu_convert(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    return convert_run(be, x, y, vgen_cpu_simd_level(), err);
}

static int cpu_convert_portable(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    return convert_run(be, x, y, VGEN_SIMD_NONE, err);
}

void vgen_cpu_convert_install(vgen_backend *be, int portable) {
    be->convert = portable ? cpu_convert_portable : cpu_convert;
}

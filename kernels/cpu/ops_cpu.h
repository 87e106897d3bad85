/* ops_cpu.h - the fast CPU implementations of every backend op after linear (backend.h), and their internals.
 *
 * vgen_cpu_ops_install sets the op pointers of a backend struct (calling it twice is harmless; supports() is not
 * touched). The ops run on be->pool (NULL: serially on the caller) and pick AVX-512 kernels at run time when the
 * CPU has them (avx512f/bw/vl; avx512bf16 for bf16 attention), else portable C. vgen_cpu_ops_install_portable
 * installs the same ops pinned to the portable C paths, so tests can check those on an AVX-512 machine.
 * conv3d runs its GEMMs on oneDNN, which threads itself (OpenMP); its im2col runs on be->pool, one after the other.
 * The ops keep no state between calls: scratch is allocated per call and bounded (see docs/ops.md).
 */
#ifndef VGEN_KERNELS_CPU_OPS_CPU_H
#define VGEN_KERNELS_CPU_OPS_CPU_H

#include <stdint.h>

#include "backend.h"
#include "err.h"
#include "ref/ops_ref.h"
#include "tensor.h"

void vgen_cpu_ops_install(vgen_backend *be);
void vgen_cpu_ops_install_portable(vgen_backend *be);

/* The ops with explicit tiling, for tests that want many tiles on small shapes and for tile-size sweeps (0 = the
 * default choice for every field). simd caps the SIMD level (VGEN_SIMD_*; capped again by the CPU's). */
typedef struct vgen_cpu_attn_opts {
    int64_t bq, bk;           /* query rows per task (multiple of 4), keys per tile (multiple of 64) */
    int64_t heads_per_group;  /* heads whose keys are packed together */
    int simd;
} vgen_cpu_attn_opts;
int vgen_cpu_attention_tiled(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                             float scale, const vgen_tensor *bias, vgen_tensor *out, const vgen_cpu_attn_opts *o,
                             vgen_err *err);
/* conv3d with at most col_bytes of im2col scratch on the oneDNN path (the path taken without AVX-512). */
int vgen_cpu_conv3d_tiled(vgen_backend *be, const vgen_tensor *x, const vgen_tensor *w, const float *bias,
                          const vgen_conv3d_params *p, vgen_tensor *y, size_t col_bytes, int simd, vgen_err *err);

/* ---- internals shared by the ops_*.c files of kernels/cpu ---- */

/* SIMD levels: what the CPU can run, capped by the installed variant. */
enum { VGEN_SIMD_NONE = 0, VGEN_SIMD_AVX512 = 1, VGEN_SIMD_AVX512_BF16 = 2 };
int vgen_cpu_simd_level(void);

/* Per-file installers; portable != 0 pins the ops to VGEN_SIMD_NONE. */
void vgen_cpu_norm_install(vgen_backend *be, int portable);
void vgen_cpu_rope_install(vgen_backend *be, int portable);
void vgen_cpu_attention_install(vgen_backend *be, int portable);
void vgen_cpu_unary_install(vgen_backend *be, int portable);
void vgen_cpu_binary_install(vgen_backend *be, int portable);
void vgen_cpu_convert_install(vgen_backend *be, int portable);
void vgen_cpu_conv3d_install(vgen_backend *be, int portable);
void vgen_cpu_copy_install(vgen_backend *be, int portable);

/* Elements per parallel task of the streaming ops: big enough to hide the task overhead, small enough to balance. */
#define VGEN_CPU_CHUNK 32768

/* A 64-byte aligned allocation of `bytes` (rounded up), or NULL. Release with free(). */
void *vgen_cpu_alloc(size_t bytes);

/* ---- rows of activations as f32 (ops_convert.c) ----
 * dst[0, n) = src[off, off + n) as f32; src f32, bf16 or f16. */
void vgen_cpu_load_f32(const void *src, vgen_dtype dt, int64_t off, int64_t n, float *dst, int simd);
/* dst[off, off + n) = src[0, n) rounded to dt (f32, bf16 or f16; round to nearest even, numeric.h's values). */
void vgen_cpu_store_f32(const float *src, int64_t n, vgen_dtype dt, void *dst, int64_t off, int simd);

/* ---- vector math on f32 rows (ops_vmath.c): x[i] <- f(x[i]) ----
 * exp: Cody-Waite reduction and a degree-6 polynomial (Cephes expf), within 2 ulp of expf; exp(-inf) = 0,
 * overflow gives +inf, NaN propagates. silu = x / (1 + exp(-x)); gelu_tanh = x / (1 + exp(-2u)) with
 * u = sqrt(2/pi)(x + 0.044715 x^3), which equals 0.5 x (1 + tanh(u)) exactly and avoids the cancellation of
 * 1 + tanh(u) for negative x. */
void vgen_cpu_exp_rows(float *x, int64_t n, int simd);
void vgen_cpu_silu_rows(float *x, int64_t n, int simd);
void vgen_cpu_gelu_tanh_rows(float *x, int64_t n, int simd);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define VGEN_HAVE_X86 1
#define VGEN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define VGEN_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* exp of 16 lanes, the vgen_cpu_exp_rows formula: clamp to [-120, 89] (NaN kept: max/min return their second
 * operand when either is NaN), n = round(x log2 e), r = x - n ln 2 in two parts, e^r by the Cephes polynomial,
 * times 2^n with scalef (2^-173 underflows to exactly 0, 2^128 overflows to +inf). */
VGEN_AVX512 static inline __m512 vgen_exp512(__m512 x) {
    x = _mm512_max_ps(_mm512_set1_ps(-120.0f), x);
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* Lanes [0, n) of 16 (n may exceed 16). */
static inline __mmask16 vgen_mask16(int64_t n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}
#endif

/* ---- attention tiles (ops_attention_tile.c portable, ops_attention_avx512.c) ----
 * One task = one head h and a tile of up to bq query rows, walking the keys in tiles of up to bk with an online
 * softmax. Row counts are padded to a multiple of ATTN_ROWS, key counts to a multiple of ATTN_KEYS and the head
 * dim to a multiple of 16 (dhp); padding is zero, and padded keys get probability 0. */
#define VGEN_ATTN_ROWS 4
#define VGEN_ATTN_KEYS 64

typedef enum vgen_attn_path {
    VGEN_ATTN_C = 0,          /* f32 tiles, portable C */
    VGEN_ATTN_F32_AVX512 = 1, /* f32 tiles, AVX-512 */
    VGEN_ATTN_BF16_AVX512 = 2 /* bf16 tiles (q, k, v all bf16), AVX512-BF16 dot products */
} vgen_attn_path;

typedef struct vgen_attn_src {
    const void *q, *k, *v;    /* [Lq, H, Dh], [Lk, H, Dh], [Lk, H, Dh] */
    vgen_dtype qdt, kdt, vdt;
    const float *bias;        /* [H, Lq, Lk] or NULL */
    float scale;
    int64_t lq, lk, h, dh;
} vgen_attn_src;

typedef struct vgen_attn_tile {
    vgen_attn_path path;
    int simd;                 /* for the row loads and stores */
    int64_t bq, bk, dhp;      /* capacities: rows, keys, padded head dim */
    int64_t h, q0, nq, nqp;   /* head, first query row, valid rows, rows rounded up to ATTN_ROWS */
    int64_t k0, nk, nkp;      /* first key, valid keys, keys rounded up to ATTN_KEYS */
    /* f32 path:  q [bq][dhp] f32, k [dhp][bk] f32 (transposed), v [bk][dhp] f32, p = s.
     * bf16 path: q [bq][dhp/2] u32 (bf16 pairs along d), k [dhp/2][bk] u32 (pairs along d),
     *            v [bk/2][dhp] u32 (pairs along keys), p [bq][bk/2] u32 (pairs along keys). */
    void *q, *k, *v;
    uint32_t *p;
    float *s;                 /* [bq][bk] scores, then probabilities on the f32 paths */
    float *o;                 /* [bq][dhp] unnormalised output */
    float *m, *l;             /* [bq] running max and sum of the probabilities */
} vgen_attn_tile;

void vgen_attn_pack_q(const vgen_attn_src *a, vgen_attn_tile *t);
void vgen_attn_pack_kv(const vgen_attn_src *a, vgen_attn_tile *t); /* f32 layout, portable */
/* Portable kernels (f32 path): s = q k^T; softmax step; o += p v. */
void vgen_attn_scores_c(vgen_attn_tile *t);
void vgen_attn_softmax_c(const vgen_attn_src *a, vgen_attn_tile *t);
void vgen_attn_pv_c(vgen_attn_tile *t);
/* AVX-512 kernels, for the f32 path (needs VGEN_SIMD_AVX512) and the bf16 path (VGEN_SIMD_AVX512_BF16). */
void vgen_attn_pack_kv_avx512(const vgen_attn_src *a, vgen_attn_tile *t);
void vgen_attn_scores_avx512(vgen_attn_tile *t);
void vgen_attn_softmax_avx512(const vgen_attn_src *a, vgen_attn_tile *t);
void vgen_attn_pv_avx512(vgen_attn_tile *t);

/* ---- conv3d (ops_conv3d.c: entry, oneDNN path; ops_conv3d_col.c: im2col; ops_conv3d_avx512.c: blocked path) ----
 * col[k, p] with k = ((ci kt + a) kh + b) kw + c and p = (to H' + ho) W' + wo is
 * x[ci, to st + a - pt, ho sh + b - ph, wo sw + c - pw], 0 in the padding. */
typedef struct vgen_conv_src {
    const vgen_tensor *x;     /* [Cin, F, H, W] */
    vgen_conv3d_dims g;
    vgen_dtype cdt;           /* dtype of the col rows written */
    int simd;
} vgen_conv_src;

/* col row k for positions [p0, p0 + np), np values in s->cdt at dst. */
void vgen_conv_col_row(const vgen_conv_src *s, int64_t k, int64_t p0, int64_t np, void *dst);

/* The AVX-512 blocked implicit GEMM (needs VGEN_SIMD_AVX512; bf16 operands with VGEN_SIMD_AVX512_BF16). Shapes are
 * checked by the caller. */
int vgen_conv3d_blocked(vgen_backend *be, const vgen_conv_src *s, const vgen_tensor *w, const float *bias,
                        vgen_tensor *y, vgen_err *err);

/* ---- GEMM through oneDNN for conv3d's portable path (ops_gemm.c) ----
 * y[m, n] (row stride ldy, f32) = a[m, k] (row-major) b[k, n] (row stride ldb); a and b both f32 or both bf16;
 * products in that precision, f32 accumulation. */
typedef struct vgen_gemm_desc {
    int64_t m, k, n, ldb, ldy;
    vgen_dtype dt;
} vgen_gemm_desc;

typedef struct vgen_gemm vgen_gemm;
int vgen_gemm_new(vgen_gemm **out, vgen_err *err);
void vgen_gemm_free(vgen_gemm **g);
int vgen_gemm_run(vgen_gemm *g, const vgen_gemm_desc *d, const void *a, const void *b, float *y, vgen_err *err);

#endif

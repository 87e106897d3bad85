/* ops_conv3d_avx512.c - conv3d as a blocked implicit GEMM with AVX-512 kernels, all on the thread pool.
 *
 * y[Cout, P] = W[Cout, K] col[K, P] + bias (col as in ops_cpu.h), computed in 4 x 64 register tiles (4 output
 * channels x 64 positions, 16 zmm accumulators) into an f32 tile C [Cout, positions] per task, then bias and the
 * store in y's dtype. Two ways to feed the kernels:
 *
 * Slab (unit W stride: every conv of Wan's VAE). One task = a segment of up to NT positions of one output row
 * (to, ho). For a chunk of input channels, the task copies the kt x kh input rows its taps touch, zero-padded
 * to NT + kw - 1 columns (the slab; bf16: channel pairs interleaved into 32-bit words, the vdpbf16ps operand),
 * and the kernel reads tap (a, b, c) as the slab row (a, b) shifted by c: 3x less copying than im2col for 3x3x3 and
 * no per-tap index arithmetic. The weights are packed [Cout'][tap][Cin'] to match.
 *
 * im2col (strided W, e.g. the DiT patch embedding). One task = NT consecutive output positions:
 * for each chunk of K (KC rows: the col chunk is 256 KB, L2-resident) the task builds that chunk of col with
 * im2col (ops_conv3d_col.c), then multiplies every block of 4 output channels into an f32 tile C [Cout, NT] with
 * 4 x 64 register tiles (16 zmm accumulators), accumulating over the chunks; finally it adds the bias and stores
 * its columns of y in y's dtype. The im2col runs right before the GEMM that reads it, on the same thread, so col
 * is read from L2, and there is no hand-off between thread systems.
 * bf16 operands (x and w both bf16, AVX512-BF16): col chunks hold bf16 pairs along K (vdpbf16ps operands), exact
 * products, f32 sums. Otherwise f32 (bf16 inputs widened exactly).
 * Memory: the packed weights [Cout', K'] (Cout' = Cout rounded up to 4, K' = K rounded up to 2) and, per thread,
 * 256 KB of col plus the C tile [Cout', NT] f32 (196 KB at Cout = 384). */
#include <stdlib.h>
#include <string.h>

#include "cpu/ops_cpu.h"
#include "ref/ops_ref.h"
#include "threadpool.h"

#if defined(VGEN_HAVE_X86)

#define NT 128       /* output positions per task: two 64-wide column blocks */
#define KC 512       /* K per chunk in 32-bit words: bf16 pairs (1024 K values) or f32 values */
#define R 4          /* output channels per register tile */

typedef struct blk_job {
    const vgen_conv_src *s;
    int bf16;
    int64_t kdim, kw;        /* K; K in 32-bit words (bf16: K' / 2 pairs) */
    int64_t cout, cout_p;
    int64_t npos;
    const float *bias;
    vgen_tensor *y;
    void *a;                 /* [cout_p][kw] words: bf16 pairs along K, or f32 */
    char *scratch;           /* [threads][per_thread] */
    size_t per_thread;
} blk_job;

/* ---- kernels: c[4][64] (row stride ldc) (+)= a[4][n] (row stride lda) . b[n][64] (row stride ldb) ---- */

VGEN_AVX512_BF16 static void kern_bf16(const uint32_t *a, int64_t lda, const uint32_t *b, int64_t ldb, int64_t n,
                                       float *c, int64_t ldc, int first) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) acc[r][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + r * ldc + 16 * j);
    for (int64_t q = 0; q < n; q++) {
        const uint32_t *br = b + q * ldb;
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(br), b1 = (__m512bh)_mm512_loadu_si512(br + 16);
        const __m512bh b2 = (__m512bh)_mm512_loadu_si512(br + 32), b3 = (__m512bh)_mm512_loadu_si512(br + 48);
        for (int r = 0; r < R; r++) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * lda + q]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
            acc[r][2] = _mm512_dpbf16_ps(acc[r][2], x, b2);
            acc[r][3] = _mm512_dpbf16_ps(acc[r][3], x, b3);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) _mm512_storeu_ps(c + r * ldc + 16 * j, acc[r][j]);
}

VGEN_AVX512 static void kern_f32(const float *a, int64_t lda, const float *b, int64_t ldb, int64_t n, float *c,
                                 int64_t ldc, int first) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) acc[r][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + r * ldc + 16 * j);
    for (int64_t k = 0; k < n; k++) {
        const float *br = b + k * ldb;
        const __m512 b0 = _mm512_loadu_ps(br), b1 = _mm512_loadu_ps(br + 16);
        const __m512 b2 = _mm512_loadu_ps(br + 32), b3 = _mm512_loadu_ps(br + 48);
        for (int r = 0; r < R; r++) {
            const __m512 x = _mm512_set1_ps(a[r * lda + k]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(x, b2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(x, b3, acc[r][3]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) _mm512_storeu_ps(c + r * ldc + 16 * j, acc[r][j]);
}

/* ---- col chunks ---- */

/* dst[i] = a[i] | b[i] << 16 for i < n (n a multiple of 32). */
VGEN_AVX512 static void interleave16(const uint16_t *a, const uint16_t *b, int64_t n, uint32_t *dst) {
    uint16_t lo[32], hi[32];
    for (int i = 0; i < 32; i++) {
        lo[i] = (uint16_t)(i / 2 + (i & 1 ? 32 : 0));
        hi[i] = (uint16_t)(16 + i / 2 + (i & 1 ? 32 : 0));
    }
    const __m512i li = _mm512_loadu_si512(lo), hix = _mm512_loadu_si512(hi);
    for (int64_t i = 0; i < n; i += 32) {
        const __m512i x = _mm512_loadu_si512(a + i), y = _mm512_loadu_si512(b + i);
        _mm512_storeu_si512(dst + i, _mm512_permutex2var_epi16(x, li, y));
        _mm512_storeu_si512(dst + i + 16, _mm512_permutex2var_epi16(x, hix, y));
    }
}

/* col words [q0, q0 + nq) for positions [p0, p0 + np), row stride NT, zero past np (and past K). */
static void col_chunk(const blk_job *j, int64_t q0, int64_t nq, int64_t p0, int64_t np, uint32_t *col, uint16_t *rows) {
    for (int64_t q = 0; q < nq; q++) {
        uint32_t *dst = col + q * NT;
        if (!j->bf16) {
            float *f = (float *)dst;
            vgen_conv_col_row(j->s, q0 + q, p0, np, f);
            memset(f + np, 0, (size_t)(NT - np) * sizeof *f);
            continue;
        }
        uint16_t *ra = rows, *rb = rows + NT;
        memset(rows, 0, 2 * NT * sizeof *rows);
        const int64_t k = 2 * (q0 + q);
        vgen_conv_col_row(j->s, k, p0, np, ra);
        if (k + 1 < j->kdim) vgen_conv_col_row(j->s, k + 1, p0, np, rb);
        interleave16(ra, rb, NT, dst);
    }
}

/* ---- tasks ---- */

static void tile_task(void *arg, int64_t t, int thread) {
    const blk_job *j = arg;
    char *base = j->scratch + (size_t)thread * j->per_thread;
    uint32_t *col = (uint32_t *)base;
    uint16_t *rows = (uint16_t *)(base + (size_t)KC * NT * 4);
    float *c = (float *)(base + (size_t)KC * NT * 4 + 2 * NT * sizeof(uint16_t));
    const int64_t p0 = t * NT, np = j->npos - p0 < NT ? j->npos - p0 : NT, ncb = (np + 63) / 64;
    for (int64_t q0 = 0; q0 < j->kw; q0 += KC) {
        const int64_t nq = j->kw - q0 < KC ? j->kw - q0 : KC;
        col_chunk(j, q0, nq, p0, np, col, rows);
        for (int64_t co = 0; co < j->cout_p; co += R) {
            for (int64_t cb = 0; cb < ncb; cb++) {
                float *ct = c + co * NT + cb * 64;
                if (j->bf16)
                    kern_bf16((const uint32_t *)j->a + co * j->kw + q0, j->kw, col + cb * 64, NT, nq, ct, NT, q0 == 0);
                else
                    kern_f32((const float *)j->a + co * j->kw + q0, j->kw, (const float *)col + cb * 64, NT, nq, ct,
                             NT, q0 == 0);
            }
        }
    }
    for (int64_t co = 0; co < j->cout; co++) {
        float *row = c + co * NT;
        if (j->bias)
            for (int64_t i = 0; i < np; i++) row[i] += j->bias[co];
        vgen_cpu_store_f32(row, np, j->y->dtype, j->y->data, co * j->npos + p0, j->s->simd);
    }
}

/* ---- slab path (unit W stride) ---- */

#define SLAB_BYTES (256u << 10) /* slab chunk per thread */

typedef struct slab_job {
    const vgen_conv_src *s;
    int bf16;
    int64_t cw;              /* channel words: pairs of input channels (bf16) or channels (f32) */
    int64_t ntap, nrow;      /* kt kh kw taps; kt kh slab rows per channel word */
    int64_t ntw;             /* slab row stride: NT + kw - 1 rounded up to 32 */
    int64_t segs, chunk;     /* tasks per output row; channel words per slab chunk */
    int64_t cout, cout_p, npos;
    const float *bias;
    vgen_tensor *y;
    void *a;                 /* [cout_p / 4][chunks][ntap][chunk][4] words: weight panels in kernel order */
    int64_t *b_tap;          /* [ntap] word offset of each tap in a slab channel block */
    char *scratch;           /* [threads][per_thread] */
    size_t per_thread;
} slab_job;

/* c[4][16 nc] (+)= sum over taps and m < nm of a[(tap nm + m) 4 + r] b[b_tap[tap] + m ldb][..]: bf16 pairs.
 * a is the weight panel of 4 output channels and one channel chunk, in the order the loop reads it. */
VGEN_AVX512_BF16 static inline __attribute__((always_inline)) void
slab_bf16_4xn(const uint32_t *a, const uint32_t *b, int64_t ldb, const int64_t *b_tap, int64_t ntap, int64_t nm,
              float *c, int64_t ldc, int first, const int nc) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < nc; j++) acc[r][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + r * ldc + 16 * j);
    for (int64_t tap = 0; tap < ntap; tap++) {
        const uint32_t *ap = a + tap * nm * R, *bp = b + b_tap[tap];
        for (int64_t m = 0; m < nm; m++) {
            __m512bh bv[4];
            for (int j = 0; j < nc; j++) bv[j] = (__m512bh)_mm512_loadu_si512(bp + m * ldb + 16 * j);
            for (int r = 0; r < R; r++) {
                const __m512bh x = (__m512bh)_mm512_set1_epi32((int)ap[m * R + r]);
                for (int j = 0; j < nc; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], x, bv[j]);
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < nc; j++) _mm512_storeu_ps(c + r * ldc + 16 * j, acc[r][j]);
}

VGEN_AVX512_BF16 static void slab_bf16(const uint32_t *a, const uint32_t *b, int64_t ldb, const int64_t *b_tap,
                                       int64_t ntap, int64_t nm, float *c, int64_t ldc, int first, int nc) {
    switch (nc) {
    case 4: slab_bf16_4xn(a, b, ldb, b_tap, ntap, nm, c, ldc, first, 4); break;
    case 3: slab_bf16_4xn(a, b, ldb, b_tap, ntap, nm, c, ldc, first, 3); break;
    case 2: slab_bf16_4xn(a, b, ldb, b_tap, ntap, nm, c, ldc, first, 2); break;
    default: slab_bf16_4xn(a, b, ldb, b_tap, ntap, nm, c, ldc, first, 1); break;
    }
}

VGEN_AVX512 static inline __attribute__((always_inline)) void
slab_f32_4xn(const float *a, const float *b, int64_t ldb, const int64_t *b_tap, int64_t ntap, int64_t nm, float *c,
             int64_t ldc, int first, const int nc) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < nc; j++) acc[r][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + r * ldc + 16 * j);
    for (int64_t tap = 0; tap < ntap; tap++) {
        const float *ap = a + tap * nm * R, *bp = b + b_tap[tap];
        for (int64_t m = 0; m < nm; m++) {
            __m512 bv[4];
            for (int j = 0; j < nc; j++) bv[j] = _mm512_loadu_ps(bp + m * ldb + 16 * j);
            for (int r = 0; r < R; r++) {
                const __m512 x = _mm512_set1_ps(ap[m * R + r]);
                for (int j = 0; j < nc; j++) acc[r][j] = _mm512_fmadd_ps(x, bv[j], acc[r][j]);
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < nc; j++) _mm512_storeu_ps(c + r * ldc + 16 * j, acc[r][j]);
}

VGEN_AVX512 static void slab_f32(const float *a, const float *b, int64_t ldb, const int64_t *b_tap, int64_t ntap,
                                 int64_t nm, float *c, int64_t ldc, int first, int nc) {
    switch (nc) {
    case 4: slab_f32_4xn(a, b, ldb, b_tap, ntap, nm, c, ldc, first, 4); break;
    case 3: slab_f32_4xn(a, b, ldb, b_tap, ntap, nm, c, ldc, first, 3); break;
    case 2: slab_f32_4xn(a, b, ldb, b_tap, ntap, nm, c, ldc, first, 2); break;
    default: slab_f32_4xn(a, b, ldb, b_tap, ntap, nm, c, ldc, first, 1); break;
    }
}

/* One slab row: input channel ci, frame t, row h, columns w = w0 - pw + i for i < ntw (zero outside x), in dtype
 * cdt at dst. */
static void slab_row(const vgen_conv_src *s, int64_t ci, int64_t t, int64_t h, int64_t w0, int64_t ntw, void *dst,
                     vgen_dtype cdt) {
    const vgen_conv3d_dims *g = &s->g;
    const size_t es = vgen_dtype_size(cdt);
    memset(dst, 0, (size_t)ntw * es);
    if (ci >= g->cin || t < 0 || t >= g->f || h < 0 || h >= g->h) return;
    const int64_t lo = g->pw - w0 > 0 ? g->pw - w0 : 0, hi = g->w + g->pw - w0 < ntw ? g->w + g->pw - w0 : ntw;
    if (hi <= lo) return;
    const int64_t src = ((ci * g->f + t) * g->h + h) * g->w + w0 - g->pw + lo;
    char *d = (char *)dst + (size_t)lo * es;
    if (s->x->dtype == cdt) memcpy(d, (const char *)s->x->data + (size_t)src * es, (size_t)(hi - lo) * es);
    else vgen_cpu_load_f32(s->x->data, s->x->dtype, src, hi - lo, (float *)d, s->simd);
}

/* Slab channel words [m0, m0 + nm) for output row (to, ho), columns from w0. */
static void slab_build(const slab_job *j, int64_t m0, int64_t nm, int64_t to, int64_t ho, int64_t w0, uint32_t *slab,
                       uint16_t *rows) {
    const vgen_conv3d_dims *g = &j->s->g;
    for (int64_t m = 0; m < nm; m++) {
        for (int64_t a = 0; a < g->kt; a++) {
            for (int64_t b = 0; b < g->kh; b++) {
                const int64_t t = to * g->st + a - g->pt, h = ho * g->sh + b - g->ph;
                uint32_t *dst = slab + (m * j->nrow + a * g->kh + b) * j->ntw;
                if (!j->bf16) {
                    slab_row(j->s, m0 + m, t, h, w0, j->ntw, dst, VGEN_DTYPE_F32);
                    continue;
                }
                slab_row(j->s, 2 * (m0 + m), t, h, w0, j->ntw, rows, VGEN_DTYPE_BF16);
                slab_row(j->s, 2 * (m0 + m) + 1, t, h, w0, j->ntw, rows + j->ntw, VGEN_DTYPE_BF16);
                interleave16(rows, rows + j->ntw, j->ntw, dst);
            }
        }
    }
}

static void slab_task(void *arg, int64_t task, int thread) {
    const slab_job *j = arg;
    const vgen_conv3d_dims *g = &j->s->g;
    char *base = j->scratch + (size_t)thread * j->per_thread;
    uint32_t *slab = (uint32_t *)base;
    uint16_t *rows = (uint16_t *)(base + (size_t)(j->chunk * j->nrow * j->ntw) * 4);
    float *c = (float *)((char *)rows + (size_t)j->ntw * 2 * sizeof *rows);
    const int64_t seg = task % j->segs, row = task / j->segs, ho = row % g->ho, to = row / g->ho;
    const int64_t w0 = seg * NT, np = g->wo - w0 < NT ? g->wo - w0 : NT;
    const int64_t ldb = j->nrow * j->ntw;
    for (int64_t m0 = 0; m0 < j->cw; m0 += j->chunk) {
        const int64_t nm = j->cw - m0 < j->chunk ? j->cw - m0 : j->chunk;
        slab_build(j, m0, nm, to, ho, w0, slab, rows);
        for (int64_t co = 0; co < j->cout_p; co += R) {
            for (int64_t cb = 0; cb < np; cb += 64) {
                const int nc = (int)((np - cb + 15) / 16 < 4 ? (np - cb + 15) / 16 : 4);
                float *ct = c + co * NT + cb;
                const size_t panel = (size_t)(co * j->ntap * j->cw + m0 * j->ntap * R); /* words */
                if (j->bf16)
                    slab_bf16((const uint32_t *)j->a + panel, slab + cb, ldb, j->b_tap, j->ntap, nm, ct, NT, m0 == 0,
                              nc);
                else
                    slab_f32((const float *)j->a + panel, (const float *)slab + cb, ldb, j->b_tap, j->ntap, nm, ct,
                             NT, m0 == 0, nc);
            }
        }
    }
    const int64_t p0 = row * g->wo + w0;
    for (int64_t co = 0; co < j->cout; co++) {
        float *r = c + co * NT;
        if (j->bias)
            for (int64_t i = 0; i < np; i++) r[i] += j->bias[co];
        vgen_cpu_store_f32(r, np, j->y->dtype, j->y->data, co * j->npos + p0, j->s->simd);
    }
}

/* Word index in a of output channel co, channel word m, tap: panels of R channels x one chunk, each [tap][m][r]. */
static size_t panel_index(const slab_job *j, int64_t co, int64_t m, int64_t tap) {
    const int64_t blk = co / R, r = co % R, m0 = m / j->chunk * j->chunk;
    const int64_t nm = j->cw - m0 < j->chunk ? j->cw - m0 : j->chunk;
    return (size_t)(blk * R * j->ntap * j->cw + m0 * j->ntap * R + (tap * nm + (m - m0)) * R + r);
}

/* a: the weights w [Cout, Cin, taps] as panels (bf16 pairs of input channels, or f32), zero-padded. */
static void slab_weights(const slab_job *j, const vgen_tensor *w) {
    const vgen_conv3d_dims *g = &j->s->g;
    memset(j->a, 0, (size_t)(j->cout_p * j->ntap * j->cw) * 4);
    for (int64_t co = 0; co < j->cout; co++)
        for (int64_t ci = 0; ci < g->cin; ci++)
            for (int64_t tap = 0; tap < j->ntap; tap++) {
                const int64_t wi = (co * g->cin + ci) * j->ntap + tap;
                if (j->bf16) {
                    const size_t ai = panel_index(j, co, ci / 2, tap);
                    ((uint16_t *)j->a)[2 * ai + (size_t)(ci & 1)] = ((const uint16_t *)w->data)[wi];
                } else {
                    ((float *)j->a)[panel_index(j, co, ci, tap)] = vgen_ops_get(w->data, w->dtype, wi);
                }
            }
}

static int slab_alloc(slab_job *j, int threads, vgen_err *err) {
    j->per_thread = (size_t)(j->chunk * j->nrow * j->ntw) * 4 + (size_t)j->ntw * 2 * sizeof(uint16_t) +
                    (size_t)j->cout_p * NT * sizeof(float);
    j->a = vgen_cpu_alloc((size_t)(j->cout_p * j->ntap * j->cw) * 4);
    j->b_tap = malloc((size_t)j->ntap * sizeof *j->b_tap);
    j->scratch = vgen_cpu_alloc((size_t)threads * j->per_thread);
    if (j->a && j->b_tap && j->scratch) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cpu conv3d: cannot allocate weights [%lld, %lld, %lld] and %d "
                        "slabs of %zu bytes", (long long)j->cout_p, (long long)j->ntap, (long long)j->cw, threads,
                        j->per_thread);
}

static int conv3d_slab(vgen_backend *be, const vgen_conv_src *s, const vgen_tensor *w, const float *bias,
                       vgen_tensor *y, vgen_err *err) {
    const vgen_conv3d_dims *g = &s->g;
    slab_job j = {.s = s, .bf16 = s->cdt == VGEN_DTYPE_BF16, .bias = bias, .y = y, .cout = g->cout};
    j.cw = j.bf16 ? (g->cin + 1) / 2 : g->cin;
    j.ntap = g->kt * g->kh * g->kw;
    j.nrow = g->kt * g->kh;
    j.ntw = (NT + g->kw - 1 + 31) / 32 * 32;
    j.segs = (g->wo + NT - 1) / NT;
    j.chunk = (int64_t)(SLAB_BYTES / ((size_t)(j.nrow * j.ntw) * 4));
    j.chunk = j.chunk < 1 ? 1 : j.chunk > j.cw ? j.cw : j.chunk;
    j.cout_p = (g->cout + R - 1) / R * R;
    j.npos = g->fo * g->ho * g->wo;
    const int threads = vgen_threadpool_size(be->pool);
    int rc = slab_alloc(&j, threads, err);
    if (!rc) {
        for (int64_t a = 0; a < g->kt; a++)
            for (int64_t b = 0; b < g->kh; b++)
                for (int64_t c = 0; c < g->kw; c++) {
                    j.b_tap[(a * g->kh + b) * g->kw + c] = (a * g->kh + b) * j.ntw + c;
                }
        slab_weights(&j, w);
        vgen_threadpool_for(be->pool, g->fo * g->ho * j.segs, slab_task, &j);
    }
    free(j.a);
    free(j.b_tap);
    free(j.scratch);
    return rc;
}

/* ---- im2col path ---- */

/* a [cout_p][kw] words from w [Cout, K]: bf16 bits (pairs along K, K padded to even) or f32, zero-padded rows. */
static void pack_weights(const blk_job *j, const vgen_tensor *w) {
    const size_t row_bytes = (size_t)j->kw * 4;
    for (int64_t co = 0; co < j->cout_p; co++) {
        char *dst = (char *)j->a + (size_t)co * row_bytes;
        memset(dst, 0, row_bytes);
        if (co >= j->cout) continue;
        if (j->bf16) memcpy(dst, (const uint16_t *)w->data + co * j->kdim, (size_t)j->kdim * 2);
        else vgen_cpu_load_f32(w->data, w->dtype, co * j->kdim, j->kdim, (float *)dst, j->s->simd);
    }
}

static int conv3d_im2col(vgen_backend *be, const vgen_conv_src *s, const vgen_tensor *w, const float *bias,
                         vgen_tensor *y, vgen_err *err) {
    const vgen_conv3d_dims *g = &s->g;
    blk_job j = {.s = s, .bf16 = s->cdt == VGEN_DTYPE_BF16, .bias = bias, .y = y};
    j.kdim = g->cin * g->kt * g->kh * g->kw;
    j.kw = j.bf16 ? (j.kdim + 1) / 2 : j.kdim;
    j.cout = g->cout;
    j.cout_p = (g->cout + R - 1) / R * R;
    j.npos = g->fo * g->ho * g->wo;
    const int threads = vgen_threadpool_size(be->pool);
    j.per_thread = (size_t)KC * NT * 4 + 2 * NT * sizeof(uint16_t) + (size_t)j.cout_p * NT * sizeof(float);
    j.a = vgen_cpu_alloc((size_t)(j.cout_p * j.kw) * 4);
    j.scratch = vgen_cpu_alloc((size_t)threads * j.per_thread);
    if (!j.a || !j.scratch) {
        free(j.a);
        free(j.scratch);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cpu conv3d: cannot allocate weights [%lld, %lld] and %d "
                            "tiles of %zu bytes", (long long)j.cout_p, (long long)j.kw, threads, j.per_thread);
    }
    pack_weights(&j, w);
    vgen_threadpool_for(be->pool, (j.npos + NT - 1) / NT, tile_task, &j);
    free(j.a);
    free(j.scratch);
    return VGEN_OK;
}

int vgen_conv3d_blocked(vgen_backend *be, const vgen_conv_src *s, const vgen_tensor *w, const float *bias,
                        vgen_tensor *y, vgen_err *err) {
    if (s->g.sw == 1) return conv3d_slab(be, s, w, bias, y, err);
    return conv3d_im2col(be, s, w, bias, y, err);
}

#else

int vgen_conv3d_blocked(vgen_backend *be, const vgen_conv_src *s, const vgen_tensor *w, const float *bias,
                        vgen_tensor *y, vgen_err *err) {
    (void)be, (void)s, (void)w, (void)bias, (void)y;
    return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "cpu conv3d: the blocked path needs AVX-512");
}

#endif

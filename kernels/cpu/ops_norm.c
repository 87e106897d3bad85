/* ops_norm.c - layer_norm, rms_norm and channel_rms_norm (backend.h) on the thread pool.
 *
 * Row norms: groups of rows per task; each row is staged as f32 in a per-thread buffer [D], its statistics are
 * summed in double (AVX-512: 8 double lanes; the mean of a constant row is then exact, so LN of a constant row
 * is exactly b), and the finalization (1 / sqrt(var + eps), then the normalisation and affine terms) is
 * core/elem_math.h's f32 formula, which the AVX-512 apply loop repeats operation for operation.
 * channel_rms_norm, x [C, S]: tasks over blocks of CH_BLOCK positions; the sums of squares over C are accumulated
 * in f32 for the whole block (contiguous along s, so they vectorise), then each channel row of the block is scaled
 * (elem_math.h's factor and apply).
 * y may be x: a row (a block) is read in full before it is written. */
#include <math.h>
#include <stdlib.h>

#include "cpu/ops_cpu.h"
#include "elem_math.h"
#include "ref/ops_ref.h"
#include "threadpool.h"

#define CH_BLOCK 256

typedef enum norm_kind { NORM_LAYER, NORM_RMS } norm_kind;

typedef struct norm_job {
    norm_kind kind;
    const vgen_tensor *x;
    vgen_tensor *y;
    const float *w, *b, *shift, *scale;
    float eps;
    int64_t m, d, rows_per_task;
    float *rows; /* [n_threads][d] */
    int simd;
} norm_job;

/* ---- sums in double ---- */

#if defined(VGEN_HAVE_X86)
/* sum_i (x[i] - c) and sum_i (x[i] - c)^2, each in double. */
VGEN_AVX512 static void sums_avx512(const float *x, int64_t n, double c, double *s1, double *s2) {
    __m512d a1 = _mm512_setzero_pd(), a2 = _mm512_setzero_pd(), vc = _mm512_set1_pd(c);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d v = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), vc);
        a1 = _mm512_add_pd(a1, v);
        a2 = _mm512_fmadd_pd(v, v, a2);
    }
    double r1 = _mm512_reduce_add_pd(a1), r2 = _mm512_reduce_add_pd(a2);
    for (; i < n; i++) {
        double v = (double)x[i] - c;
        r1 += v;
        r2 += v * v;
    }
    *s1 = r1;
    *s2 = r2;
}
#endif

static void sums(const float *x, int64_t n, double c, double *s1, double *s2, int simd) {
#if defined(VGEN_HAVE_X86)
    if (simd >= VGEN_SIMD_AVX512) {
        sums_avx512(x, n, c, s1, s2);
        return;
    }
#endif
    (void)simd;
    double a1 = 0.0, a2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = (double)x[i] - c;
        a1 += v;
        a2 += v * v;
    }
    *s1 = a1;
    *s2 = a2;
}

/* ---- one row ---- */

#if defined(VGEN_HAVE_X86)
/* layer_norm_apply in one pass, 16 lanes at a time (vgen_layer_norm_apply's operations in the same order; absent
 * terms are skipped, which gives the same values as their neutral ones). */
VGEN_AVX512 static void layer_norm_apply_avx512(const norm_job *j, float *r, float mean, float inv) {
    const __m512 vm = _mm512_set1_ps(mean), vi = _mm512_set1_ps(inv), one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < j->d; i += 16) {
        const __mmask16 k = vgen_mask16(j->d - i);
        __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, r + i), vm), vi);
        if (j->w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(k, j->w + i));
        if (j->b) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, j->b + i));
        if (j->scale) v = _mm512_mul_ps(v, _mm512_add_ps(one, _mm512_maskz_loadu_ps(k, j->scale + i)));
        if (j->shift) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, j->shift + i));
        _mm512_mask_storeu_ps(r + i, k, v);
    }
}
#endif

/* r[i] = (r[i] - mean) * inv, then the affine and modulation terms that are present. */
static void layer_norm_apply(const norm_job *j, float *r, float mean, float inv) {
    const int64_t d = j->d;
#if defined(VGEN_HAVE_X86)
    if (j->simd >= VGEN_SIMD_AVX512) {
        layer_norm_apply_avx512(j, r, mean, inv);
        return;
    }
#endif
    for (int64_t i = 0; i < d; i++)
        r[i] = vgen_layer_norm_apply(r[i], mean, inv, j->w ? j->w[i] : 1.0f, j->b ? j->b[i] : 0.0f,
                                     j->scale ? j->scale[i] : 0.0f, j->shift ? j->shift[i] : 0.0f);
}

static void norm_row(const norm_job *j, float *r) {
    const int64_t d = j->d;
    double s1, s2;
    if (j->kind == NORM_LAYER) {
        sums(r, d, 0.0, &s1, &s2, j->simd);
        const double mean = s1 / (double)d;
        sums(r, d, mean, &s1, &s2, j->simd); /* second pass about the mean: no cancellation */
        layer_norm_apply(j, r, (float)mean, vgen_norm_rstd((float)(s2 / (double)d), j->eps));
    } else {
        sums(r, d, 0.0, &s1, &s2, j->simd);
        const float inv = vgen_norm_rstd((float)(s2 / (double)d), j->eps);
        for (int64_t i = 0; i < d; i++) r[i] = vgen_rms_norm_apply(r[i], inv, j->w ? j->w[i] : 1.0f);
    }
}

static void norm_rows(void *arg, int64_t t, int thread) {
    const norm_job *j = arg;
    float *r = j->rows + (size_t)thread * (size_t)j->d;
    const int64_t r1 = (t + 1) * j->rows_per_task < j->m ? (t + 1) * j->rows_per_task : j->m;
    for (int64_t row = t * j->rows_per_task; row < r1; row++) {
        vgen_cpu_load_f32(j->x->data, j->x->dtype, row * j->d, j->d, r, j->simd);
        norm_row(j, r);
        vgen_cpu_store_f32(r, j->d, j->y->dtype, j->y->data, row * j->d, j->simd);
    }
}

static int norm_launch(vgen_backend *be, norm_job *j, const char *who, vgen_err *err) {
    if (j->m * j->d == 0) return VGEN_OK;
    const size_t threads = (size_t)vgen_threadpool_size(be->pool);
    j->rows = vgen_cpu_alloc(threads * (size_t)j->d * sizeof(float));
    if (!j->rows) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu rows of %lld floats", who,
                                      threads, (long long)j->d);
    j->rows_per_task = j->d >= VGEN_CPU_CHUNK ? 1 : VGEN_CPU_CHUNK / j->d;
    vgen_threadpool_for(be->pool, (j->m + j->rows_per_task - 1) / j->rows_per_task, norm_rows, j);
    free(j->rows);
    return VGEN_OK;
}

static int layer_norm_run(vgen_backend *be, const vgen_tensor *x, const float *w, const float *b, const float *shift,
                          const float *scale, float eps, vgen_tensor *y, int simd, vgen_err *err) {
    norm_job j = {.kind = NORM_LAYER, .x = x, .y = y, .w = w, .b = b, .shift = shift, .scale = scale, .eps = eps,
                  .simd = simd};
    int rc = vgen_ops_check_rows("cpu layer_norm", VGEN_DEVICE_CPU, x, y, &j.m, &j.d, err);
    return rc ? rc : norm_launch(be, &j, "cpu layer_norm", err);
}

static int rms_norm_run(vgen_backend *be, const vgen_tensor *x, const float *w, float eps, vgen_tensor *y, int simd,
                        vgen_err *err) {
    norm_job j = {.kind = NORM_RMS, .x = x, .y = y, .w = w, .eps = eps, .simd = simd};
    int rc = vgen_ops_check_rows("cpu rms_norm", VGEN_DEVICE_CPU, x, y, &j.m, &j.d, err);
    return rc ? rc : norm_launch(be, &j, "cpu rms_norm", err);
}

/* ---- channel_rms_norm ---- */

typedef struct chan_job {
    const vgen_tensor *x;
    vgen_tensor *y;
    const float *gamma, *bias;
    int64_t c, s;
    float root_c;
    float *bufs; /* [n_threads][2][CH_BLOCK]: a channel row of the block, and the per-position sums */
    int simd;
} chan_job;

static void chan_block(void *arg, int64_t blk, int thread) {
    const chan_job *j = arg;
    float *row = j->bufs + (size_t)thread * 2 * CH_BLOCK, *acc = row + CH_BLOCK;
    const int64_t s0 = blk * CH_BLOCK, n = j->s - s0 < CH_BLOCK ? j->s - s0 : CH_BLOCK;
    for (int64_t i = 0; i < n; i++) acc[i] = 0.0f;
    for (int64_t c = 0; c < j->c; c++) {
        vgen_cpu_load_f32(j->x->data, j->x->dtype, c * j->s + s0, n, row, j->simd);
        for (int64_t i = 0; i < n; i++) acc[i] += row[i] * row[i];
    }
    for (int64_t i = 0; i < n; i++) acc[i] = vgen_channel_rms_scale(acc[i], j->root_c);
    for (int64_t c = 0; c < j->c; c++) {
        vgen_cpu_load_f32(j->x->data, j->x->dtype, c * j->s + s0, n, row, j->simd);
        const float g = j->gamma[c], b = j->bias ? j->bias[c] : 0.0f;
        for (int64_t i = 0; i < n; i++) row[i] = vgen_channel_rms_apply(row[i], acc[i], g, b);
        vgen_cpu_store_f32(row, n, j->y->dtype, j->y->data, c * j->s + s0, j->simd);
    }
}

static int channel_rms_norm_run(vgen_backend *be, const vgen_tensor *x, const float *gamma, const float *bias,
                                vgen_tensor *y, int simd, vgen_err *err) {
    chan_job j = {.x = x, .y = y, .gamma = gamma, .bias = bias, .simd = simd};
    int rc = vgen_ops_check_channels("cpu channel_rms_norm", VGEN_DEVICE_CPU, x, gamma, y, &j.c, &j.s, err);
    if (rc || j.c * j.s == 0) return rc;
    j.root_c = sqrtf((float)j.c);
    const size_t threads = (size_t)vgen_threadpool_size(be->pool);
    j.bufs = vgen_cpu_alloc(threads * 2 * CH_BLOCK * sizeof(float));
    if (!j.bufs) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cpu channel_rms_norm: cannot allocate buffers");
    vgen_threadpool_for(be->pool, (j.s + CH_BLOCK - 1) / CH_BLOCK, chan_block, &j);
    free(j.bufs);
    return VGEN_OK;
}

/* ---- entry points ---- */

static int cpu_layer_norm(vgen_backend *be, const vgen_tensor *x, const float *w, const float *b, const float *shift,
                          const float *scale, float eps, vgen_tensor *y, vgen_err *err) {
    return layer_norm_run(be, x, w, b, shift, scale, eps, y, vgen_cpu_simd_level(), err);
}

static int cpu_layer_norm_portable(vgen_backend *be, const vgen_tensor *x, const float *w, const float *b,
                                   const float *shift, const float *scale, float eps, vgen_tensor *y, vgen_err *err) {
    return layer_norm_run(be, x, w, b, shift, scale, eps, y, VGEN_SIMD_NONE, err);
}

static int cpu_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *w, float eps, vgen_tensor *y,
                        vgen_err *err) {
    return rms_norm_run(be, x, w, eps, y, vgen_cpu_simd_level(), err);
}

static int cpu_rms_norm_portable(vgen_backend *be, const vgen_tensor *x, const float *w, float eps, vgen_tensor *y,
                                 vgen_err *err) {
    return rms_norm_run(be, x, w, eps, y, VGEN_SIMD_NONE, err);
}

static int cpu_channel_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *gamma, const float *bias,
                                vgen_tensor *y, vgen_err *err) {
    return channel_rms_norm_run(be, x, gamma, bias, y, vgen_cpu_simd_level(), err);
}

static int cpu_channel_rms_norm_portable(vgen_backend *be, const vgen_tensor *x, const float *gamma,
                                         const float *bias, vgen_tensor *y, vgen_err *err) {
    return channel_rms_norm_run(be, x, gamma, bias, y, VGEN_SIMD_NONE, err);
}

void vgen_cpu_norm_install(vgen_backend *be, int portable) {
    be->layer_norm = portable ? cpu_layer_norm_portable : cpu_layer_norm;
    be->rms_norm = portable ? cpu_rms_norm_portable : cpu_rms_norm;
    be->channel_rms_norm = portable ? cpu_channel_rms_norm_portable : cpu_channel_rms_norm;
}

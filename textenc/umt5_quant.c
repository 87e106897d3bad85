/* umt5_quant.c - quantize-on-load: one matrix in any stored format -> a model-owned matrix in format f, with
 * core/wformat.h's reference quantizer, in chunks of rows over the thread pool. Temporary memory is one chunk of f32
 * rows per thread, whatever the matrix size (the 256384 x 4096 embedding included), and the source rows' pages are
 * dropped as each chunk is consumed, so the resident set stays near the quantized size.
 *
 * Per-tensor formats need the whole matrix's amax: a first pass finds it, and the second quantizes each chunk with
 * one extra row holding amax, so the reference quantizer derives the same tensor scale (amax / qmax) for every chunk
 * that it would derive for the whole matrix; the extra row's codes are discarded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mmap_evict.h"
#include "umt5_internal.h"

#define UMT5_QUANT_CHUNK_ROWS 64

typedef struct quant_job {
    const vgen_qmatrix *src;   /* [N, K] */
    vgen_wformat f;
    int per_tensor;
    size_t row_bytes, src_row_bytes, scales_per_row, zeros_per_row;
    unsigned char *data;       /* [N, row_bytes] */
    float *scales;             /* NULL for plain formats */
    uint8_t *zeros;            /* NULL unless zero points */
    float *tmp;                /* [threads][(chunk + 1) * K] */
    unsigned char *qtmp;       /* [threads][(chunk + 1) * row_bytes] (per-tensor formats) */
    float *amax;               /* [threads] (per-tensor formats, pass 1) */
    float tensor_amax;
    int *rc;                   /* [threads] first failure of each thread */
    vgen_err *errs;            /* [threads] */
} quant_job;

static int64_t chunk_rows(const quant_job *j, int64_t i, int64_t *r0) {
    *r0 = i * UMT5_QUANT_CHUNK_ROWS;
    const int64_t left = j->src->rows - *r0;
    return left < UMT5_QUANT_CHUNK_ROWS ? left : UMT5_QUANT_CHUNK_ROWS;
}

static float *thread_tmp(const quant_job *j, int thread) {
    return j->tmp + (size_t)thread * (size_t)((UMT5_QUANT_CHUNK_ROWS + 1) * j->src->cols);
}

static void evict_rows(const quant_job *j, int64_t r0, int64_t nr) {
    vgen_mmap_evict((const unsigned char *)j->src->data + (size_t)r0 * j->src_row_bytes, (size_t)nr * j->src_row_bytes);
}

/* Pass 1 of a per-tensor format: the amax of a chunk. */
static void amax_task(void *arg, int64_t i, int thread) {
    quant_job *j = arg;
    int64_t r0, nr = chunk_rows(j, i, &r0);
    float *tmp = thread_tmp(j, thread); /* [nr, K] */
    vgen_wformat_dequantize_rows(j->src, r0, nr, tmp);
    float m = j->amax[thread];
    for (int64_t e = 0; e < nr * j->src->cols; e++) m = fmaxf(m, fabsf(tmp[e]));
    j->amax[thread] = m;
    evict_rows(j, r0, nr);
}

/* Quantizes rows [r0, r0 + nr) (in tmp) plus the amax row into the thread's scratch, keeping the first nr rows. */
static int quantize_per_tensor(quant_job *j, float *tmp, int64_t r0, int64_t nr, int thread) {
    const int64_t k = j->src->cols;
    unsigned char *q = j->qtmp + (size_t)thread * (size_t)(UMT5_QUANT_CHUNK_ROWS + 1) * j->row_bytes;
    float *extra = tmp + nr * k; /* [K]: amax, 0, 0, ... */
    memset(extra, 0, (size_t)k * sizeof *extra);
    extra[0] = j->tensor_amax;
    float s;
    int rc = vgen_wformat_quantize(j->f, tmp, nr + 1, k, q, &s, NULL, &j->errs[thread]);
    if (rc) return rc;
    memcpy(j->data + (size_t)r0 * j->row_bytes, q, (size_t)nr * j->row_bytes);
    if (r0 == 0) j->scales[0] = s;
    return VGEN_OK;
}

static void quant_task(void *arg, int64_t i, int thread) {
    quant_job *j = arg;
    if (j->rc[thread]) return;
    int64_t r0, nr = chunk_rows(j, i, &r0);
    float *tmp = thread_tmp(j, thread); /* [nr (+1), K] */
    vgen_wformat_dequantize_rows(j->src, r0, nr, tmp);
    if (j->per_tensor)
        j->rc[thread] = quantize_per_tensor(j, tmp, r0, nr, thread);
    else
        j->rc[thread] = vgen_wformat_quantize(j->f, tmp, nr, j->src->cols, j->data + (size_t)r0 * j->row_bytes,
                                              j->scales ? j->scales + (size_t)r0 * j->scales_per_row : NULL,
                                              j->zeros ? j->zeros + (size_t)r0 * j->zeros_per_row : NULL,
                                              &j->errs[thread]);
    if (j->rc[thread]) vgen_err_prefix(&j->errs[thread], "rows from %lld", (long long)r0);
    evict_rows(j, r0, nr);
}

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

static int alloc_scratch(quant_job *j, int threads) {
    const size_t rows = UMT5_QUANT_CHUNK_ROWS + 1;
    j->tmp = malloc((size_t)threads * rows * (size_t)j->src->cols * sizeof(float));
    j->rc = calloc((size_t)threads, sizeof *j->rc);
    j->errs = calloc((size_t)threads, sizeof *j->errs);
    j->amax = calloc((size_t)threads, sizeof *j->amax);
    if (j->per_tensor) j->qtmp = malloc((size_t)threads * rows * j->row_bytes);
    return j->tmp && j->rc && j->errs && j->amax && (!j->per_tensor || j->qtmp);
}

static void free_scratch(quant_job *j) {
    free(j->tmp);
    free(j->rc);
    free(j->errs);
    free(j->amax);
    free(j->qtmp);
}

static int run_job(quant_job *j, vgen_threadpool *pool, const char *name, vgen_err *err) {
    const int threads = pool ? vgen_threadpool_size(pool) : 1;
    const int64_t tasks = (j->src->rows + UMT5_QUANT_CHUNK_ROWS - 1) / UMT5_QUANT_CHUNK_ROWS;
    int rc = VGEN_OK;
    if (!alloc_scratch(j, threads)) {
        rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate quantization scratch for %s", name);
    } else {
        if (j->per_tensor) {
            vgen_threadpool_for(pool, tasks, amax_task, j);
            for (int t = 0; t < threads; t++) j->tensor_amax = fmaxf(j->tensor_amax, j->amax[t]);
        }
        vgen_threadpool_for(pool, tasks, quant_task, j);
        for (int t = 0; t < threads && !rc; t++)
            if (j->rc[t]) rc = vgen_err_set(err, j->rc[t], "quantizing %s: %s", name, j->errs[t].msg);
    }
    free_scratch(j);
    return rc;
}

int umt5_quantize_matrix(const vgen_qmatrix *src, vgen_wformat f, vgen_threadpool *pool, const char *name,
                         umt5_matrix *m, vgen_err *err) {
    const vgen_wformat_traits *tr = vgen_wformat_get(f);
    size_t data_b, n_scales, n_zeros;
    quant_job j = {.src = src, .f = f};
    if (!tr || vgen_wformat_data_bytes(f, src->rows, src->cols, &data_b) ||
        vgen_wformat_scale_count(f, src->rows, src->cols, &n_scales) ||
        vgen_wformat_zero_count(f, src->rows, src->cols, &n_zeros) ||
        vgen_wformat_row_bytes(f, src->cols, &j.row_bytes) ||
        vgen_wformat_row_bytes(src->format, src->cols, &j.src_row_bytes))
        return vgen_err_set(err, VGEN_ERR_SHAPE, "cannot quantize %s [%lld, %lld] to format %d", name,
                            (long long)src->rows, (long long)src->cols, (int)f);
    const size_t total = round64(data_b) + round64(n_scales * sizeof(float)) + round64(n_zeros);
    unsigned char *buf = aligned_alloc(64, total);
    if (!buf) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for %s", total, name);
    j.data = buf;
    if (n_scales) j.scales = (float *)(void *)(buf + round64(data_b));
    if (n_zeros) j.zeros = buf + round64(data_b) + round64(n_scales * sizeof(float));
    j.per_tensor = tr->scale_kind == VGEN_SCALE_TENSOR;
    j.scales_per_row = j.per_tensor ? 0 : n_scales / (size_t)src->rows;
    j.zeros_per_row = n_zeros / (size_t)src->rows;
    int rc = run_job(&j, pool, name, err);
    if (rc) {
        free(buf);
        return rc;
    }
    m->own = buf;
    m->own_bytes = total;
    m->w = (vgen_qmatrix){.format = f, .rows = src->rows, .cols = src->cols, .data = buf, .scales = j.scales,
                          .zeros = j.zeros};
    return VGEN_OK;
}

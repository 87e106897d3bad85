/* wan_quant.c - quantize-on-load: one linear weight in any stored format -> a model-owned matrix in format f, with
 * core/wformat.h's reference quantizer. Row formats go in chunks of rows over the thread pool (temporary memory:
 * one chunk of f32 rows per thread); per-tensor formats need the whole tensor's amax, so they go in one piece. */
#include <stdlib.h>
#include <string.h>

#include "wan_internal.h"

#define WAN_QUANT_CHUNK_ROWS 64

typedef struct quant_job {
    const vgen_qmatrix *src;   /* [N, K] */
    vgen_wformat f;
    int64_t chunk;             /* rows per task */
    size_t row_bytes, scales_per_row, zeros_per_row;
    unsigned char *data;       /* [N, row_bytes] */
    float *scales;             /* NULL for plain formats */
    uint8_t *zeros;            /* NULL unless zero points */
    float *tmp;                /* [threads][chunk * K] */
    int *rc;                   /* [threads] first failure of each thread */
    vgen_err *errs;            /* [threads] */
} quant_job;

static void quant_task(void *arg, int64_t i, int thread) {
    quant_job *j = arg;
    if (j->rc[thread]) return;
    const int64_t k = j->src->cols, r0 = i * j->chunk;
    const int64_t nr = j->src->rows - r0 < j->chunk ? j->src->rows - r0 : j->chunk;
    float *tmp = j->tmp + (size_t)thread * (size_t)(j->chunk * k); /* [nr, K] */
    vgen_wformat_dequantize_rows(j->src, r0, nr, tmp);
    j->rc[thread] = vgen_wformat_quantize(j->f, tmp, nr, k, j->data + (size_t)r0 * j->row_bytes,
                                          j->scales ? j->scales + (size_t)r0 * j->scales_per_row : NULL,
                                          j->zeros ? j->zeros + (size_t)r0 * j->zeros_per_row : NULL,
                                          &j->errs[thread]);
    if (j->rc[thread]) vgen_err_prefix(&j->errs[thread], "rows from %lld", (long long)r0);
}

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Sizes of the three arrays and the one block holding them (data, scales, zeros, each 64-aligned). */
static int plan_storage(vgen_wformat f, int64_t n, int64_t k, size_t *data, size_t *scales, size_t *zeros,
                        size_t *total) {
    if (vgen_wformat_data_bytes(f, n, k, data) || vgen_wformat_scale_count(f, n, k, scales) ||
        vgen_wformat_zero_count(f, n, k, zeros))
        return VGEN_ERR_SHAPE;
    *total = round64(*data) + round64(*scales * sizeof(float)) + round64(*zeros);
    return VGEN_OK;
}

static int run_job(quant_job *j, vgen_threadpool *pool, int threads, const char *name, vgen_err *err) {
    const int64_t rows = j->src->rows, k = j->src->cols;
    const int64_t tasks = (rows + j->chunk - 1) / j->chunk;
    j->tmp = malloc((size_t)threads * (size_t)(j->chunk * k) * sizeof(float));
    j->rc = calloc((size_t)threads, sizeof *j->rc);
    j->errs = calloc((size_t)threads, sizeof *j->errs);
    int rc = VGEN_OK;
    if (!j->tmp || !j->rc || !j->errs) {
        rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate quantization scratch for %s", name);
    } else {
        vgen_threadpool_for(threads > 1 ? pool : NULL, tasks, quant_task, j);
        for (int t = 0; t < threads && !rc; t++)
            if (j->rc[t]) rc = vgen_err_set(err, j->rc[t], "quantizing %s: %s", name, j->errs[t].msg);
    }
    free(j->tmp);
    free(j->rc);
    free(j->errs);
    return rc;
}

int wan_quantize_linear(const vgen_qmatrix *src, vgen_wformat f, vgen_threadpool *pool, const char *name,
                        wan_linear *lin, vgen_err *err) {
    const vgen_wformat_traits *tr = vgen_wformat_get(f);
    size_t data_b, n_scales, n_zeros, total;
    if (!tr || plan_storage(f, src->rows, src->cols, &data_b, &n_scales, &n_zeros, &total))
        return vgen_err_set(err, VGEN_ERR_SHAPE, "cannot quantize %s [%lld, %lld] to format %d", name,
                            (long long)src->rows, (long long)src->cols, (int)f);
    unsigned char *buf = aligned_alloc(64, total);
    if (!buf) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for %s", total, name);
    quant_job j = {.src = src, .f = f, .data = buf};
    vgen_wformat_row_bytes(f, src->cols, &j.row_bytes);
    if (n_scales) j.scales = (float *)(void *)(buf + round64(data_b));
    if (n_zeros) j.zeros = buf + round64(data_b) + round64(n_scales * sizeof(float));
    int threads = pool ? vgen_threadpool_size(pool) : 1;
    if (tr->scale_kind == VGEN_SCALE_TENSOR) {
        j.chunk = src->rows; /* one task: the scale needs the whole tensor */
        threads = 1;
    } else {
        j.chunk = WAN_QUANT_CHUNK_ROWS;
        j.scales_per_row = n_scales / (size_t)src->rows;
        j.zeros_per_row = n_zeros / (size_t)src->rows;
    }
    int rc = run_job(&j, pool, threads, name, err);
    if (rc) {
        free(buf);
        return rc;
    }
    lin->own = buf;
    lin->own_bytes = total;
    lin->w = (vgen_qmatrix){.format = f, .rows = src->rows, .cols = src->cols, .data = buf, .scales = j.scales,
                            .zeros = j.zeros};
    return VGEN_OK;
}

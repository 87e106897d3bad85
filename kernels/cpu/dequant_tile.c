/* dequant_tile.c - parallel dequantization of weight tiles (dequant_tile.h). */
#include "cpu/dequant_tile.h"

#include "cpu/dequant_row.h"
#include "numeric.h"

/* Elements per task: large enough to amortise the hand-off, small enough to balance two to dozens of threads. */
#define DEQUANT_TASK_ELEMS (64 * 1024)

typedef struct task_ctx {
    const vgen_dequant_job *job;
    int64_t rows_per_task;
} task_ctx;

/* Reference path: vgen_wformat_dequantize_rows into f32 (directly into the tile, or via rowbuf for bf16). */
static void row_reference(const vgen_dequant_job *job, int64_t i, int thread) {
    const int64_t kd = job->w->cols;
    if (job->dt == VGEN_DTYPE_F32) {
        vgen_wformat_dequantize_rows(job->w, job->r0 + i, 1, (float *)job->tile + i * kd);
        return;
    }
    float *tmp = job->rowbuf + (int64_t)thread * kd;
    uint16_t *out = (uint16_t *)job->tile + i * kd;
    vgen_wformat_dequantize_rows(job->w, job->r0 + i, 1, tmp);
    for (int64_t k = 0; k < kd; k++) out[k] = vgen_f32_to_bf16(tmp[k]);
}

static void dequant_task(void *arg, int64_t t, int thread) {
    const task_ctx *c = arg;
    const vgen_dequant_job *job = c->job;
    const size_t es = vgen_dtype_size(job->dt);
    int64_t i0 = t * c->rows_per_task, i1 = i0 + c->rows_per_task;
    if (i1 > job->nr) i1 = job->nr;
    for (int64_t i = i0; i < i1; i++) {
        void *out = (char *)job->tile + (size_t)(i * job->w->cols) * es;
        if (!job->simd || !vgen_dequant_row_avx512(job->w, job->r0 + i, job->dt, out)) row_reference(job, i, thread);
    }
}

void vgen_dequant_tile(vgen_threadpool *pool, const vgen_dequant_job *job) {
    if (job->nr <= 0) return;
    task_ctx c = {job, DEQUANT_TASK_ELEMS / job->w->cols};
    if (c.rows_per_task < 1) c.rows_per_task = 1;
    vgen_threadpool_for(pool, (job->nr + c.rows_per_task - 1) / c.rows_per_task, dequant_task, &c);
}

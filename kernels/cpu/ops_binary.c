/* ops_binary.c - binary (add, mul; b full or broadcast over rows) and gated_add (backend.h).
 * Groups of rows on the thread pool; each row in blocks staged through f32 buffers on the stack. binary computes
 * one f32 operation per element (the reference's value exactly); gated_add computes x + g * y in f32
 * (core/elem_math.h's vgen_gated_add1, the formula of every backend).
 * y may be a (or a full-shape b) for binary. */
#include "cpu/ops_cpu.h"
#include "elem_math.h"
#include "ref/ops_ref.h"
#include "threadpool.h"

#define ROW_BLOCK 512

typedef struct binary_job {
    vgen_binary_op op;
    const vgen_tensor *a, *b;
    vgen_tensor *y;
    const float *gate;  /* gated_add: x = a = y, b = the added tensor */
    int gated;
    int64_t m, d, rows_per_task;
    int b_rows;
    int simd;
} binary_job;

/* Columns [c0, c0 + n) of row r. */
static void binary_block(const binary_job *j, int64_t r, int64_t c0, int64_t n) {
    float av[ROW_BLOCK], bv[ROW_BLOCK];
    vgen_cpu_load_f32(j->a->data, j->a->dtype, r * j->d + c0, n, av, j->simd);
    vgen_cpu_load_f32(j->b->data, j->b->dtype, (j->b_rows ? r * j->d : 0) + c0, n, bv, j->simd);
    if (j->gated && j->gate) {
        const float *g = j->gate + c0;
        for (int64_t i = 0; i < n; i++) av[i] = vgen_gated_add1(av[i], g[i], bv[i]);
    } else if (j->gated || j->op == VGEN_BINARY_ADD) { /* x + 1 y = x + y */
        for (int64_t i = 0; i < n; i++) av[i] += bv[i];
    } else {
        for (int64_t i = 0; i < n; i++) av[i] *= bv[i];
    }
    vgen_cpu_store_f32(av, n, j->y->dtype, j->y->data, r * j->d + c0, j->simd);
}

static void binary_rows(void *arg, int64_t t, int thread) {
    (void)thread;
    const binary_job *j = arg;
    const int64_t r1 = (t + 1) * j->rows_per_task < j->m ? (t + 1) * j->rows_per_task : j->m;
    for (int64_t r = t * j->rows_per_task; r < r1; r++)
        for (int64_t c = 0; c < j->d; c += ROW_BLOCK) binary_block(j, r, c, j->d - c < ROW_BLOCK ? j->d - c : ROW_BLOCK);
}

static void binary_launch(vgen_backend *be, binary_job *j) {
    if (j->m * j->d == 0) return;
    j->rows_per_task = j->d >= VGEN_CPU_CHUNK ? 1 : VGEN_CPU_CHUNK / j->d;
    vgen_threadpool_for(be->pool, (j->m + j->rows_per_task - 1) / j->rows_per_task, binary_rows, j);
}

static int binary_run(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b, vgen_tensor *y,
                      int simd, vgen_err *err) {
    binary_job j = {.op = op, .a = a, .b = b, .y = y, .simd = simd};
    int rc = vgen_ops_check_binary("cpu binary", VGEN_DEVICE_CPU, op, a, b, y, &j.m, &j.d, &j.b_rows, err);
    if (rc) return rc;
    binary_launch(be, &j);
    return VGEN_OK;
}

static int gated_run(vgen_backend *be, vgen_tensor *x, const float *gate, const vgen_tensor *y, int simd,
                     vgen_err *err) {
    binary_job j = {.a = x, .b = y, .y = x, .gate = gate, .gated = 1, .b_rows = 1, .simd = simd};
    int rc = vgen_ops_check_gated_add("cpu gated_add", VGEN_DEVICE_CPU, x, y, &j.m, &j.d, err);
    if (rc) return rc;
    binary_launch(be, &j);
    return VGEN_OK;
}

static int cpu_binary(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b, vgen_tensor *y,
                      vgen_err *err) {
    return binary_run(be, op, a, b, y, vgen_cpu_simd_level(), err);
}

static int cpu_binary_portable(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b,
                               vgen_tensor *y, vgen_err *err) {
    return binary_run(be, op, a, b, y, VGEN_SIMD_NONE, err);
}

static int cpu_gated_add(vgen_backend *be, vgen_tensor *x, const float *gate, const vgen_tensor *y, vgen_err *err) {
    return gated_run(be, x, gate, y, vgen_cpu_simd_level(), err);
}

static int cpu_gated_add_portable(vgen_backend *be, vgen_tensor *x, const float *gate, const vgen_tensor *y,
                                  vgen_err *err) {
    return gated_run(be, x, gate, y, VGEN_SIMD_NONE, err);
}

void vgen_cpu_binary_install(vgen_backend *be, int portable) {
    be->binary = portable ? cpu_binary_portable : cpu_binary;
    be->gated_add = portable ? cpu_gated_add_portable : cpu_gated_add;
}

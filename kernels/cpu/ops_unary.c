/* ops_unary.c - gelu_tanh and silu (backend.h): chunks of elements on the thread pool, each staged through an f32
 * block on the stack (ops_vmath.c does the math). y may be x. */
#include "cpu/ops_cpu.h"
#include "ref/ops_ref.h"
#include "threadpool.h"

#define UNARY_BLOCK 1024

typedef struct unary_job {
    vgen_unary_op op;
    const vgen_tensor *x;
    vgen_tensor *y;
    int64_t n;
    int simd;
} unary_job;

static void unary_chunk(void *arg, int64_t c, int thread) {
    (void)thread;
    const unary_job *j = arg;
    const int64_t end = (c + 1) * VGEN_CPU_CHUNK < j->n ? (c + 1) * VGEN_CPU_CHUNK : j->n;
    float buf[UNARY_BLOCK];
    for (int64_t i = c * VGEN_CPU_CHUNK; i < end; i += UNARY_BLOCK) {
        const int64_t n = end - i < UNARY_BLOCK ? end - i : UNARY_BLOCK;
        vgen_cpu_load_f32(j->x->data, j->x->dtype, i, n, buf, j->simd);
        if (j->op == VGEN_UNARY_SILU) vgen_cpu_silu_rows(buf, n, j->simd);
        else vgen_cpu_gelu_tanh_rows(buf, n, j->simd);
        vgen_cpu_store_f32(buf, n, j->y->dtype, j->y->data, i, j->simd);
    }
}

static int unary_run(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y, int simd,
                     vgen_err *err) {
    unary_job j = {op, x, y, 0, simd};
    int rc = vgen_ops_check_unary("cpu unary", VGEN_DEVICE_CPU, op, x, y, &j.n, err);
    if (rc) return rc;
    vgen_threadpool_for(be->pool, (j.n + VGEN_CPU_CHUNK - 1) / VGEN_CPU_CHUNK, unary_chunk, &j);
    return VGEN_OK;
}

static int cpu_unary(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    return unary_run(be, op, x, y, vgen_cpu_simd_level(), err);
}

static int cpu_unary_portable(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y,
                              vgen_err *err) {
    return unary_run(be, op, x, y, VGEN_SIMD_NONE, err);
}

void vgen_cpu_unary_install(vgen_backend *be, int portable) { be->unary = portable ? cpu_unary_portable : cpu_unary; }

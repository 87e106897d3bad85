/* ops_rope.c - rotary embedding in place on x [L, H, Dh] (backend.h): groups of tokens on the thread pool; each
 * head row is staged as f32 on the stack in blocks of pairs, rotated by the token's (cos, sin) in f32
 * (core/elem_math.h's vgen_rope_pair, the formula of every backend), and stored back rounded to x's dtype. */
#include "cpu/ops_cpu.h"
#include "elem_math.h"
#include "ref/ops_ref.h"
#include "threadpool.h"

#define ROPE_BLOCK 512 /* elements of a head row per staging block (even) */

typedef struct rope_job {
    vgen_tensor *x;
    const float *cos_t, *sin_t;
    int64_t l, h, dh, tokens_per_task;
    int simd;
} rope_job;

/* Elements [e0, e0 + n) of the row at off, with c, s the token's tables shifted to pair e0 / 2. */
static void rope_block(const rope_job *j, int64_t off, int64_t n, const float *c, const float *s) {
    float buf[ROPE_BLOCK];
    vgen_cpu_load_f32(j->x->data, j->x->dtype, off, n, buf, j->simd);
    for (int64_t p = 0; p < n / 2; p++)
        vgen_rope_pair(buf[2 * p], buf[2 * p + 1], c[p], s[p], &buf[2 * p], &buf[2 * p + 1]);
    vgen_cpu_store_f32(buf, n, j->x->dtype, j->x->data, off, j->simd);
}

static void rope_tokens(void *arg, int64_t t, int thread) {
    (void)thread;
    const rope_job *j = arg;
    const int64_t l1 = (t + 1) * j->tokens_per_task < j->l ? (t + 1) * j->tokens_per_task : j->l;
    const int64_t half = j->dh / 2;
    for (int64_t l = t * j->tokens_per_task; l < l1; l++) {
        const float *c = j->cos_t + l * half, *s = j->sin_t + l * half;
        for (int64_t h = 0; h < j->h; h++)
            for (int64_t e = 0; e < j->dh; e += ROPE_BLOCK)
                rope_block(j, (l * j->h + h) * j->dh + e, j->dh - e < ROPE_BLOCK ? j->dh - e : ROPE_BLOCK, c + e / 2,
                           s + e / 2);
    }
}

static int rope_run(vgen_backend *be, vgen_tensor *x, const float *cos_t, const float *sin_t, int simd,
                    vgen_err *err) {
    int rc = vgen_ops_check_rope("cpu rope", VGEN_DEVICE_CPU, x, cos_t, sin_t, err);
    if (rc) return rc;
    rope_job j = {x, cos_t, sin_t, x->shape[0], x->shape[1], x->shape[2], 1, simd};
    const int64_t row = j.h * j.dh;
    if (j.l * row == 0) return VGEN_OK;
    j.tokens_per_task = row >= VGEN_CPU_CHUNK ? 1 : VGEN_CPU_CHUNK / row;
    vgen_threadpool_for(be->pool, (j.l + j.tokens_per_task - 1) / j.tokens_per_task, rope_tokens, &j);
    return VGEN_OK;
}

static int cpu_rope(vgen_backend *be, vgen_tensor *x, const float *cos_t, const float *sin_t, vgen_err *err) {
    return rope_run(be, x, cos_t, sin_t, vgen_cpu_simd_level(), err);
}

static int cpu_rope_portable(vgen_backend *be, vgen_tensor *x, const float *cos_t, const float *sin_t,
                             vgen_err *err) {
    return rope_run(be, x, cos_t, sin_t, VGEN_SIMD_NONE, err);
}

void vgen_cpu_rope_install(vgen_backend *be, int portable) { be->rope = portable ? cpu_rope_portable : cpu_rope; }

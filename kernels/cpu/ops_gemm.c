/* ops_gemm.c - the oneDNN matmul that conv3d needs (ops_cpu.h): y[m, n] f32 (row stride ldy) = a[m, k] b[k, n]
 * (b's row stride ldb), a and b f32 or bf16. Owns its engine and stream and the primitives of the last two shapes
 * (a conv3d call has at most two: full tiles and the last one); oneDNN's own primitive cache makes rebuilding a
 * shape seen in an earlier call cheap. Created per conv3d call, so nothing outlives the call. */
#include "cpu/ops_cpu.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>
#include <string.h>

#define GEMM_SLOTS 2

typedef struct gemm_slot {
    vgen_gemm_desc key;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, y;
} gemm_slot;

struct vgen_gemm {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    gemm_slot slot[GEMM_SLOTS];
    int next; /* the slot a new shape replaces */
};

static int gemm_fail(const vgen_gemm_desc *d, const char *what, dnnl_status_t s, vgen_err *err) {
    int code = s == dnnl_out_of_memory ? VGEN_ERR_OUT_OF_MEMORY
               : s == dnnl_unimplemented ? VGEN_ERR_UNSUPPORTED : VGEN_ERR_INTERNAL;
    return vgen_err_set(err, code, "oneDNN %s: %s, matmul a[%lld, %lld] %s b[%lld, %lld] (ldb %lld) -> y (ldy %lld)",
                        what, dnnl_status2str(s), (long long)d->m, (long long)d->k, vgen_dtype_name(d->dt),
                        (long long)d->k, (long long)d->n, (long long)d->ldb, (long long)d->ldy);
}

#define GEMM_TRY(call, what)                                  \
    do {                                                      \
        dnnl_status_t s_ = (call);                            \
        if (s_ != dnnl_success) return gemm_fail(d, what, s_, err); \
    } while (0)

static void slot_clear(gemm_slot *s) {
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->a) dnnl_memory_destroy(s->a);
    if (s->b) dnnl_memory_destroy(s->b);
    if (s->y) dnnl_memory_destroy(s->y);
    memset(s, 0, sizeof *s);
}

static int slot_build(vgen_gemm *g, const vgen_gemm_desc *d, gemm_slot *s, vgen_err *err) {
    const dnnl_data_type_t dt = d->dt == VGEN_DTYPE_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t ma, mb, my;
    dnnl_dims_t ad = {d->m, d->k}, bd = {d->k, d->n}, yd = {d->m, d->n}, bs = {d->ldb, 1}, ys = {d->ldy, 1};
    GEMM_TRY(dnnl_memory_desc_init_by_tag(&ma, 2, ad, dt, dnnl_ab), "a descriptor");
    GEMM_TRY(dnnl_memory_desc_init_by_strides(&mb, 2, bd, dt, bs), "b descriptor");
    GEMM_TRY(dnnl_memory_desc_init_by_strides(&my, 2, yd, dnnl_f32, ys), "y descriptor");
    dnnl_matmul_desc_t md;
    GEMM_TRY(dnnl_matmul_desc_init(&md, &ma, &mb, NULL, &my), "dnnl_matmul_desc_init");
    dnnl_primitive_desc_t pd = NULL;
    GEMM_TRY(dnnl_primitive_desc_create(&pd, &md, NULL, g->engine, NULL), "dnnl_primitive_desc_create");
    dnnl_status_t st = dnnl_primitive_create(&s->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success) return gemm_fail(d, "dnnl_primitive_create", st, err);
    s->key = *d;
    GEMM_TRY(dnnl_memory_create(&s->a, &ma, g->engine, DNNL_MEMORY_NONE), "memory");
    GEMM_TRY(dnnl_memory_create(&s->b, &mb, g->engine, DNNL_MEMORY_NONE), "memory");
    GEMM_TRY(dnnl_memory_create(&s->y, &my, g->engine, DNNL_MEMORY_NONE), "memory");
    return VGEN_OK;
}

static int same(const vgen_gemm_desc *a, const vgen_gemm_desc *b) {
    return a->m == b->m && a->k == b->k && a->n == b->n && a->ldb == b->ldb && a->ldy == b->ldy && a->dt == b->dt;
}

static int slot_get(vgen_gemm *g, const vgen_gemm_desc *d, gemm_slot **out, vgen_err *err) {
    for (int i = 0; i < GEMM_SLOTS; i++) {
        if (g->slot[i].prim && same(&g->slot[i].key, d)) {
            *out = &g->slot[i];
            return VGEN_OK;
        }
    }
    gemm_slot *s = &g->slot[g->next];
    g->next = (g->next + 1) % GEMM_SLOTS;
    slot_clear(s);
    int rc = slot_build(g, d, s, err);
    if (rc) slot_clear(s);
    *out = s;
    return rc;
}

int vgen_gemm_run(vgen_gemm *g, const vgen_gemm_desc *d, const void *a, const void *b, float *y, vgen_err *err) {
    gemm_slot *s;
    int rc = slot_get(g, d, &s, err);
    if (rc) return rc;
    /* oneDNN takes non-const handles but only reads a and b. */
    GEMM_TRY(dnnl_memory_set_data_handle(s->a, (void *)(uintptr_t)a), "set_data_handle");
    GEMM_TRY(dnnl_memory_set_data_handle(s->b, (void *)(uintptr_t)b), "set_data_handle");
    GEMM_TRY(dnnl_memory_set_data_handle(s->y, y), "set_data_handle");
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, s->a}, {DNNL_ARG_WEIGHTS, s->b}, {DNNL_ARG_DST, s->y}};
    GEMM_TRY(dnnl_primitive_execute(s->prim, g->stream, 3, args), "dnnl_primitive_execute");
    GEMM_TRY(dnnl_stream_wait(g->stream), "dnnl_stream_wait");
    return VGEN_OK;
}

int vgen_gemm_new(vgen_gemm **out, vgen_err *err) {
    *out = NULL;
    vgen_gemm *g = calloc(1, sizeof *g);
    if (!g) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a oneDNN GEMM context");
    dnnl_status_t s = dnnl_engine_create(&g->engine, dnnl_cpu, 0);
    if (s == dnnl_success) s = dnnl_stream_create(&g->stream, g->engine, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        vgen_gemm_free(&g);
        return vgen_err_set(err, VGEN_ERR_INTERNAL, "oneDNN: cannot create a CPU engine and stream: %s",
                            dnnl_status2str(s));
    }
    *out = g;
    return VGEN_OK;
}

void vgen_gemm_free(vgen_gemm **pg) {
    if (!pg || !*pg) return;
    vgen_gemm *g = *pg;
    for (int i = 0; i < GEMM_SLOTS; i++) slot_clear(&g->slot[i]);
    if (g->stream) dnnl_stream_destroy(g->stream);
    if (g->engine) dnnl_engine_destroy(g->engine);
    free(g);
    *pg = NULL;
}

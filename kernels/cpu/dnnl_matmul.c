/* dnnl_matmul.c - oneDNN matmul primitives and their per-instance cache (dnnl_matmul.h). */
#include "cpu/dnnl_matmul.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mm_entry {
    vgen_mm_desc key;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, bias, dst; /* descriptors bound to the primitive; data handles are set per call */
    char impl[48];
    uint64_t last_use;
} mm_entry;

struct vgen_dnnl {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    mm_entry *entries; /* [capacity], the first count in use */
    int capacity, count;
    uint64_t tick;
    int64_t builds;
};

static int same_key(const vgen_mm_desc *a, const vgen_mm_desc *b) {
    return a->m == b->m && a->k == b->k && a->n == b->n && a->ldy == b->ldy && a->src == b->src &&
           a->dst == b->dst && !a->has_bias == !b->has_bias;
}

static int status_code(dnnl_status_t s) {
    if (s == dnnl_unimplemented) return VGEN_ERR_UNSUPPORTED;
    if (s == dnnl_out_of_memory) return VGEN_ERR_OUT_OF_MEMORY;
    return VGEN_ERR_INTERNAL;
}

/* "oneDNN dnnl_primitive_desc_create: unimplemented, matmul x[1200, 1536] bf16 W[8960, 1536] -> y[1200, 8960] f32
 * (ldy 8960, bias)" */
static int dnnl_fail(const vgen_mm_desc *k, const char *call, dnnl_status_t s, vgen_err *err) {
    return vgen_err_set(err, status_code(s), "oneDNN %s: %s, matmul x[%lld, %lld] %s W[%lld, %lld] -> y[%lld, %lld] %s "
                        "(ldy %lld%s)", call, dnnl_status2str(s), (long long)k->m, (long long)k->k,
                        vgen_dtype_name(k->src), (long long)k->n, (long long)k->k, (long long)k->m, (long long)k->n,
                        vgen_dtype_name(k->dst), (long long)k->ldy, k->has_bias ? ", bias" : "");
}

#define DNNL_TRY(call)                                          \
    do {                                                        \
        dnnl_status_t s_ = (call);                              \
        if (s_ != dnnl_success) return dnnl_fail(k, #call, s_, err); \
    } while (0)

static dnnl_data_type_t dnnl_dt(vgen_dtype t) {
    return t == VGEN_DTYPE_F32 ? dnnl_f32 : t == VGEN_DTYPE_BF16 ? dnnl_bf16 : dnnl_data_type_undef;
}

/* Memory descriptors of x [m, k] (ab), w as [k, n] (ba: stride 1 along k, k along n), bias [1, n] and
 * y [m, n] (row stride ldy). */
static int init_mds(const vgen_mm_desc *k, dnnl_memory_desc_t md[4], vgen_err *err) {
    dnnl_data_type_t src = dnnl_dt(k->src), dst = dnnl_dt(k->dst);
    if (src == dnnl_data_type_undef || dst == dnnl_data_type_undef)
        return dnnl_fail(k, "dtype", dnnl_unimplemented, err);
    dnnl_dims_t xd = {k->m, k->k}, wd = {k->k, k->n}, bd = {1, k->n}, yd = {k->m, k->n};
    dnnl_dims_t ws = {1, k->k}, ys = {k->ldy, 1};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&md[0], 2, xd, src, dnnl_ab));
    DNNL_TRY(dnnl_memory_desc_init_by_strides(&md[1], 2, wd, src, ws));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&md[2], 2, bd, dnnl_f32, dnnl_ab));
    DNNL_TRY(dnnl_memory_desc_init_by_strides(&md[3], 2, yd, dst, ys));
    return VGEN_OK;
}

static void entry_destroy(mm_entry *e) {
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->src) dnnl_memory_destroy(e->src);
    if (e->wei) dnnl_memory_destroy(e->wei);
    if (e->bias) dnnl_memory_destroy(e->bias);
    if (e->dst) dnnl_memory_destroy(e->dst);
    memset(e, 0, sizeof *e);
}

static int create_prim(vgen_dnnl *d, const vgen_mm_desc *k, const dnnl_memory_desc_t md[4], mm_entry *e,
                       vgen_err *err) {
    dnnl_matmul_desc_t desc;
    DNNL_TRY(dnnl_matmul_desc_init(&desc, &md[0], &md[1], k->has_bias ? &md[2] : NULL, &md[3]));
    dnnl_primitive_desc_t pd = NULL;
    DNNL_TRY(dnnl_primitive_desc_create(&pd, &desc, NULL, d->engine, NULL));
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        snprintf(e->impl, sizeof e->impl, "%s", impl);
    dnnl_status_t s = dnnl_primitive_create(&e->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) return dnnl_fail(k, "dnnl_primitive_create", s, err);
    return VGEN_OK;
}

static int create_mems(vgen_dnnl *d, const vgen_mm_desc *k, const dnnl_memory_desc_t md[4], mm_entry *e,
                       vgen_err *err) {
    DNNL_TRY(dnnl_memory_create(&e->src, &md[0], d->engine, DNNL_MEMORY_NONE));
    DNNL_TRY(dnnl_memory_create(&e->wei, &md[1], d->engine, DNNL_MEMORY_NONE));
    if (k->has_bias) DNNL_TRY(dnnl_memory_create(&e->bias, &md[2], d->engine, DNNL_MEMORY_NONE));
    DNNL_TRY(dnnl_memory_create(&e->dst, &md[3], d->engine, DNNL_MEMORY_NONE));
    return VGEN_OK;
}

/* Builds the primitive and its memory objects for key k into *e (all or nothing). */
static int entry_build(vgen_dnnl *d, const vgen_mm_desc *k, mm_entry *e, vgen_err *err) {
    memset(e, 0, sizeof *e);
    e->key = *k;
    dnnl_memory_desc_t md[4];
    int rc = init_mds(k, md, err);
    if (!rc) rc = create_prim(d, k, md, e, err);
    if (!rc) rc = create_mems(d, k, md, e, err);
    if (rc) entry_destroy(e);
    else d->builds++;
    return rc;
}

/* The cached entry for k, building it (and evicting the least recently used one when full) on a miss. */
static int entry_get(vgen_dnnl *d, const vgen_mm_desc *k, mm_entry **out, vgen_err *err) {
    int slot = 0;
    for (int i = 0; i < d->count; i++) {
        if (same_key(&d->entries[i].key, k)) {
            *out = &d->entries[i];
            (*out)->last_use = ++d->tick;
            return VGEN_OK;
        }
        if (d->entries[i].last_use < d->entries[slot].last_use) slot = i;
    }
    mm_entry fresh;
    int rc = entry_build(d, k, &fresh, err);
    if (rc) return rc;
    if (d->count < d->capacity) slot = d->count++;
    else entry_destroy(&d->entries[slot]);
    fresh.last_use = ++d->tick;
    d->entries[slot] = fresh;
    *out = &d->entries[slot];
    return VGEN_OK;
}

int vgen_dnnl_matmul(vgen_dnnl *d, const vgen_mm_desc *k, const void *x, const void *w, const float *bias, void *y,
                     vgen_err *err) {
    mm_entry *e;
    int rc = entry_get(d, k, &e, err);
    if (rc) return rc;
    /* oneDNN takes non-const handles but only reads src, weights and bias. */
    DNNL_TRY(dnnl_memory_set_data_handle(e->src, (void *)(uintptr_t)x));
    DNNL_TRY(dnnl_memory_set_data_handle(e->wei, (void *)(uintptr_t)w));
    DNNL_TRY(dnnl_memory_set_data_handle(e->dst, y));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->wei}, {DNNL_ARG_DST, e->dst}};
    int n_args = 3;
    if (k->has_bias) {
        DNNL_TRY(dnnl_memory_set_data_handle(e->bias, (void *)(uintptr_t)bias));
        args[n_args++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, e->bias};
    }
    DNNL_TRY(dnnl_primitive_execute(e->prim, d->stream, n_args, args));
    DNNL_TRY(dnnl_stream_wait(d->stream));
    return VGEN_OK;
}

int vgen_dnnl_new(int capacity, vgen_dnnl **out, vgen_err *err) {
    *out = NULL;
    if (capacity < 1) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "oneDNN cache capacity %d < 1", capacity);
    vgen_dnnl *d = calloc(1, sizeof *d);
    mm_entry *entries = calloc((size_t)capacity, sizeof *entries);
    if (!d || !entries) {
        free(d);
        free(entries);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the oneDNN context");
    }
    d->entries = entries;
    d->capacity = capacity;
    dnnl_status_t s = dnnl_engine_create(&d->engine, dnnl_cpu, 0);
    if (s == dnnl_success) s = dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        vgen_dnnl_free(&d);
        return vgen_err_set(err, status_code(s), "oneDNN: cannot create a CPU engine and stream: %s",
                            dnnl_status2str(s));
    }
    *out = d;
    return VGEN_OK;
}

void vgen_dnnl_free(vgen_dnnl **pd) {
    if (!pd || !*pd) return;
    vgen_dnnl *d = *pd;
    for (int i = 0; i < d->count; i++) entry_destroy(&d->entries[i]);
    if (d->stream) dnnl_stream_destroy(d->stream);
    if (d->engine) dnnl_engine_destroy(d->engine);
    free(d->entries);
    free(d);
    *pd = NULL;
}

const char *vgen_dnnl_impl_name(const vgen_dnnl *d, const vgen_mm_desc *k) {
    for (int i = 0; i < d->count; i++)
        if (same_key(&d->entries[i].key, k)) return d->entries[i].impl;
    return NULL;
}

int64_t vgen_dnnl_build_count(const vgen_dnnl *d) { return d->builds; }

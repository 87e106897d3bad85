/* backend_common.c - vgen_backend_free and the shared supports() rule (backend.h, backend_common.h). */
#include "ref/backend_common.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ops_ref.h"

void vgen_backend_free(vgen_backend **be) {
    if (!be || !*be) return;
    if ((*be)->destroy) (*be)->destroy(*be);
    free(*be);
    *be = NULL;
}

bool vgen_backend_has_op(const vgen_backend *be, vgen_op op, vgen_wformat format) {
    if (!be) return false;
    switch (op) {
    case VGEN_OP_LINEAR: return be->linear && vgen_wformat_get(format) != NULL;
    case VGEN_OP_LAYER_NORM: return be->layer_norm != NULL;
    case VGEN_OP_RMS_NORM: return be->rms_norm != NULL;
    case VGEN_OP_CHANNEL_RMS_NORM: return be->channel_rms_norm != NULL;
    case VGEN_OP_ROPE: return be->rope != NULL;
    case VGEN_OP_ATTENTION: return be->attention != NULL;
    case VGEN_OP_UNARY: return be->unary != NULL;
    case VGEN_OP_BINARY: return be->binary != NULL;
    case VGEN_OP_GATED_ADD: return be->gated_add != NULL;
    case VGEN_OP_CONV3D: return be->conv3d != NULL;
    case VGEN_OP_CONVERT: return be->convert != NULL;
    case VGEN_OP_CHECK_FINITE: return be->check_finite != NULL;
    case VGEN_OP_COPY_STRIDED: return be->copy_strided != NULL;
    default: return false;
    }
}

/* ---- host memory (the CPU backends' device) ---- */

static void *host_alloc(vgen_backend *be, size_t bytes, vgen_err *err) {
    const size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes) {
        vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", be->name, bytes);
        return NULL;
    }
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes (%zu in use)", be->name, bytes,
                     be->mem.current);
        return NULL;
    }
    vgen_memstat_add(&be->mem, bytes);
    return p;
}

static void host_free(vgen_backend *be, void *p, size_t bytes) {
    if (!p) return;
    vgen_memstat_sub(&be->mem, bytes);
    free(p);
}

static int host_copy(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err) {
    if ((!dst || !src) && bytes)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: copy of %zu bytes with a NULL pointer", be->name,
                            bytes);
    if (bytes) memmove(dst, src, bytes);
    return VGEN_OK;
}

/* Staging memory for upload_async: plain host memory, counted in host_mem. */
static void *staging_alloc(vgen_backend *be, size_t bytes, vgen_err *err) {
    const size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = rounded >= bytes ? aligned_alloc(64, rounded ? rounded : 64) : NULL;
    if (!p) {
        vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes of staging memory", be->name, bytes);
        return NULL;
    }
    vgen_memstat_add(&be->host_mem, bytes);
    return p;
}

static void staging_free(vgen_backend *be, void *p, size_t bytes) {
    if (!p) return;
    vgen_memstat_sub(&be->host_mem, bytes);
    free(p);
}

/* The CPU backends run everything at once, in order: a fence has nothing to mark. One static byte serves as every
 * fence's identity (it is never written). */
static const char host_fence_token;

static int host_fence_new(vgen_backend *be, vgen_fence **out, vgen_err *err) {
    (void)be;
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "fence_new: out is NULL");
    *out = (vgen_fence *)(uintptr_t)&host_fence_token;
    return VGEN_OK;
}

static void host_fence_free(vgen_backend *be, vgen_fence *f) { (void)be, (void)f; }

static int host_fence_op(vgen_backend *be, vgen_fence *f, vgen_queue q, vgen_err *err) {
    (void)q;
    if (!f) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: fence is NULL", be->name);
    return VGEN_OK;
}

static int host_fence_wait(vgen_backend *be, vgen_queue q, vgen_fence *f, vgen_err *err) {
    return host_fence_op(be, f, q, err);
}

static int host_sync(vgen_backend *be, vgen_err *err) {
    (void)be, (void)err;
    return VGEN_OK;
}

static int host_check_finite(vgen_backend *be, const vgen_tensor *x, const char *what, vgen_err *err) {
    if (!x || (!x->data && vgen_tensor_numel(x) > 0))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s check_finite: no tensor", be->name);
    if (x->dtype != VGEN_DTYPE_F32 && x->dtype != VGEN_DTYPE_BF16 && x->dtype != VGEN_DTYPE_F16)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "%s check_finite: %s is not f32, bf16 or f16", be->name,
                            what ? what : "tensor");
    const int64_t n = vgen_tensor_numel(x);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(vgen_ops_get(x->data, x->dtype, i)))
            return vgen_err_set(err, VGEN_ERR_NUMERIC, "%s: %s at element %lld", what ? what : "tensor",
                                isnan(vgen_ops_get(x->data, x->dtype, i)) ? "NaN" : "Inf", (long long)i);
    return VGEN_OK;
}

void vgen_backend_host_install(vgen_backend *be) {
    if (!be) return;
    be->alloc = host_alloc;
    be->buf_free = host_free;
    be->upload = host_copy;
    be->download = host_copy;
    be->synchronize = host_sync;
    be->copy = host_copy;
    be->host_addressable = true;
    be->host_alloc = staging_alloc;
    be->host_free = staging_free;
    be->upload_async = host_copy;
    be->fence_new = host_fence_new;
    be->fence_free = host_fence_free;
    be->fence_record = host_fence_op;
    be->fence_wait = host_fence_wait;
    be->check_finite = host_check_finite;
}

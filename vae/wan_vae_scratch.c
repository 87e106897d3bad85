/* wan_vae_scratch.c - the device memory of one decode (wan_vae_internal.h): one be->alloc buffer, a bump stack of
 * scratch tensors at its start and the causal caches after it. A dry run (no buffer) counts the same sequence:
 * every block is a multiple of 64 bytes at a 64-byte offset (be->alloc is 64-byte aligned), so the dry counts
 * equal the decode's use exactly, and the plan is the buffer's size. */
#include <string.h>

#include "wan_vae_internal.h"

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

int wvae_mem_open(wvae_mem *m, vgen_backend *be, size_t scratch, size_t cache, vgen_err *err) {
    memset(m, 0, sizeof *m);
    const size_t total = scratch + cache;
    if (total < scratch) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: a plan of more than memory holds");
    m->buf = be->alloc(be, total, err);
    if (!m->buf) return err && err->code ? err->code : VGEN_ERR_OUT_OF_MEMORY;
    m->be = be, m->scratch_cap = scratch, m->cache_cap = cache;
    return VGEN_OK;
}

void wvae_mem_close(wvae_mem *m) {
    if (m->buf) m->be->buf_free(m->be, m->buf, m->scratch_cap + m->cache_cap);
    memset(m, 0, sizeof *m);
}

int wvae_alloc(wvae_mem *m, vgen_tensor *t, int n_dims, const int64_t *shape, vgen_err *err) {
    int rc = vgen_tensor_view(t, VGEN_DTYPE_F32, n_dims, shape, NULL, err);
    if (rc) return rc;
    size_t bytes = round64(vgen_tensor_bytes(t));
    if (bytes == 0) bytes = 64;
    const size_t at = round64(m->used);
    if (m->buf && (at > m->scratch_cap || bytes > m->scratch_cap - at)) {
        char s[96];
        return vgen_err_set(err, VGEN_ERR_INTERNAL,
                            "vae: scratch arena of %zu bytes is full (%zu used) allocating %s: the plan was wrong",
                            m->scratch_cap, m->used, vgen_shape_str(shape, n_dims, s, sizeof s));
    }
    m->used = at + bytes;
    if (m->used > m->peak) m->peak = m->used;
    if (!m->buf) return VGEN_OK;
    t->data = m->buf + at;
    t->device = m->be->device;
    t->owner = m->be->host_addressable ? VGEN_OWNER_ARENA : VGEN_OWNER_NONE;
    return VGEN_OK;
}

size_t wvae_mark(const wvae_mem *m) { return m->used; }

void wvae_reset(wvae_mem *m, size_t mark) { m->used = mark; }

size_t wvae_peak(const wvae_mem *m) { return m->peak; }

int wvae_cache_take(wvae_mem *m, size_t bytes, float **out, vgen_err *err) {
    bytes = round64(bytes);
    *out = NULL;
    if (m->buf && bytes > m->cache_cap - m->cache_used)
        return vgen_err_set(err, VGEN_ERR_INTERNAL,
                            "vae: cache region of %zu bytes is full (%zu used) allocating %zu: the plan was wrong",
                            m->cache_cap, m->cache_used, bytes);
    if (m->buf) *out = (float *)(void *)(m->buf + m->scratch_cap + m->cache_used);
    m->cache_used += bytes;
    return VGEN_OK;
}

void wvae_view(vgen_tensor *v, const vgen_tensor *t, int n_dims, const int64_t *shape) {
    memset(v, 0, sizeof *v);
    v->dtype = t->dtype, v->n_dims = n_dims, v->device = t->device, v->owner = VGEN_OWNER_NONE, v->data = t->data;
    memcpy(v->shape, shape, (size_t)n_dims * sizeof shape[0]);
}

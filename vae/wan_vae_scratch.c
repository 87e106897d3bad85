/* wan_vae_scratch.c - scratch tensors for one decode: a bump arena (core/arena.h) sized by a dry run of the same
 * allocation sequence, which is what wvae_mem counts when it has no arena. Every block is a multiple of 64 bytes at
 * a 64-byte boundary, so the dry count equals the arena's use exactly. */
#include <string.h>

#include "wan_vae_internal.h"

static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

int wvae_alloc(wvae_mem *m, vgen_tensor *t, int n_dims, const int64_t *shape, vgen_err *err) {
    int rc = vgen_tensor_view(t, VGEN_DTYPE_F32, n_dims, shape, NULL, err);
    if (rc) return rc;
    size_t bytes = round64(vgen_tensor_bytes(t));
    if (bytes == 0) bytes = 64;
    if (!m->arena) {
        m->dry_used = round64(m->dry_used) + bytes;
        if (m->dry_used > m->dry_peak) m->dry_peak = m->dry_used;
        return VGEN_OK;
    }
    t->data = vgen_arena_alloc(m->arena, bytes, 64);
    if (!t->data) {
        char s[96];
        return vgen_err_set(err, VGEN_ERR_INTERNAL,
                            "vae: scratch arena of %zu bytes is full (%zu used) allocating %s: the plan was wrong",
                            vgen_arena_capacity(m->arena), vgen_arena_used(m->arena),
                            vgen_shape_str(shape, n_dims, s, sizeof s));
    }
    t->owner = VGEN_OWNER_ARENA;
    return VGEN_OK;
}

size_t wvae_mark(const wvae_mem *m) { return m->arena ? vgen_arena_mark(m->arena) : m->dry_used; }

void wvae_reset(wvae_mem *m, size_t mark) {
    if (m->arena) vgen_arena_reset(m->arena, mark);
    else m->dry_used = mark;
}

size_t wvae_peak(const wvae_mem *m) { return m->arena ? vgen_arena_peak(m->arena) : m->dry_peak; }

void wvae_view(vgen_tensor *v, const vgen_tensor *t, int n_dims, const int64_t *shape) {
    memset(v, 0, sizeof *v);
    v->dtype = t->dtype, v->n_dims = n_dims, v->device = t->device, v->owner = VGEN_OWNER_NONE, v->data = t->data;
    memcpy(v->shape, shape, (size_t)n_dims * sizeof shape[0]);
}

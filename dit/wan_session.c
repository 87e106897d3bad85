/* wan_session.c - a DiT session: every activation of a forward for one latent shape, allocated once in one buffer
 * of the backend's device (its bytes counted in the session's memstat), the host staging of its transfers, the
 * RoPE tables of that shape, and the weights' placement when the caller gave none. */
#include <stdlib.h>
#include <string.h>

#include "wan_internal.h"

void vgen_dit_session_params_init(vgen_dit_session_params *p) {
    memset(p, 0, sizeof *p);
    p->ctx_len = 512;
}

/* One planned buffer: a 2-D tensor [rows, cols] of dtype, or (tensor NULL) a float array of rows * cols. */
typedef struct plan_item {
    vgen_tensor *t;
    float **f;
    vgen_dtype dtype;
    int64_t rows, cols;
} plan_item;

#define WAN_PLAN_MAX 32

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Every buffer of a forward over L tokens and Lc context rows, in compute dtype cd, pointing into a. */
static size_t plan(const vgen_wan_config *c, vgen_dtype cd, int64_t L, int64_t Lc, wan_acts *a, plan_item *it) {
    const vgen_dtype f32 = VGEN_DTYPE_F32;
    const int64_t D = c->dim, half = c->head_dim / 2;
    size_t n = 0;
#define T(field, dt, r, cl) it[n++] = (plan_item){&a->field, NULL, dt, r, cl}
#define F(field, r, cl) it[n++] = (plan_item){NULL, &a->field, f32, r, cl}
    T(x, cd, L, D); T(h, cd, L, D); T(q, cd, L, D); T(k, cd, L, D); T(v, cd, L, D); T(att, cd, L, D);
    T(o, cd, L, D); T(ff, cd, L, c->ffn_dim);
    T(ctx_in, cd, Lc, c->text_dim); T(ctx_h, cd, Lc, D); T(ctx, cd, Lc, D); T(ck, cd, Lc, D); T(cv, cd, Lc, D);
    T(patches, cd, L, 4 * c->in_channels); T(proj, cd, L, 4 * c->out_channels);
    T(tsin, f32, 1, c->freq_dim); T(t_h, f32, 1, D); T(temb, f32, 1, D); T(temb_c, cd, 1, D); T(tproj, cd, 1, 6 * D);
    F(mod, 6, D); F(head_mod, 2, D); F(rope_cos, L, half); F(rope_sin, L, half);
#undef T
#undef F
    return n;
}

static size_t items_bytes(const plan_item *it, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += round64((size_t)(it[i].rows * it[i].cols) * vgen_dtype_size(it[i].dtype));
    return total;
}

size_t wan_session_arena_bytes(const vgen_wan_config *c, vgen_dtype compute, int64_t tokens, int64_t ctx_len) {
    wan_acts a;
    plan_item items[WAN_PLAN_MAX];
    return items_bytes(items, plan(c, compute, tokens, ctx_len, &a, items));
}

/* Every activation carved from one device buffer. */
static int alloc_items(vgen_dit_session *s, const plan_item *it, size_t n, vgen_err *err) {
    s->dev_bytes = items_bytes(it, n);
    s->dev = s->be->alloc(s->be, s->dev_bytes, err);
    if (!s->dev) return vgen_err_code(err, VGEN_ERR_OUT_OF_MEMORY);
    vgen_memstat_add(&s->stat, s->dev_bytes);
    size_t off = 0;
    int rc = VGEN_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        size_t bytes = (size_t)(it[i].rows * it[i].cols) * vgen_dtype_size(it[i].dtype);
        void *p = (char *)s->dev + off;
        off += round64(bytes);
        if (it[i].f) {
            *it[i].f = p;
            continue;
        }
        rc = vgen_tensor_view(it[i].t, it[i].dtype, 2, (int64_t[2]){it[i].rows, it[i].cols}, p, err);
        it[i].t->device = s->be->device;
    }
    return rc;
}

/* The host side of each forward's transfers (wan_host_io): the device tensors themselves when the host can
 * address them, else one staging buffer. */
static int alloc_host_io(vgen_dit_session *s, vgen_err *err) {
    wan_acts *a = &s->a;
    wan_host_io *io = &s->io;
    if (s->be->host_addressable) {
        *io = (wan_host_io){a->patches.data, a->proj.data, a->tsin.data, a->ctx_in.data, NULL, 0};
        return VGEN_OK;
    }
    const size_t sizes[4] = {vgen_tensor_bytes(&a->patches), vgen_tensor_bytes(&a->proj), vgen_tensor_bytes(&a->tsin),
                             vgen_tensor_bytes(&a->ctx_in)};
    for (int i = 0; i < 4; i++) io->bytes += round64(sizes[i]);
    io->buf = malloc(io->bytes);
    if (!io->buf)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of DiT staging", io->bytes);
    char *p = io->buf;
    io->patches = p, p += round64(sizes[0]);
    io->proj = p, p += round64(sizes[1]);
    io->tsin = (float *)p, p += round64(sizes[2]);
    io->ctx = p;
    return VGEN_OK;
}

/* RoPE tables of the session's shape, computed on the host and uploaded. */
static int rope_tables(vgen_dit_session *s, vgen_err *err) {
    const int64_t half = s->m->cfg.head_dim / 2;
    const size_t bytes = (size_t)(s->tokens * half) * sizeof(float);
    if (s->be->host_addressable) {
        wan_rope_tables(s->m->cfg.head_dim, s->fp, s->hp, s->wp, s->a.rope_cos, s->a.rope_sin);
        return VGEN_OK;
    }
    float *t = malloc(2 * bytes);
    if (!t) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the RoPE tables (%zu bytes)", 2 * bytes);
    wan_rope_tables(s->m->cfg.head_dim, s->fp, s->hp, s->wp, t, t + s->tokens * half);
    int rc = s->be->upload(s->be, s->a.rope_cos, t, bytes, err);
    if (!rc) rc = s->be->upload(s->be, s->a.rope_sin, t + s->tokens * half, bytes, err);
    free(t);
    return rc;
}

static int place_weights(vgen_dit_session *s, vgen_err *err) {
    s->place = s->p.placement;
    if (!s->place) {
        int rc = vgen_dit_place(s->m, s->be, 0, &s->place, err);
        if (rc) return rc;
        s->own_place = 1;
    }
    s->g = wan_place_globals(s->place);
    return VGEN_OK;
}

static int check_shape(const vgen_dit_model *m, const vgen_dit_session_params *p, vgen_err *err) {
    const int64_t lim = m->cfg.rope_max_seq_len;
    if (p->frames <= 0 || p->height <= 0 || p->width <= 0 || p->height % 2 || p->width % 2 || p->ctx_len <= 0)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "DiT session: latent [F=%lld, H=%lld, W=%lld] with %lld "
                            "context rows: F, context rows must be positive, H and W positive and even",
                            (long long)p->frames, (long long)p->height, (long long)p->width, (long long)p->ctx_len);
    if (p->frames > lim || p->height / 2 > lim || p->width / 2 > lim)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "DiT session: latent [%lld, %lld, %lld] exceeds the "
                            "model's rope_max_seq_len %lld per axis", (long long)p->frames, (long long)p->height,
                            (long long)p->width, (long long)lim);
    if (p->frames * (p->height / 2) * (p->width / 2) > ((int64_t)1 << 31) || p->ctx_len > ((int64_t)1 << 20))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "DiT session: too many tokens");
    return VGEN_OK;
}

int vgen_dit_session_new(const vgen_dit_model *m, vgen_backend *be, const vgen_dit_session_params *p,
                         vgen_dit_session **out, vgen_err *err) {
    if (!out || !m || !be || !p)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_dit_session_new: NULL argument");
    *out = NULL;
    int rc = check_shape(m, p, err);
    if (rc) return rc;
    vgen_dit_session *s = calloc(1, sizeof *s);
    if (!s) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a DiT session");
    s->m = m;
    s->be = be;
    s->p = *p;
    s->fp = p->frames, s->hp = p->height / 2, s->wp = p->width / 2;
    s->tokens = s->fp * s->hp * s->wp;
    plan_item items[WAN_PLAN_MAX];
    size_t n = plan(&m->cfg, m->compute, s->tokens, p->ctx_len, &s->a, items);
    rc = place_weights(s, err);
    if (!rc) rc = alloc_items(s, items, n, err);
    if (!rc) rc = alloc_host_io(s, err);
    if (!rc) rc = rope_tables(s, err);
    if (rc) {
        vgen_dit_session_free(&s);
        return rc;
    }
    *out = s;
    return VGEN_OK;
}

void vgen_dit_session_free(vgen_dit_session **ps) {
    if (!ps || !*ps) return;
    vgen_dit_session *s = *ps;
    if (s->dev) s->be->buf_free(s->be, s->dev, s->dev_bytes);
    if (s->own_place) vgen_dit_placement_free(&s->place);
    free(s->io.buf);
    free(s);
    *ps = NULL;
}

size_t vgen_dit_session_bytes(const vgen_dit_session *s) { return s->dev_bytes; }
size_t vgen_dit_session_peak(const vgen_dit_session *s) { return s->stat.peak; }

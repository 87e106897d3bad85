/* umt5_session.c - a UMT5 session: every activation of an encode of up to max_len tokens, allocated once in one
 * arena (its bytes counted in the session's memstat), the bucket of every relative position, and the check that the
 * backend has the ops and weight formats the model needs. */
#include <stdlib.h>
#include <string.h>

#include "umt5_internal.h"

/* One planned buffer: a 2-D tensor [rows, cols] of dtype, or (tensor NULL) a raw array of rows * cols elements. */
typedef struct plan_item {
    vgen_tensor *t;
    void **raw;
    vgen_dtype dtype;
    int64_t rows, cols;
} plan_item;

#define UMT5_PLAN_MAX 24

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Every buffer of an encode of up to L tokens (model options as umt5_session_shape says), pointing into a. */
static size_t plan(const vgen_umt5_config *c, const umt5_session_shape *sh, int64_t L, umt5_acts *a,
                   plan_item *it) {
    const vgen_dtype cd = sh->compute, f32 = VGEN_DTYPE_F32;
    const int64_t D = c->d_model, I = c->heads * c->d_kv, F = c->d_ff, R = 2 * L - 1;
    size_t n = 0;
#define T(field, dt, r, cl) it[n++] = (plan_item){&a->field, NULL, dt, r, cl}
    T(x, f32, L, D); T(h, cd, L, D); T(q, cd, L, I); T(k, cd, L, I); T(v, cd, L, I); T(att, cd, L, I);
    T(o, sh->wo_f32 ? f32 : cd, L, D); T(g, cd, L, F); T(u, cd, L, F); T(bias, f32, c->heads, L * L);
    if (cd == VGEN_DTYPE_BF16) T(x16, VGEN_DTYPE_BF16, L, D);
    if (sh->wo_f32) T(g32, f32, L, F);
    if (sh->round_scores) {
        T(qh, VGEN_DTYPE_BF16, L, c->d_kv); T(kh, VGEN_DTYPE_BF16, L, c->d_kv); T(sc, VGEN_DTYPE_BF16, L, L);
    }
#undef T
    it[n++] = (plan_item){NULL, (void **)&a->bucket, VGEN_DTYPE_I32, 1, R};
    it[n++] = (plan_item){NULL, (void **)&a->rel, f32, c->heads, R};
    return n;
}

static size_t items_bytes(const plan_item *it, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += round64((size_t)(it[i].rows * it[i].cols) * vgen_dtype_size(it[i].dtype));
    return total;
}

size_t umt5_session_arena_bytes(const vgen_umt5_config *c, const umt5_session_shape *sh, int64_t max_len) {
    umt5_acts a;
    plan_item items[UMT5_PLAN_MAX];
    return items_bytes(items, plan(c, sh, max_len, &a, items));
}

static int alloc_items(vgen_umt5_session *s, const plan_item *it, size_t n, vgen_err *err) {
    const size_t total = items_bytes(it, n);
    int rc = vgen_arena_new(total, &s->stat, &s->arena, err);
    for (size_t i = 0; !rc && i < n; i++) {
        size_t bytes = (size_t)(it[i].rows * it[i].cols) * vgen_dtype_size(it[i].dtype);
        void *p = vgen_arena_alloc(s->arena, bytes, 64);
        if (!p) return vgen_err_set(err, VGEN_ERR_INTERNAL, "UMT5 session arena too small");
        if (it[i].raw) {
            *it[i].raw = p;
            continue;
        }
        rc = vgen_tensor_view(it[i].t, it[i].dtype, 2, (int64_t[2]){it[i].rows, it[i].cols}, p, err);
        it[i].t->owner = VGEN_OWNER_ARENA;
    }
    return rc;
}

static int check_ops(const vgen_backend *be, vgen_err *err) {
    static const struct { vgen_op op; const char *name; } ops[] = {
        {VGEN_OP_RMS_NORM, "rms_norm"}, {VGEN_OP_ATTENTION, "attention"}, {VGEN_OP_UNARY, "unary"},
        {VGEN_OP_BINARY, "binary"}, {VGEN_OP_CONVERT, "convert"}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!be->supports || !be->supports(be, ops[i].op, VGEN_WF_F32))
            return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "backend %s lacks the %s op the UMT5 encoder needs",
                                be->name ? be->name : "?", ops[i].name);
    return VGEN_OK;
}

static int check_format(const vgen_backend *be, const umt5_matrix *mat, vgen_err *err) {
    if (be->supports(be, VGEN_OP_LINEAR, mat->w.format)) return VGEN_OK;
    const vgen_wformat_traits *tr = vgen_wformat_get(mat->w.format);
    return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "backend %s cannot run linear with %s weights",
                        be->name ? be->name : "?", tr ? tr->name : "unknown");
}

static int check_backend(const vgen_umt5_model *m, const vgen_backend *be, vgen_err *err) {
    int rc = check_ops(be, err);
    for (int64_t b = 0; !rc && b < m->cfg.layers; b++) {
        const umt5_layer *ly = &m->layers[b];
        const umt5_matrix *mats[7] = {&ly->q, &ly->k, &ly->v, &ly->o, &ly->wi0, &ly->wi1, &ly->wo};
        for (int i = 0; !rc && i < 7; i++) rc = check_format(be, mats[i], err);
    }
    return rc;
}

int vgen_umt5_session_new(const vgen_umt5_model *m, vgen_backend *be, int64_t max_len, vgen_umt5_session **out,
                          vgen_err *err) {
    if (!out || !m || !be) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_umt5_session_new: NULL argument");
    *out = NULL;
    if (max_len < 1 || max_len > 65536)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "UMT5 session: max_len %lld outside 1..65536",
                            (long long)max_len);
    int rc = check_backend(m, be, err);
    if (rc) return rc;
    vgen_umt5_session *s = calloc(1, sizeof *s);
    if (!s) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a UMT5 session");
    s->m = m;
    s->be = be;
    s->max_len = max_len;
    plan_item items[UMT5_PLAN_MAX];
    const umt5_session_shape sh = {m->compute, m->wo_f32, m->round_scores};
    rc = alloc_items(s, items, plan(&m->cfg, &sh, max_len, &s->a, items), err);
    if (rc) {
        vgen_umt5_session_free(&s);
        return rc;
    }
    for (int64_t r = 0; r < 2 * max_len - 1; r++)
        s->a.bucket[r] = vgen_umt5_bucket(r - (max_len - 1), m->cfg.buckets, m->cfg.max_distance);
    *out = s;
    return VGEN_OK;
}

void vgen_umt5_session_free(vgen_umt5_session **ps) {
    if (!ps || !*ps) return;
    vgen_arena_free(&(*ps)->arena);
    free(*ps);
    *ps = NULL;
}

void vgen_umt5_session_set_hook(vgen_umt5_session *s, vgen_umt5_hook_fn fn, void *user_data) {
    s->hook = fn;
    s->hook_user_data = user_data;
}

void vgen_umt5_session_set_abort(vgen_umt5_session *s, vgen_abort_fn fn, void *user_data) {
    s->abort = fn;
    s->abort_user_data = user_data;
}

size_t vgen_umt5_session_bytes(const vgen_umt5_session *s) { return vgen_arena_capacity(s->arena); }
size_t vgen_umt5_session_peak(const vgen_umt5_session *s) { return vgen_arena_peak(s->arena); }

vgen_tensor umt5_rows(const vgen_tensor *t, int64_t rows, int64_t cols) {
    vgen_tensor v = *t;
    v.n_dims = 2;
    v.shape[0] = rows;
    v.shape[1] = cols;
    v.owner = VGEN_OWNER_NONE;
    return v;
}

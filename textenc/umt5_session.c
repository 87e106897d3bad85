/* umt5_session.c - a UMT5 session: every activation of an encode of up to max_len tokens, allocated once in one
 * arena (its bytes counted in the session's memstat), the bucket of every relative position, and the check that the
 * backend has the ops and weight formats the model needs. On a backend whose memory the host cannot address the
 * activations are one device buffer instead, the weights are placed on the device (umt5_place.c), and the host
 * keeps the buckets and a staging buffer for what crosses (embedding rows, one-hot, mask). */
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
#define RAW(field, dt, r, cl) it[n++] = (plan_item){NULL, (void **)&a->field, dt, r, cl}
    T(x, f32, L, D); T(h, cd, L, D); T(q, cd, L, I); T(k, cd, L, I); T(v, cd, L, I); T(att, cd, L, I);
    T(o, sh->wo_f32 ? f32 : cd, L, D); T(g, cd, L, F); T(u, cd, L, F); T(bias, f32, c->heads, L * L);
    if (cd == VGEN_DTYPE_BF16) T(x16, VGEN_DTYPE_BF16, L, D);
    if (sh->wo_f32) T(g32, f32, L, F);
    if (sh->round_scores) {
        T(qh, VGEN_DTYPE_BF16, L, c->d_kv); T(kh, VGEN_DTYPE_BF16, L, c->d_kv); T(sc, VGEN_DTYPE_BF16, L, L);
    }
    if (!sh->device) {
        RAW(bucket, VGEN_DTYPE_I32, 1, R); RAW(rel, f32, c->heads, R);
    } else {
        RAW(onehot, VGEN_DTYPE_BF16, L * L, c->buckets); RAW(maskv, f32, 1, L);
    }
#undef T
#undef RAW
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

/* Points item it at p: a raw array, or a 2-D tensor on the session's device. */
static int set_item(const vgen_umt5_session *s, const plan_item *it, void *p, vgen_err *err) {
    if (it->raw) {
        *it->raw = p;
        return VGEN_OK;
    }
    int rc = vgen_tensor_view(it->t, it->dtype, 2, (int64_t[2]){it->rows, it->cols}, p, err);
    it->t->owner = s->be->host_addressable ? VGEN_OWNER_ARENA : VGEN_OWNER_NONE;
    it->t->device = s->be->device;
    return rc;
}

static size_t item_bytes(const plan_item *it) { return (size_t)(it->rows * it->cols) * vgen_dtype_size(it->dtype); }

/* Host-addressable backend: every buffer from one arena. */
static int alloc_arena(vgen_umt5_session *s, const plan_item *it, size_t n, vgen_err *err) {
    int rc = vgen_arena_new(items_bytes(it, n), &s->stat, &s->arena, err);
    for (size_t i = 0; !rc && i < n; i++) {
        void *p = vgen_arena_alloc(s->arena, item_bytes(&it[i]), 64);
        if (!p) return vgen_err_set(err, VGEN_ERR_INTERNAL, "UMT5 session arena too small");
        rc = set_item(s, &it[i], p, err);
    }
    return rc;
}

/* Otherwise: every buffer carved from one device buffer. */
static int alloc_device(vgen_umt5_session *s, const plan_item *it, size_t n, vgen_err *err) {
    s->dev_bytes = items_bytes(it, n);
    s->dev = s->be->alloc(s->be, s->dev_bytes, err);
    if (!s->dev) return vgen_err_code(err, VGEN_ERR_OUT_OF_MEMORY);
    vgen_memstat_add(&s->stat, s->dev_bytes);
    size_t off = 0;
    int rc = VGEN_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = set_item(s, &it[i], (char *)s->dev + off, err);
        off += round64(item_bytes(&it[i]));
    }
    return rc;
}

/* Device backend: the buckets and the staging buffer (an embedding gather [L, D], a one-hot query row [L, B], and
 * at least UMT5_STAGE_MIN so the one-hot goes up in few uploads), in one host allocation. */
#define UMT5_STAGE_MIN ((size_t)1 << 20)

static int alloc_stage(vgen_umt5_session *s, vgen_err *err) {
    const vgen_umt5_config *c = &s->m->cfg;
    const int64_t L = s->max_len;
    const size_t nb = round64((size_t)(2 * L - 1) * sizeof(int32_t));
    const size_t want[3] = {(size_t)(L * c->d_model), (size_t)(L * c->buckets), UMT5_STAGE_MIN / sizeof(float)};
    size_t nf = 0;
    for (int i = 0; i < 3; i++) nf = want[i] > nf ? want[i] : nf;
    s->stage.buf = malloc(nb + nf * sizeof(float));
    if (!s->stage.buf)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of UMT5 staging",
                            nb + nf * sizeof(float));
    s->a.bucket = s->stage.buf;
    s->stage.f32 = (float *)((char *)s->stage.buf + nb);
    s->stage.f32_bytes = nf * sizeof(float);
    return VGEN_OK;
}

int umt5_upload_rows(vgen_umt5_session *s, void *dev, size_t row_bytes, int64_t rows, umt5_fill_rows_fn fill,
                     vgen_err *err) {
    const int64_t chunk = (int64_t)(s->stage.f32_bytes / row_bytes); /* >= 1: alloc_stage sized it */
    int rc = VGEN_OK;
    for (int64_t r = 0; !rc && r < rows; r += chunk) {
        const int64_t nr = rows - r < chunk ? rows - r : chunk;
        fill(s, r, nr, s->stage.f32);
        rc = s->be->upload(s->be, (char *)dev + (size_t)r * row_bytes, s->stage.f32, (size_t)nr * row_bytes, err);
    }
    return rc;
}

/* The activations (device or arena) and, on a device backend, the staging. */
static int alloc_session(vgen_umt5_session *s, vgen_err *err) {
    const vgen_umt5_model *m = s->m;
    const umt5_session_shape sh = {m->compute, m->wo_f32, m->round_scores, !s->be->host_addressable};
    plan_item items[UMT5_PLAN_MAX];
    const size_t n = plan(&m->cfg, &sh, s->max_len, &s->a, items);
    if (!sh.device) return alloc_arena(s, items, n, err);
    int rc = alloc_device(s, items, n, err);
    if (!rc) rc = alloc_stage(s, err);
    return rc;
}

static int check_ops(const vgen_backend *be, vgen_err *err) {
    static const struct { vgen_op op; const char *name; } ops[] = {
        {VGEN_OP_RMS_NORM, "rms_norm"}, {VGEN_OP_ATTENTION, "attention"}, {VGEN_OP_UNARY, "unary"},
        {VGEN_OP_BINARY, "binary"}, {VGEN_OP_CONVERT, "convert"}, {VGEN_OP_COPY_STRIDED, "copy_strided"}};
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
    /* a device backend also runs the one-hot bias product as a linear with bf16 weights */
    const umt5_matrix bf16 = {.w = {.format = VGEN_WF_BF16}};
    if (!rc && !be->host_addressable) rc = check_format(be, &bf16, err);
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
    rc = umt5_place_new(m, be, &s->place, err);
    if (!rc) rc = alloc_session(s, err);
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
    vgen_umt5_session *s = *ps;
    vgen_arena_free(&s->arena);
    vgen_err ignored;
    if (!s->be->host_addressable) (void)s->be->synchronize(s->be, &ignored); /* queued ops may still use them */
    if (s->dev) s->be->buf_free(s->be, s->dev, s->dev_bytes);
    umt5_place_free(s->be, &s->place);
    free(s->stage.buf);
    free(s);
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

size_t vgen_umt5_session_bytes(const vgen_umt5_session *s) {
    return s->arena ? vgen_arena_capacity(s->arena) : s->dev_bytes;
}
size_t vgen_umt5_session_peak(const vgen_umt5_session *s) {
    return s->arena ? vgen_arena_peak(s->arena) : s->stat.peak;
}

vgen_tensor umt5_view(const vgen_umt5_session *s, void *data, vgen_dtype dt, int n_dims, int64_t a, int64_t b,
                      int64_t c) {
    return (vgen_tensor){.dtype = dt, .n_dims = n_dims, .shape = {a, b, c}, .device = s->be->device, .data = data};
}

vgen_tensor umt5_rows(const vgen_tensor *t, int64_t rows, int64_t cols) {
    vgen_tensor v = *t;
    v.n_dims = 2;
    v.shape[0] = rows;
    v.shape[1] = cols;
    v.owner = VGEN_OWNER_NONE;
    return v;
}

/* ops_attention.c - attention (backend.h), FlashAttention-style on the thread pool.
 *
 * out[Lq, H, Dh] = softmax_k(scale q k^T + bias) v per head, computed for a group of heads at a time in two
 * parallel phases:
 *   1. pack: every (head, tile of bk keys) of the group is packed once into the kernels' layouts
 *      (ops_attention_tile.c) in a buffer shared by the threads;
 *   2. queries: one task = (head, tile of bq query rows). It packs its q tile, then for each key tile computes the
 *      scores s = q k^T [bq, bk], takes the online softmax step (running max m and sum l per row, rescaling o)
 *      and accumulates o += p v, all in f32 (bf16 tiles: exact bf16 products, f32 sums); finally out = o / l
 *      (a row with every key masked gets 0).
 * Packing once per head instead of once per query tile removes a transpose of k per (query tile, key tile) and
 * turns the strided reads of k and v into contiguous ones.
 * Memory: per thread, the q, s, p and o tiles, O(bq (bk + Dh)): 0.25 MB at bq = bk = Dh = 128; shared, the packed
 * k and v of the heads in flight, 2 Lk Dh' e bytes per head (Dh' = Dh rounded up to 16, e = 2 for bf16 tiles, else
 * 4), with as few heads per group as keep every thread busy (one head for Wan's self-attention: 16.8 MB at
 * Lk = 32760 in bf16) and at most GROUP_BYTES unless one head alone needs more. Never O(Lq Lk).
 *
 * Paths: bf16 tiles when q, k and v are all bf16 and the CPU has AVX512-BF16; else f32 tiles (inputs widened
 * exactly), with AVX-512 kernels when available, else portable C. */
#include <stdlib.h>

#include "cpu/backend_cpu.h"
#include "cpu/ops_cpu.h"
#include "ref/ops_ref.h"
#include "threadpool.h"

#define ATTN_BQ 128                /* query rows per task (halved while there are too few tasks for the threads) */
#define ATTN_BQ_MIN 32
#define ATTN_BK 128                /* keys per tile */
#define ATTN_ALIGN 64
#define GROUP_BYTES (64u << 20)    /* packed k and v of a group of heads, unless one head needs more */
#define GROUP_MIN_FLOP 256e6       /* work per group that makes the two pool launches negligible */

typedef struct attn_job {
    vgen_attn_src src;
    void *out;                 /* [Lq, H, Dh] */
    vgen_dtype odt;
    vgen_attn_path path;
    int simd;
    int64_t bq, bk, dhp;       /* tile sizes */
    int64_t n_qt, n_kt;        /* query and key tiles per head */
    int64_t h0, n_heads;       /* the current group of heads */
    char *scratch;             /* [n_threads][per_thread] */
    size_t per_thread;
    char *kv;                  /* [group heads][n_kt][kv_tile] packed k then v */
    size_t kv_tile;            /* bytes of one packed key tile, k and v */
} attn_job;

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }
static size_t align_up(size_t v) { return (v + ATTN_ALIGN - 1) / ATTN_ALIGN * ATTN_ALIGN; }
static size_t elem_bytes(const attn_job *j) { return j->path == VGEN_ATTN_BF16_AVX512 ? 2 : 4; }

/* The next buffer of `bytes` at *off in base (NULL when only measuring). */
static void *take(char *base, size_t *off, size_t bytes) {
    void *p = base ? base + *off : NULL;
    *off += align_up(bytes);
    return p;
}

/* Carves one thread's scratch into the q, p, s, o, m, l tiles (layouts in ops_cpu.h); returns the bytes used.
 * base may be NULL to measure. */
static size_t tile_layout(const attn_job *j, char *base, vgen_attn_tile *t) {
    const size_t es = elem_bytes(j), bq = (size_t)j->bq, bk = (size_t)j->bk, dhp = (size_t)j->dhp;
    size_t off = 0;
    t->q = take(base, &off, bq * dhp * es);
    t->p = take(base, &off, j->path == VGEN_ATTN_BF16_AVX512 ? bq * bk * 2 : 0);
    t->s = take(base, &off, bq * bk * sizeof(float));
    t->o = take(base, &off, bq * dhp * sizeof(float));
    t->m = take(base, &off, bq * sizeof(float));
    t->l = take(base, &off, bq * sizeof(float));
    return off;
}

/* Points t at key tile kt of head h (of the current group) and sets its extent. */
static void bind_keys(const attn_job *j, int64_t h, int64_t kt, vgen_attn_tile *t) {
    char *base = j->kv + (size_t)((h - j->h0) * j->n_kt + kt) * j->kv_tile;
    t->k = base;
    t->v = base + align_up((size_t)(j->dhp * j->bk) * elem_bytes(j));
    t->k0 = kt * j->bk;
    t->nk = j->src.lk - t->k0 < j->bk ? j->src.lk - t->k0 : j->bk;
    t->nkp = round_up(t->nk, VGEN_ATTN_KEYS);
}

/* ---- phase 1: pack the group's keys ---- */

static void pack_task(void *arg, int64_t i, int thread) {
    (void)thread;
    const attn_job *j = arg;
    vgen_attn_tile t = {.path = j->path, .simd = j->simd, .bq = j->bq, .bk = j->bk, .dhp = j->dhp};
    t.h = j->h0 + i / j->n_kt;
    bind_keys(j, t.h, i % j->n_kt, &t);
    if (j->path == VGEN_ATTN_C) vgen_attn_pack_kv(&j->src, &t);
    else vgen_attn_pack_kv_avx512(&j->src, &t);
}

/* ---- phase 2: query tiles ---- */

static void tile_step(const attn_job *j, vgen_attn_tile *t) {
    if (j->path == VGEN_ATTN_C) {
        vgen_attn_scores_c(t);
        vgen_attn_softmax_c(&j->src, t);
        vgen_attn_pv_c(t);
    } else {
        vgen_attn_scores_avx512(t);
        vgen_attn_softmax_avx512(&j->src, t);
        vgen_attn_pv_avx512(t);
    }
}

/* out[q0 + r, h, :] = o[r] / l[r]. */
static void tile_finish(const attn_job *j, vgen_attn_tile *t) {
    const vgen_attn_src *a = &j->src;
    for (int64_t r = 0; r < t->nq; r++) {
        float *o = t->o + r * t->dhp;
        const float inv = t->l[r] > 0.0f ? 1.0f / t->l[r] : 0.0f;
        for (int64_t e = 0; e < a->dh; e++) o[e] *= inv;
        vgen_cpu_store_f32(o, a->dh, j->odt, j->out, ((t->q0 + r) * a->h + t->h) * a->dh, j->simd);
    }
}

static void query_task(void *arg, int64_t i, int thread) {
    const attn_job *j = arg;
    const vgen_attn_src *a = &j->src;
    vgen_attn_tile t = {.path = j->path, .simd = j->simd, .bq = j->bq, .bk = j->bk, .dhp = j->dhp};
    tile_layout(j, j->scratch + (size_t)thread * j->per_thread, &t);
    t.h = j->h0 + i / j->n_qt;
    t.q0 = (i % j->n_qt) * j->bq;
    t.nq = a->lq - t.q0 < j->bq ? a->lq - t.q0 : j->bq;
    t.nqp = round_up(t.nq, VGEN_ATTN_ROWS);
    vgen_attn_pack_q(a, &t);
    for (int64_t kt = 0; kt < j->n_kt; kt++) {
        bind_keys(j, t.h, kt, &t);
        tile_step(j, &t);
    }
    tile_finish(j, &t);
}

/* ---- planning ---- */

/* Heads per group: enough query tasks for the threads and enough work to amortise the launches, within
 * GROUP_BYTES of packed keys (at least one head). */
static int64_t group_heads(const attn_job *j, int threads) {
    const vgen_attn_src *a = &j->src;
    const size_t per_head = (size_t)j->n_kt * j->kv_tile;
    const double flop_head = 4.0 * (double)a->lq * (double)a->lk * (double)a->dh;
    int64_t g = 1;
    while (g < a->h && (g * j->n_qt < 4 * (int64_t)threads || (double)g * flop_head < GROUP_MIN_FLOP) &&
           (size_t)(g + 1) * per_head <= GROUP_BYTES)
        g++;
    return g;
}

/* Path, tile sizes and group size (heads per group) of this call; per_thread and kv_tile in bytes. */
static int64_t attn_size(attn_job *j, int all_bf16, int threads, const vgen_cpu_attn_opts *o) {
    const vgen_attn_src *a = &j->src;
    j->path = j->simd >= VGEN_SIMD_AVX512_BF16 && all_bf16 ? VGEN_ATTN_BF16_AVX512
              : j->simd >= VGEN_SIMD_AVX512              ? VGEN_ATTN_F32_AVX512
                                                         : VGEN_ATTN_C;
    j->dhp = round_up(a->dh, 16);
    j->bk = o->bk > 0 ? round_up(o->bk, VGEN_ATTN_KEYS) : ATTN_BK;
    if (a->lk < j->bk) j->bk = round_up(a->lk > 0 ? a->lk : 1, VGEN_ATTN_KEYS);
    j->bq = ATTN_BQ;
    while (j->bq > ATTN_BQ_MIN && a->h * ((a->lq + j->bq - 1) / j->bq) < 4 * (int64_t)threads) j->bq /= 2;
    if (o->bq > 0) j->bq = round_up(o->bq, VGEN_ATTN_ROWS);
    if (j->bq > round_up(a->lq, VGEN_ATTN_ROWS)) j->bq = round_up(a->lq, VGEN_ATTN_ROWS);
    j->n_qt = (a->lq + j->bq - 1) / j->bq;
    j->n_kt = (a->lk + j->bk - 1) / j->bk;
    j->kv_tile = 2 * align_up((size_t)(j->dhp * j->bk) * elem_bytes(j));
    const int64_t g = o->heads_per_group > 0 ? (o->heads_per_group < a->h ? o->heads_per_group : a->h)
                                             : group_heads(j, threads);
    vgen_attn_tile probe;
    j->per_thread = tile_layout(j, NULL, &probe);
    return g;
}

/* Sizes this call (attn_size) and allocates its buffers. */
static int attn_plan(attn_job *j, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v, int threads,
                     const vgen_cpu_attn_opts *o, vgen_err *err) {
    const int all_bf16 = q->dtype == VGEN_DTYPE_BF16 && k->dtype == VGEN_DTYPE_BF16 && v->dtype == VGEN_DTYPE_BF16;
    const int64_t g = attn_size(j, all_bf16, threads, o);
    j->scratch = vgen_cpu_alloc((size_t)threads * j->per_thread);
    j->kv = vgen_cpu_alloc((size_t)(g * j->n_kt) * j->kv_tile);
    if (!j->scratch || !j->kv) {
        free(j->scratch);
        free(j->kv);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cpu attention: cannot allocate %d x %zu bytes of tiles "
                            "and %lld x %zu bytes of packed keys", threads, j->per_thread,
                            (long long)(g * j->n_kt), j->kv_tile);
    }
    j->n_heads = g;
    return VGEN_OK;
}

int vgen_cpu_attention_tiled(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                             float scale, const vgen_tensor *bias, vgen_tensor *out, const vgen_cpu_attn_opts *o,
                             vgen_err *err) {
    vgen_attn_dims d;
    int rc = vgen_ops_check_attention("cpu attention", VGEN_DEVICE_CPU, q, k, v, bias, out, &d, err);
    if (rc || d.lq * d.h * d.dh == 0) return rc;
    attn_job j = {.src = {q->data, k->data, v->data, q->dtype, k->dtype, v->dtype, bias ? bias->data : NULL, scale,
                          d.lq, d.lk, d.h, d.dh},
                  .out = out->data, .odt = out->dtype};
    const int cpu = vgen_cpu_simd_level();
    j.simd = o->simd < cpu ? o->simd : cpu;
    const int threads = vgen_threadpool_size(be->pool);
    rc = attn_plan(&j, q, k, v, threads, o, err);
    if (rc) return rc;
    const int64_t group = j.n_heads;
    for (j.h0 = 0; j.h0 < d.h; j.h0 += group) {
        j.n_heads = d.h - j.h0 < group ? d.h - j.h0 : group;
        vgen_threadpool_for(be->pool, j.n_heads * j.n_kt, pack_task, &j);
        vgen_threadpool_for(be->pool, j.n_heads * j.n_qt, query_task, &j);
    }
    free(j.scratch);
    free(j.kv);
    return VGEN_OK;
}

void vgen_cpu_plan_attention(vgen_cpu_scratch_plan *p, vgen_dtype dt, int64_t lq, int64_t lk, int64_t h,
                             int64_t dh, int threads) {
    attn_job j = {.src = {.lq = lq, .lk = lk, .h = h, .dh = dh}};
    const vgen_cpu_attn_opts o = {.simd = VGEN_SIMD_AVX512_BF16}; /* what cpu_attention passes */
    const int cpu = vgen_cpu_simd_level();
    j.simd = o.simd < cpu ? o.simd : cpu;
    const int64_t g = attn_size(&j, dt == VGEN_DTYPE_BF16, threads, &o);
    const size_t bytes = (size_t)threads * j.per_thread + (size_t)(g * j.n_kt) * j.kv_tile;
    if (bytes > p->attention) p->attention = bytes;
}

static int cpu_attention(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                         float scale, const vgen_tensor *bias, vgen_tensor *out, vgen_err *err) {
    const vgen_cpu_attn_opts o = {.simd = VGEN_SIMD_AVX512_BF16};
    return vgen_cpu_attention_tiled(be, q, k, v, scale, bias, out, &o, err);
}

static int cpu_attention_portable(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                                  float scale, const vgen_tensor *bias, vgen_tensor *out, vgen_err *err) {
    const vgen_cpu_attn_opts o = {.simd = VGEN_SIMD_NONE};
    return vgen_cpu_attention_tiled(be, q, k, v, scale, bias, out, &o, err);
}

void vgen_cpu_attention_install(vgen_backend *be, int portable) {
    be->attention = portable ? cpu_attention_portable : cpu_attention;
}

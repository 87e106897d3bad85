/* ops_copy.c - the CPU backend's copy_strided (backend.h), on be->pool.
 *
 * The copy is first simplified: dims of size 1 are dropped and neighbours that are contiguous on both sides are
 * merged (a frame slice of [C, T, H, W] becomes [C, T' H W]). The last two dims (A, B) are the inner block; the
 * rest (at most 3) are outer. Work units are (outer index, 32 rows of A; more rows when B is short, about 32 x 32
 * elements); a unit copies its rows whole with memcpy when B is contiguous on both sides, else in 32 x 32 tiles
 * (a transpose reads 32 cache lines per tile, not one per element). Units are grouped into tasks of about VGEN_CPU_CHUNK elements. Every destination element is written
 * once, so the order does not matter. */
#include <string.h>

#include "cpu/ops_cpu.h"
#include "threadpool.h"

#define BLK 32

typedef struct cp_plan {
    const char *src;
    char *dst;
    size_t es;
    int n_outer;                          /* dims before the inner block */
    int64_t shape[VGEN_COPY_MAX_DIMS];    /* outer dims, then A, B */
    int64_t ss[VGEN_COPY_MAX_DIMS], ds[VGEN_COPY_MAX_DIMS];
    int64_t rows;                         /* rows of A per unit */
    int64_t a_blocks, units, units_per_task;
} cp_plan;

/* Drops size-1 dims, merges contiguous neighbours, pads to two dims: returns the rank (>= 2). */
static int simplify(const int64_t *shape, const int64_t *ss, const int64_t *ds, int n, cp_plan *p) {
    int m = 0;
    for (int k = 0; k < n; k++) {
        if (shape[k] == 1) continue;
        if (m > 0 && p->ss[m - 1] == shape[k] * ss[k] && p->ds[m - 1] == shape[k] * ds[k]) {
            p->shape[m - 1] *= shape[k], p->ss[m - 1] = ss[k], p->ds[m - 1] = ds[k];
            continue;
        }
        p->shape[m] = shape[k], p->ss[m] = ss[k], p->ds[m] = ds[k], m++;
    }
    while (m < 2) { /* leading dims of size 1 */
        memmove(p->shape + 1, p->shape, (size_t)m * sizeof p->shape[0]);
        memmove(p->ss + 1, p->ss, (size_t)m * sizeof p->ss[0]);
        memmove(p->ds + 1, p->ds, (size_t)m * sizeof p->ds[0]);
        p->shape[0] = 1, p->ss[0] = 0, p->ds[0] = 0, m++;
    }
    return m;
}

/* dst[a * da + b * db] = src[a * sa + b * sb] for a < na, b < nb, elements of es bytes. */
#define TILE_COPY(T)                                                                                              \
    do {                                                                                                          \
        const T *s_ = (const T *)s;                                                                               \
        T *d_ = (T *)d;                                                                                           \
        for (int64_t a = 0; a < na; a++)                                                                          \
            for (int64_t b = 0; b < nb; b++) d_[a * da + b * db] = s_[a * sa + b * sb];                           \
    } while (0)

static void tile_copy(const char *s, int64_t sa, int64_t sb, char *d, int64_t da, int64_t db, int64_t na,
                      int64_t nb, size_t es) {
    switch (es) {
    case 1: TILE_COPY(uint8_t); break;
    case 2: TILE_COPY(uint16_t); break;
    case 4: TILE_COPY(uint32_t); break;
    default: TILE_COPY(uint64_t); break;
    }
}

/* Rows [a0, a0 + na) of the inner block at (s, d). */
static void block_rows(const cp_plan *p, const char *s, char *d, int64_t a0, int64_t na) {
    const int o = p->n_outer;
    const int64_t nb = p->shape[o + 1], sa = p->ss[o], sb = p->ss[o + 1], da = p->ds[o], db = p->ds[o + 1];
    const size_t es = p->es;
    s += (size_t)(a0 * sa) * es, d += (size_t)(a0 * da) * es;
    if (sb == 1 && db == 1) {
        for (int64_t a = 0; a < na; a++) memcpy(d + (size_t)(a * da) * es, s + (size_t)(a * sa) * es, (size_t)nb * es);
        return;
    }
    if (sb == 0 && db == 1 && es == 4) { /* an element repeated along B (nearest x2's inner pair) */
        const uint32_t *s4 = (const uint32_t *)(const void *)s;
        uint32_t *d4 = (uint32_t *)(void *)d;
        for (int64_t a = 0; a < na; a++)
            for (int64_t b = 0; b < nb; b++) d4[a * da + b] = s4[a * sa];
        return;
    }
    for (int64_t b0 = 0; b0 < nb; b0 += BLK)
        tile_copy(s + (size_t)(b0 * sb) * es, sa, sb, d + (size_t)(b0 * db) * es, da, db, na,
                  nb - b0 < BLK ? nb - b0 : BLK, es);
}

static void unit(const cp_plan *p, int64_t u) {
    int64_t outer = u / p->a_blocks, so = 0, dof = 0;
    const int64_t a0 = (u % p->a_blocks) * p->rows, na_all = p->shape[p->n_outer];
    for (int k = p->n_outer - 1; k >= 0; k--) {
        const int64_t i = outer % p->shape[k];
        outer /= p->shape[k];
        so += i * p->ss[k], dof += i * p->ds[k];
    }
    block_rows(p, p->src + (size_t)so * p->es, p->dst + (size_t)dof * p->es, a0,
               na_all - a0 < p->rows ? na_all - a0 : p->rows);
}

static void task(void *arg, int64_t t, int thread) {
    (void)thread;
    const cp_plan *p = arg;
    const int64_t u0 = t * p->units_per_task;
    for (int64_t u = u0; u < u0 + p->units_per_task && u < p->units; u++) unit(p, u);
}

static int cpu_copy_strided(vgen_backend *be, const void *src, const int64_t *src_strides, void *dst,
                            const int64_t *dst_strides, const int64_t *shape, int n_dims, size_t elem_size,
                            vgen_err *err) {
    int64_t n;
    size_t sb, db;
    int rc = vgen_ops_check_copy_strided("cpu copy_strided", src, src_strides, dst, dst_strides, shape, n_dims,
                                         elem_size, &n, &sb, &db, err);
    if (rc || n == 0) return rc;
    cp_plan p = {.src = src, .dst = dst, .es = elem_size};
    const int m = simplify(shape, src_strides, dst_strides, n_dims, &p);
    p.n_outer = m - 2;
    const int64_t nb = p.shape[m - 1];
    p.rows = nb >= BLK ? BLK : (BLK * BLK + nb - 1) / nb; /* short rows: about BLK x BLK elements per unit */
    p.a_blocks = (p.shape[m - 2] + p.rows - 1) / p.rows;
    p.units = n / (p.shape[m - 2] * nb) * p.a_blocks;
    const int64_t per_unit = p.rows * nb;
    p.units_per_task = per_unit >= VGEN_CPU_CHUNK ? 1 : VGEN_CPU_CHUNK / per_unit;
    const int64_t tasks = (p.units + p.units_per_task - 1) / p.units_per_task;
    if (tasks == 1 || !be->pool) {
        for (int64_t u = 0; u < p.units; u++) unit(&p, u);
    } else {
        vgen_threadpool_for(be->pool, tasks, task, &p);
    }
    return VGEN_OK;
}

void vgen_cpu_copy_install(vgen_backend *be, int portable) {
    (void)portable;
    be->copy_strided = cpu_copy_strided;
}

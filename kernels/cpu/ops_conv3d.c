/* ops_conv3d.c - conv3d (backend.h) as an implicit GEMM over tiles of output positions.
 *
 * With AVX-512 the blocked path of ops_conv3d_avx512.c runs (everything on the thread pool). Otherwise, the path
 * below, on oneDNN:
 * With P = F' H' W' output positions and K = Cin kt kh kw, y[Cout, P] = W[Cout, K] col[K, P] + bias, where
 * col[(ci, a, b, c), (to, ho, wo)] = x[ci, to st + a - pt, ho sh + b - ph, wo sw + c - pw] (0 in the padding).
 * col is built (im2col, on the thread pool) for nt positions at a time into a scratch of at most COL_BYTES, and the
 * tile's GEMM runs on oneDNN (its own OpenMP threads) straight into y's columns [p0, p0 + nt) (row stride P), or,
 * for a bf16 y, into an f32 stage of at most STAGE_BYTES that the epilogue rounds into y. The epilogue adds the
 * bias. So scratch is bounded (~32 MB) whatever the frame size; a full im2col of the VAE's last 3x3x3 conv at
 * 480x832 would be ~4 GB.
 * Precision: bf16 GEMM (exact products, f32 accumulation) when x and w are both bf16, else f32 (bf16 operands widened
 * exactly; a bf16 w with an f32 x is widened once per call). A 1x1x1 conv with unit strides and no padding reads x
 * in place as the GEMM's b operand (no im2col). */
#include <stdlib.h>
#include <string.h>

#include "cpu/ops_cpu.h"
#include "ref/ops_ref.h"
#include "threadpool.h"

#define COL_BYTES (16u << 20)
#define STAGE_BYTES (16u << 20)
#define COL_TASK_ELEMS 16384 /* col elements per im2col task */

typedef struct conv_job {
    const vgen_tensor *x;
    const float *bias;
    vgen_tensor *y;
    vgen_conv3d_dims g;
    vgen_dtype cdt;        /* GEMM operand dtype */
    size_t es;             /* its size */
    int64_t kdim, npos;    /* K, P */
    int direct;            /* x is the b operand */
    const void *wmat;      /* [Cout, K] in cdt */
    void *wconv;           /* owned widened copy of w, or NULL */
    void *col;             /* [K, nt] in cdt */
    float *stage;          /* [Cout, nt] f32 when y is bf16, else NULL */
    int64_t nt;            /* positions per tile */
    int64_t p0, np;        /* the current tile */
    int64_t rows_per_task; /* col rows per im2col task */
    size_t col_bytes;      /* im2col budget */
    int simd;
} conv_job;

/* ---- im2col (ops_conv3d_col.c) ---- */

static void col_task(void *arg, int64_t t, int thread) {
    (void)thread;
    const conv_job *j = arg;
    const vgen_conv_src src = {j->x, j->g, j->cdt, j->simd};
    const int64_t k1 = (t + 1) * j->rows_per_task < j->kdim ? (t + 1) * j->rows_per_task : j->kdim;
    for (int64_t k = t * j->rows_per_task; k < k1; k++)
        vgen_conv_col_row(&src, k, j->p0, j->np, (char *)j->col + (size_t)(k * j->np) * j->es);
}

/* ---- epilogue: bias, and the bf16 rounding of a staged tile ---- */

static void epilogue_row(void *arg, int64_t co, int thread) {
    (void)thread;
    const conv_job *j = arg;
    const float b = j->bias ? j->bias[co] : 0.0f;
    if (!j->stage) {
        float *y = (float *)j->y->data + co * j->npos + j->p0;
        for (int64_t i = 0; i < j->np; i++) y[i] += b;
        return;
    }
    float *s = j->stage + co * j->np;
    if (j->bias)
        for (int64_t i = 0; i < j->np; i++) s[i] += b;
    vgen_cpu_store_f32(s, j->np, j->y->dtype, j->y->data, co * j->npos + j->p0, j->simd);
}

/* ---- tiles ---- */

static int conv_tile(vgen_backend *be, conv_job *j, vgen_gemm *gm, vgen_err *err) {
    if (!j->direct) {
        j->rows_per_task = j->np >= COL_TASK_ELEMS ? 1 : COL_TASK_ELEMS / j->np;
        vgen_threadpool_for(be->pool, (j->kdim + j->rows_per_task - 1) / j->rows_per_task, col_task, j);
    }
    const vgen_gemm_desc d = {j->g.cout, j->kdim, j->np, j->direct ? j->npos : j->np, j->stage ? j->np : j->npos,
                              j->cdt};
    const void *b = j->direct ? (const char *)j->x->data + (size_t)j->p0 * j->es : j->col;
    float *y = j->stage ? j->stage : (float *)j->y->data + j->p0;
    int rc = vgen_gemm_run(gm, &d, j->wmat, b, y, err);
    if (rc) return rc;
    if (j->stage || j->bias) vgen_threadpool_for(be->pool, j->g.cout, epilogue_row, j);
    return VGEN_OK;
}

/* Operand dtype, weights in it, tile width and scratch. */
static int conv_plan(conv_job *j, const vgen_tensor *w, vgen_err *err) {
    const vgen_conv3d_dims *g = &j->g;
    j->cdt = j->x->dtype == VGEN_DTYPE_BF16 && w->dtype == VGEN_DTYPE_BF16 ? VGEN_DTYPE_BF16 : VGEN_DTYPE_F32;
    j->es = vgen_dtype_size(j->cdt);
    j->kdim = g->cin * g->kt * g->kh * g->kw;
    j->npos = g->fo * g->ho * g->wo;
    j->direct = g->kt == 1 && g->kh == 1 && g->kw == 1 && g->st == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 &&
                g->ph == 0 && g->pw == 0 && g->fo == g->f && g->ho == g->h && g->wo == g->w && j->x->dtype == j->cdt;
    j->nt = (int64_t)(j->col_bytes / ((size_t)j->kdim * j->es)); /* direct: the same width keeps tiles comparable */
    if (j->y->dtype != VGEN_DTYPE_F32 && j->nt > (int64_t)(STAGE_BYTES / ((size_t)g->cout * sizeof(float))))
        j->nt = (int64_t)(STAGE_BYTES / ((size_t)g->cout * sizeof(float)));
    j->nt = j->nt < 1 ? 1 : j->nt > j->npos ? j->npos : j->nt;
    j->wmat = w->data;
    if (w->dtype != j->cdt) { /* bf16 w with an f32 x: widen once */
        j->wconv = vgen_cpu_alloc((size_t)(g->cout * j->kdim) * sizeof(float));
        if (!j->wconv) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cpu conv3d: cannot widen the weights");
        vgen_cpu_load_f32(w->data, w->dtype, 0, g->cout * j->kdim, j->wconv, j->simd);
        j->wmat = j->wconv;
    }
    if (!j->direct) j->col = vgen_cpu_alloc((size_t)(j->kdim * j->nt) * j->es);
    if (j->y->dtype != VGEN_DTYPE_F32) j->stage = vgen_cpu_alloc((size_t)(g->cout * j->nt) * sizeof(float));
    if ((!j->direct && !j->col) || (j->y->dtype != VGEN_DTYPE_F32 && !j->stage))
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cpu conv3d: cannot allocate the im2col tile [%lld, %lld]",
                            (long long)j->kdim, (long long)j->nt);
    return VGEN_OK;
}

static void conv_release(conv_job *j) {
    free(j->wconv);
    free(j->col);
    free(j->stage);
}

int vgen_cpu_conv3d_tiled(vgen_backend *be, const vgen_tensor *x, const vgen_tensor *w, const float *bias,
                          const vgen_conv3d_params *p, vgen_tensor *y, size_t col_bytes, int simd, vgen_err *err) {
    const int cpu = vgen_cpu_simd_level();
    conv_job j = {.x = x, .bias = bias, .y = y, .simd = simd < cpu ? simd : cpu,
                  .col_bytes = col_bytes ? col_bytes : COL_BYTES};
    int rc = vgen_ops_check_conv3d("cpu conv3d", VGEN_DEVICE_CPU, x, w, p, y, &j.g, err);
    if (rc || vgen_tensor_numel(y) == 0) return rc;
    if (j.g.cin * j.g.kt * j.g.kh * j.g.kw == 0) { /* empty sum: y = bias */
        for (int64_t co = 0; co < j.g.cout; co++)
            for (int64_t i = 0; i < j.g.fo * j.g.ho * j.g.wo; i++)
                vgen_ops_put(y->data, y->dtype, co * j.g.fo * j.g.ho * j.g.wo + i, bias ? bias[co] : 0.0f);
        return VGEN_OK;
    }
    if (j.simd >= VGEN_SIMD_AVX512) {
        const int bf16 = x->dtype == VGEN_DTYPE_BF16 && w->dtype == VGEN_DTYPE_BF16 && j.simd >= VGEN_SIMD_AVX512_BF16;
        const vgen_conv_src src = {x, j.g, bf16 ? VGEN_DTYPE_BF16 : VGEN_DTYPE_F32, j.simd};
        return vgen_conv3d_blocked(be, &src, w, bias, y, err);
    }
    vgen_gemm *gm = NULL;
    rc = conv_plan(&j, w, err);
    if (!rc) rc = vgen_gemm_new(&gm, err);
    for (j.p0 = 0; !rc && j.p0 < j.npos; j.p0 += j.nt) {
        j.np = j.npos - j.p0 < j.nt ? j.npos - j.p0 : j.nt;
        rc = conv_tile(be, &j, gm, err);
    }
    vgen_gemm_free(&gm);
    conv_release(&j);
    return rc;
}

static int cpu_conv3d(vgen_backend *be, const vgen_tensor *x, const vgen_tensor *w, const float *bias,
                      const vgen_conv3d_params *p, vgen_tensor *y, vgen_err *err) {
    return vgen_cpu_conv3d_tiled(be, x, w, bias, p, y, 0, VGEN_SIMD_AVX512_BF16, err);
}

static int cpu_conv3d_portable(vgen_backend *be, const vgen_tensor *x, const vgen_tensor *w, const float *bias,
                               const vgen_conv3d_params *p, vgen_tensor *y, vgen_err *err) {
    return vgen_cpu_conv3d_tiled(be, x, w, bias, p, y, 0, VGEN_SIMD_NONE, err);
}

void vgen_cpu_conv3d_install(vgen_backend *be, int portable) {
    be->conv3d = portable ? cpu_conv3d_portable : cpu_conv3d;
}

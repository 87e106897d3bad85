// cuda_gemm.cu - linear on the device: y[M, N] = x[M, K] W[N, K]^T + bias[N] (backend.h), through cuBLASLt.
//
// Paths (chosen per call):
//   dequant path (the default; the semantics of backend.h):
//     compute dtype = x's dtype. W already in it (bf16 W with bf16 x, f32 W with f32 x) goes straight to the GEMM;
//     any other format is dequantized to it (cuda_dequant.cu, core/wformat_elem.h: bf16 = round-to-nearest-even of
//     the f32 value, as the reference backend does) in row tiles of at most WTILE_BYTES of scratch.
//     GEMM: bf16 x bf16 or f32 x f32, f32 accumulation and scale (CUBLAS_COMPUTE_32F: true fp32, no TF32).
//     Output: straight into y when y is f32, or y is bf16 and there is no bias (cuBLASLt rounds the f32 sum once);
//     otherwise into an f32 tile of scratch, and the epilogue kernel adds the bias and rounds once to y's dtype. For
//     f32 y with a bias the epilogue adds the bias in place. (No cuBLASLt bias epilogue: its bias must have D's type,
//     and our bias is f32 whatever y is.)
//   fp8 path (opt-in: vgen_cuda_options.fp8_activations, cc >= 8.9, fp8_e4m3_row/_tensor W, K and N multiples of
//     16, W 16-byte aligned): each row (token) of x is quantized to e4m3 with its own scale s_x[m] (the reference
//     fp8 row rule), cuBLASLt multiplies the codes (e4m3 x e4m3, f32 accumulate, f32 output tile), and the epilogue
//     forms y[m, n] = (acc[m, n] * s_w[n]) * s_x[m] + bias[n], rounded once to y's dtype. This is an approximation of
//     backend.h's linear (activations lose precision); if cuBLASLt has no fp8 algorithm for the shape, the call
//     quietly takes the dequant path instead (nothing has been queued at that point).
//
// Row-major to cuBLASLt's column-major. A row-major [R, C] array with row stride ld, read column-major, is a
// [C, R] matrix with leading dimension ld. So with BLAS sizes (m, n, k) = (nc, mc, K) for a tile of nc output
// features and mc rows:
//   A = W tile [nc, K] row-major  = col-major [K, nc], ld K;   op(A) = A^T: [nc, K]   (CUBLAS_OP_T)
//   B = x tile [mc, K] row-major  = col-major [K, mc], ld K;   op(B) = B:   [K, mc]   (CUBLAS_OP_N)
//   D = y tile [mc, nc] inside y[M, N] (row stride N) = col-major [nc, mc], ld N;  D = op(A) op(B) = (x W^T)^T
// This is the "TN" layout that cuBLASLt's fp8 kernels require; the other paths use it too. C = D with beta = 0.
//
// Include order: cuda_impl.h first, so the C headers of core/ get C linkage (see cuda_backend.cu).
#include "cuda/cuda_impl.h"

extern "C" {
#include "checked.h"
#include "ref/linear_check.h"
}

#include <stdint.h>

#include "cuda/cuda_dequant.h"
#include "cuda/cuda_ops.h"
#include "numeric.h"

#define WTILE_BYTES ((size_t)256 << 20)    // dequantized weight tile (scratch)
#define DTILE_BYTES ((size_t)64 << 20)     // f32 GEMM output tile staged for the epilogue (scratch)
#define FP8_TILE_BYTES ((size_t)128 << 20) // fp8 path: e4m3 activations + row scales + f32 output, per row tile
#define ROW_ALIGN 64                       // tile heights are multiples of this (when larger), keeping offsets aligned
#define SCRATCH_ALIGN 256                  // sub-buffers of the scratch start at multiples of this
#define THREADS 256
#define MAX_GRID_X 4096
#define MAX_GRID_Y 65535

// ---- cuBLASLt plans -----------------------------------------------------------------------------------------------

// One GEMM in row-major terms: out[m, n] (row stride ldd) = x[m, k] w[n, k]^T, in the layout described above.
struct lt_gemm {
    cudaDataType_t ab;   // type of w and x
    cudaDataType_t d;    // type of out
    const void *w;       // [n, k] row-major
    const void *x;       // [m, k] row-major
    void *out;           // [m, n], row stride ldd >= n
    int64_t m, n, k, ldd;
};

// Descriptors and the chosen algorithm of one GEMM shape; released by the destructor on every path.
struct lt_plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    cublasLtMatmulAlgo_t algo;
    ~lt_plan() {
        if (pref) (void)cublasLtMatmulPreferenceDestroy(pref);
        if (d) (void)cublasLtMatrixLayoutDestroy(d);
        if (b) (void)cublasLtMatrixLayoutDestroy(b);
        if (a) (void)cublasLtMatrixLayoutDestroy(a);
        if (op) (void)cublasLtMatmulDescDestroy(op);
    }
};

// Largest power of two dividing the address, capped at 256 (cuBLASLt's default assumption, which would select
// kernels that fault on less aligned pointers if we did not state the real alignment).
static uint32_t align_of(const void *p) {
    uint32_t a = 256;
    while (a > 1 && ((uintptr_t)p % a) != 0) a /= 2;
    return a;
}

#define LT_TRY(call, who)                                                                                          \
    do {                                                                                                           \
        cublasStatus_t s_ = (call);                                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS) return vgen_cuda_lt_fail(err, s_, (who));                                 \
    } while (0)

static int plan_layouts(lt_plan *p, const lt_gemm *g, vgen_err *err) {
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    LT_TRY(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cuda linear: matmul descriptor");
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), "cuda linear: transa");
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), "cuda linear: transb");
    // A: col-major [k, n] ld k;  B: col-major [k, m] ld k;  C = D: col-major [n, m] ld ldd
    LT_TRY(cublasLtMatrixLayoutCreate(&p->a, g->ab, (uint64_t)g->k, (uint64_t)g->n, g->k), "cuda linear: layout A");
    LT_TRY(cublasLtMatrixLayoutCreate(&p->b, g->ab, (uint64_t)g->k, (uint64_t)g->m, g->k), "cuda linear: layout B");
    LT_TRY(cublasLtMatrixLayoutCreate(&p->d, g->d, (uint64_t)g->n, (uint64_t)g->m, g->ldd), "cuda linear: layout D");
    return VGEN_OK;
}

static int plan_preference(lt_plan *p, const vgen_cuda_impl *im, const lt_gemm *g, vgen_err *err) {
    const uint64_t ws = im->workspace_bytes;
    const uint32_t al_a = align_of(g->w), al_b = align_of(g->x), al_d = align_of(g->out);
    LT_TRY(cublasLtMatmulPreferenceCreate(&p->pref), "cuda linear: preference");
    LT_TRY(cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
           "cuda linear: workspace preference");
    LT_TRY(cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a,
                                                sizeof al_a), "cuda linear: alignment A");
    LT_TRY(cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b,
                                                sizeof al_b), "cuda linear: alignment B");
    LT_TRY(cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_d,
                                                sizeof al_d), "cuda linear: alignment C");
    LT_TRY(cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_d,
                                                sizeof al_d), "cuda linear: alignment D");
    return VGEN_OK;
}

// Builds the descriptors and asks the heuristic for one algorithm. VGEN_ERR_UNSUPPORTED when cuBLASLt has none
// for this shape / type / alignment combination. The plan is valid for any pointers at least as aligned as g's.
static int plan_make(lt_plan *p, const vgen_cuda_impl *im, const lt_gemm *g, vgen_err *err) {
    int rc = plan_layouts(p, g, err);
    if (!rc) rc = plan_preference(p, im, g, err);
    if (rc) return rc;
    cublasLtMatmulHeuristicResult_t res = {};
    int found = 0;
    cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(im->lt, p->op, p->a, p->b, p->d, p->d, p->pref, 1, &res, &found);
    if (s == CUBLAS_STATUS_NOT_SUPPORTED || (s == CUBLAS_STATUS_SUCCESS && found == 0))
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED,
                            "cuda linear: cuBLASLt has no algorithm for [%lld, %lld] x [%lld, %lld]^T (types %d, %d)",
                            (long long)g->m, (long long)g->k, (long long)g->n, (long long)g->k, (int)g->ab, (int)g->d);
    if (s != CUBLAS_STATUS_SUCCESS) return vgen_cuda_lt_fail(err, s, "cuda linear: heuristic");
    p->algo = res.algo;
    return VGEN_OK;
}

// Queues out = x w^T on the compute stream with the plan's algorithm (alpha 1, beta 0; C = D).
static int plan_run(const lt_plan *p, const vgen_cuda_impl *im, const lt_gemm *g, vgen_err *err) {
    const float alpha = 1.0f, beta = 0.0f;
    LT_TRY(cublasLtMatmul(im->lt, p->op, &alpha, g->w, p->a, g->x, p->b, &beta, g->out, p->d, g->out, p->d, &p->algo,
                          im->workspace, im->workspace_bytes, im->stream),
           "cuda linear: matmul");
    return VGEN_OK;
}

static int gemm(const vgen_cuda_impl *im, const lt_gemm *g, vgen_err *err) {
    lt_plan p;
    int rc = plan_make(&p, im, g, err);
    return rc ? rc : plan_run(&p, im, g, err);
}

// ---- epilogue -----------------------------------------------------------------------------------------------------

static __device__ __forceinline__ void store_out(float *p, float v) { *p = v; }
static __device__ __forceinline__ void store_out(uint16_t *p, float v) { *p = vgen_f32_to_bf16(v); }

// y[r, c] = acc[r, c] * col_scale[c * cs_stride] * row_scale[r] + bias[c] for r < rows, c < cols, each factor only
// when its pointer is set, in that order, rounded once to T. acc: f32, row stride lda; y: row stride ldy. acc may be
// y itself (T = float, lda = ldy): each element is read and written by the same thread.
template <typename T>
static __global__ void epilogue_kernel(const float *acc, int64_t lda, T *y, int64_t ldy, int64_t rows, int64_t cols,
                                       const float *bias, const float *col_scale, int64_t cs_stride,
                                       const float *row_scale) {
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const int64_t c0 = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, step = (int64_t)gridDim.x * blockDim.x;
        for (int64_t c = c0; c < cols; c += step) {
            float v = acc[r * lda + c];
            if (col_scale) v *= col_scale[c * cs_stride];
            if (row_scale) v *= row_scale[r];
            if (bias) v += bias[c];
            store_out(y + r * ldy + c, v);
        }
    }
}

struct epilogue_args {
    const float *acc;
    int64_t lda;
    void *y;              // f32 or bf16 (y_dtype)
    vgen_dtype y_dtype;
    int64_t ldy, rows, cols;
    const float *bias;      // [cols] or NULL
    const float *col_scale; // [cols] (stride 1) or one value (stride 0), or NULL
    int64_t cs_stride;
    const float *row_scale; // [rows] or NULL
};

static int epilogue(const vgen_cuda_impl *im, const epilogue_args *e, vgen_err *err) {
    // x: blocks of THREADS columns, y: rows; both loops in the kernel cover what the grid limits leave
    const int64_t gx = (e->cols + THREADS - 1) / THREADS;
    const dim3 grid((unsigned)(gx < MAX_GRID_X ? gx : MAX_GRID_X),
                    (unsigned)(e->rows < MAX_GRID_Y ? e->rows : MAX_GRID_Y));
    if (e->y_dtype == VGEN_DTYPE_F32)
        epilogue_kernel<float><<<grid, THREADS, 0, im->stream>>>(e->acc, e->lda, (float *)e->y, e->ldy, e->rows,
                                                                 e->cols, e->bias, e->col_scale, e->cs_stride,
                                                                 e->row_scale);
    else
        epilogue_kernel<uint16_t><<<grid, THREADS, 0, im->stream>>>(e->acc, e->lda, (uint16_t *)e->y, e->ldy,
                                                                    e->rows, e->cols, e->bias, e->col_scale,
                                                                    e->cs_stride, e->row_scale);
    VGEN_CUDA_LAUNCHED(err, "cuda linear: epilogue kernel");
    return VGEN_OK;
}

// ---- shared helpers -----------------------------------------------------------------------------------------------

static cudaDataType_t cuda_type(vgen_dtype t) { return t == VGEN_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F; }

static size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

// Rows per tile so that rows * row_bytes <= budget: at least 1, at most total, a multiple of ROW_ALIGN when larger.
static int64_t tile_rows(size_t budget, size_t row_bytes, int64_t total) {
    int64_t t = row_bytes ? (int64_t)(budget / row_bytes) : total;
    if (t >= ROW_ALIGN) t -= t % ROW_ALIGN;
    if (t < 1) t = 1;
    return t < total ? t : total;
}

static const char *at(const void *base, int64_t elems, size_t elem_size) {
    return (const char *)base + (size_t)elems * elem_size;
}

// ---- dequant path -------------------------------------------------------------------------------------------------

// One linear call (both paths; the path and tile fields are the dequant path's). x [M, K], W [N, K], y [M, N].
struct lin_call {
    const vgen_tensor *x;
    const vgen_qmatrix *w;
    const float *bias;
    vgen_tensor *y;
    int64_t m, n, k;
    vgen_dtype cdt;   // compute dtype = x's dtype (f32 or bf16)
    size_t ces, yes;  // element sizes of the compute dtype and of y
    bool direct;      // W is already in the compute dtype: the GEMM reads it in place
    bool d_in_y;      // the GEMM writes y (else an f32 tile of scratch, then the epilogue)
    int64_t nt, mt;   // tile heights along N (weights) and along M (f32 output staging)
    size_t w_bytes, d_bytes;
};

// Paths and tiles (c's operands, sizes and dtypes set); VGEN_ERR_OUT_OF_MEMORY if K overflows a size.
static int lin_resolve(lin_call *c, vgen_err *err) {
    const vgen_wformat f = c->w->format;
    c->direct = (f == VGEN_WF_F32 && c->cdt == VGEN_DTYPE_F32) || (f == VGEN_WF_BF16 && c->cdt == VGEN_DTYPE_BF16);
    c->d_in_y = c->y->dtype == VGEN_DTYPE_F32 || (c->cdt == VGEN_DTYPE_BF16 && !c->bias);
    size_t wrow;
    if (!vgen_mul_size((size_t)c->k, c->ces, &wrow))
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cuda linear: K = %lld is too large", (long long)c->k);
    c->nt = c->direct ? c->n : tile_rows(WTILE_BYTES, wrow, c->n);
    c->mt = c->d_in_y ? c->m : tile_rows(DTILE_BYTES, (size_t)c->nt * sizeof(float), c->m);
    c->w_bytes = c->direct ? 0 : (size_t)c->nt * wrow;
    c->d_bytes = c->d_in_y ? 0 : (size_t)c->mt * (size_t)c->nt * sizeof(float);
    return VGEN_OK;
}

// Rows [m0, m0 + mc) of the output tile of features [n0, n0 + nc): GEMM, then the epilogue when needed.
static int lin_tile(const vgen_cuda_impl *im, const lin_call *c, const void *wt, float *dtile, int64_t n0, int64_t nc,
                    int64_t m0, int64_t mc, vgen_err *err) {
    char *ytile = (char *)c->y->data + (size_t)(m0 * c->n + n0) * c->yes;
    lt_gemm g;
    g.ab = cuda_type(c->cdt);
    g.d = c->d_in_y ? cuda_type(c->y->dtype) : CUDA_R_32F;
    g.w = wt;
    g.x = at(c->x->data, m0 * c->k, c->ces);
    g.out = c->d_in_y ? (void *)ytile : (void *)dtile;
    g.m = mc;
    g.n = nc;
    g.k = c->k;
    g.ldd = c->d_in_y ? c->n : nc;
    int rc = gemm(im, &g, err);
    if (rc || (c->d_in_y && !c->bias)) return rc;
    // d_in_y with a bias: y is f32 (lin_resolve), the bias is added in place; otherwise round the f32 tile into y.
    epilogue_args e = {(const float *)g.out, g.ldd, ytile, c->y->dtype, c->n, mc, nc,
                       c->bias ? c->bias + n0 : NULL, NULL, 0, NULL};
    return epilogue(im, &e, err);
}

static int linear_dequant(vgen_backend *be, lin_call *c, vgen_err *err) {
    vgen_cuda_impl *im = vgen_cuda_impl_of(be);
    int rc = lin_resolve(c, err);
    if (rc) return rc;
    // scratch: [weight tile: nt x K, compute dtype] [f32 output tile: mt x nt]
    const size_t w_off = 0, d_off = round_up(c->w_bytes, SCRATCH_ALIGN);
    char *scratch = NULL;
    if (c->w_bytes + c->d_bytes) {
        scratch = (char *)vgen_cuda_scratch(be, d_off + c->d_bytes, err);
        if (!scratch) return err ? err->code : VGEN_ERR_OUT_OF_MEMORY;
    }
    for (int64_t n0 = 0; n0 < c->n; n0 += c->nt) {
        const int64_t nc = c->n - n0 < c->nt ? c->n - n0 : c->nt;
        const void *wt = c->direct ? (const void *)at(c->w->data, n0 * c->k, c->ces) : (const void *)(scratch + w_off);
        if (!c->direct) rc = vgen_cuda_dequant_rows(c->w, n0, nc, c->cdt, scratch + w_off, im->stream, err);
        for (int64_t m0 = 0; !rc && m0 < c->m; m0 += c->mt) {
            const int64_t mc = c->m - m0 < c->mt ? c->m - m0 : c->mt;
            rc = lin_tile(im, c, wt, (float *)(scratch + d_off), n0, nc, m0, mc, err);
        }
        if (rc) return rc;
    }
    return VGEN_OK;
}

// ---- fp8 path -----------------------------------------------------------------------------------------------------

static bool fp8_eligible(const vgen_cuda_impl *im, const vgen_qmatrix *w) {
    const bool cc_ok = im->cc_major > 8 || (im->cc_major == 8 && im->cc_minor >= 9);
    const bool fmt_ok = w->format == VGEN_WF_FP8_E4M3_ROW || w->format == VGEN_WF_FP8_E4M3_TENSOR;
    // cuBLASLt fp8: TN layout, 16-byte aligned matrices and leading dimensions (K bytes for A and B; N f32 for D).
    return im->fp8_activations && cc_ok && fmt_ok && w->cols % 16 == 0 && w->rows % 16 == 0 &&
           (uintptr_t)w->data % 16 == 0;
}

// Scratch of the fp8 path for row tiles of mt rows: [xq: mt x K e4m3] [sx: mt f32] [acc: mt x N f32].
struct fp8_scratch {
    uint8_t *xq;
    float *sx, *acc;
};

// Runs the fp8 path; *fell_back = true (and nothing queued) when cuBLASLt has no fp8 algorithm for the shape.
static int linear_fp8(vgen_backend *be, const lin_call *c, bool *fell_back, vgen_err *err) {
    vgen_cuda_impl *im = vgen_cuda_impl_of(be);
    *fell_back = false;
    const size_t row_bytes = (size_t)c->k + sizeof(float) + (size_t)c->n * sizeof(float);
    const int64_t mt = tile_rows(FP8_TILE_BYTES, row_bytes, c->m);
    const size_t xq_bytes = round_up((size_t)mt * (size_t)c->k, SCRATCH_ALIGN);
    const size_t sx_bytes = round_up((size_t)mt * sizeof(float), SCRATCH_ALIGN);
    char *base = (char *)vgen_cuda_scratch(be, xq_bytes + sx_bytes + (size_t)mt * (size_t)c->n * sizeof(float), err);
    if (!base) return err ? err->code : VGEN_ERR_OUT_OF_MEMORY;
    const fp8_scratch s = {(uint8_t *)base, (float *)(base + xq_bytes), (float *)(base + xq_bytes + sx_bytes)};
    // Plans for the full tile and the last (shorter) one, before anything is queued, so a missing fp8 algorithm
    // can still fall back to the dequant path.
    lt_gemm g = {CUDA_R_8F_E4M3, CUDA_R_32F, c->w->data, s.xq, s.acc, mt, c->n, c->k, c->n};
    const int64_t last = c->m % mt;
    lt_gemm g_last = g;
    g_last.m = last;
    lt_plan full, tail;
    vgen_err probe = {};
    int rc = plan_make(&full, im, &g, &probe);
    if (!rc && last) rc = plan_make(&tail, im, &g_last, &probe);
    if (rc == VGEN_ERR_UNSUPPORTED) {
        *fell_back = true;
        return VGEN_OK;
    }
    if (rc) return vgen_err_set(err, rc, "%s", probe.msg);
    const vgen_dtype xdt = c->x->dtype;
    for (int64_t m0 = 0; m0 < c->m; m0 += mt) {
        const int64_t mc = c->m - m0 < mt ? c->m - m0 : mt;
        rc = vgen_cuda_quantize_rows_e4m3(at(c->x->data, m0 * c->k, c->ces), xdt, mc, c->k, s.xq, s.sx, im->stream,
                                          err);
        if (!rc) rc = plan_run(mc == mt ? &full : &tail, im, mc == mt ? &g : &g_last, err);
        if (rc) return rc;
        // y[m0 + r, n] = acc[r, n] * s_w[n] * s_x[r] + bias[n]; s_w per row of W, or one per tensor (stride 0)
        const int64_t cs_stride = c->w->format == VGEN_WF_FP8_E4M3_ROW ? 1 : 0;
        epilogue_args e = {s.acc, c->n, (char *)c->y->data + (size_t)(m0 * c->n) * c->yes, c->y->dtype, c->n, mc,
                           c->n, c->bias, c->w->scales, cs_stride, s.sx};
        rc = epilogue(im, &e, err);
        if (rc) return rc;
    }
    return VGEN_OK;
}

// ---- the op -------------------------------------------------------------------------------------------------------

int vgen_cuda_linear(vgen_backend *be, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias, vgen_tensor *y,
                     vgen_err *err) {
    int64_t m = 0;
    int rc = vgen_linear_check_on("cuda", VGEN_DEVICE_CUDA, x, w, y, &m, err);
    if (rc || m == 0) return rc;
    lin_call c = {};
    c.x = x;
    c.w = w;
    c.bias = bias;
    c.y = y;
    c.m = m;
    c.n = w->rows;
    c.k = w->cols;
    c.cdt = x->dtype;
    c.ces = vgen_dtype_size(x->dtype);
    c.yes = vgen_dtype_size(y->dtype);
    if (fp8_eligible(vgen_cuda_impl_of(be), w)) {
        bool fell_back = false;
        rc = linear_fp8(be, &c, &fell_back, err);
        if (rc || !fell_back) return rc;
    }
    return linear_dequant(be, &c, err);
}

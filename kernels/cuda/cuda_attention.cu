// cuda_attention.cu - attention (backend.h): out[Lq, H, Dh] = softmax_k(scale q k^T + bias) v per head, on the
// backend's compute stream. Two implementations:
//
// vgen_cuda_attention - memory-efficient, flash-attention style (the installed op). Grid (ceil(Lq / FA_BQ), H): a
//   block owns FA_BQ = 16 query rows of one head, 4 warps of 4 rows each. The block walks the keys in tiles of
//   FA_BK = 32 held in shared memory as f32 (k and v widened exactly from bf16). Per tile, lane j of a warp computes
//   the scores of key j against the warp's 4 rows (t = scale q.k + bias, -inf past Lk), then each row runs one step
//   of the online softmax: m' = max(m, max_j t_j), p_j = exp(t_j - m'), l = l exp(m - m') + sum_j p_j, and the
//   accumulator (lane owns head dims lane, lane + 32, ...) is rescaled by exp(m - m') before adding sum_j p_j v_j.
//   At the end out = acc / l, or 0 when l = 0 (every key masked by -inf, or Lk = 0): the reference's definition.
//   Extra memory: none beyond shared memory, so O(Lq) overall. Compute is f32 on CUDA cores (no tensor cores).
//   Head dims up to FA_MAX_DH = 128; larger ones (the Wan VAE's single head of 384) and more than 65535 heads go to
//   the chunked path below, so the op accepts every call the reference accepts.
//
// vgen_cuda_attention_chunked - the reference path, built from cuBLASLt GEMMs: q, k, v are first packed head-major
//   as f32 (qp [H, Lq, dhp], kp and vp [H, Lk, dhp], dhp = Dh rounded up to 4 so every row is 16-byte aligned);
//   then for each chunk of cq query rows: S[h] = scale kp[h] qp[h, chunk]^T by one strided-batched GEMM over the
//   heads, a row softmax kernel (+ bias, -inf masking, fully masked rows -> 0), O[h] = P[h] vp[h] by a second
//   batched GEMM, and O is scattered back to out[q0 + i, h, :] in out's dtype. cq is chosen so the scores
//   [H, cq, Lk] stay within CHUNK_SCORES_BYTES. GEMMs are f32 x f32 -> f32 with CUBLAS_COMPUTE_32F (no TF32).
//
// Neither path has run on a GPU yet (see docs/cuda.md).
#include <math.h>
#include <stdint.h>

#include "cuda_impl.h"
#include "cuda_ops.h"
#include "elem_math.h"
#include "ref/ops_ref.h"

#define FULL_MASK 0xffffffffu

static __device__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

static __device__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// ==================================================================================================================
// Flash-style kernel
// ==================================================================================================================

#define FA_WARPS 4
#define FA_ROWS 4                  // query rows per warp
#define FA_BQ (FA_WARPS * FA_ROWS) // query rows per block
#define FA_BK 32                   // keys per tile: one per lane
#define FA_MAX_DH 128
#define FA_DPL (FA_MAX_DH / 32)    // head dims per lane in the accumulator
#define FA_THREADS (FA_WARPS * 32)
#define FA_MAX_HEADS 65535         // gridDim.y

typedef struct fa_args {
    const void *q, *k, *v; // [Lq, H, Dh], [Lk, H, Dh], [Lk, H, Dh]
    vgen_dtype qdt, kdt, vdt;
    const float *bias;     // [H, Lq, Lk] or NULL
    void *out;             // [Lq, H, Dh]
    vgen_dtype odt;
    float scale;
    int64_t lq, lk, h;
    int dh;
    int kst;               // row stride of the key tile in shared memory: odd, so lane j's row k[j, d] falls in
                           // bank (j kst + d) mod 32, distinct across the warp
} fa_args;

// Shared memory of a block, in floats: qs [FA_BQ][dh], ks [FA_BK][kst], vs [FA_BK][dh], ps [FA_BQ][FA_BK].
static size_t fa_shared_floats(int dh, int kst) {
    return (size_t)FA_BQ * dh + (size_t)FA_BK * kst + (size_t)FA_BK * dh + (size_t)FA_BQ * FA_BK;
}

// dst[r][d] (row stride st) = src[r0 + r, h, d] as f32 for r < rows, d < dh; rows at or past n are zero.
static __device__ void fa_load_tile(float *dst, int st, const void *src, vgen_dtype dt, int64_t r0, int64_t n,
                                    int rows, int64_t h, int64_t heads, int dh) {
    for (int e = threadIdx.x; e < rows * dh; e += blockDim.x) {
        const int r = e / dh, d = e - r * dh;
        const int64_t row = r0 + r;
        dst[r * st + d] = row < n ? vgen_elem_load(src, dt, (row * heads + h) * dh + d) : 0.0f;
    }
}

// s[r] = q[row0 + r] . k[lane] for the warp's rows: qw = qs + row0 dh, kr = the lane's key row.
static __device__ void fa_scores(const float *qw, const float *kr, int dh, float s[FA_ROWS]) {
    for (int r = 0; r < FA_ROWS; r++) s[r] = 0.0f;
    for (int d = 0; d < dh; d++) {
        const float kv = kr[d];
        for (int r = 0; r < FA_ROWS; r++) s[r] += qw[r * dh + d] * kv;
    }
}

// acc[r][c] += sum_{j < nk} p[r][j] v[j][lane + 32 c]: pw = the warp's probabilities [FA_ROWS][FA_BK].
static __device__ void fa_accumulate(const float *pw, const float *vs, int dh, int nk, int lane,
                                     float acc[FA_ROWS][FA_DPL]) {
    for (int j = 0; j < nk; j++) {
        float p[FA_ROWS];
        for (int r = 0; r < FA_ROWS; r++) p[r] = pw[r * FA_BK + j];
        const float *vr = vs + j * dh;
        for (int c = 0; c < FA_DPL; c++) {
            const int d = lane + 32 * c;
            if (d >= dh) break;
            const float vv = vr[d];
            for (int r = 0; r < FA_ROWS; r++) acc[r][c] += p[r] * vv;
        }
    }
}

static __global__ void __launch_bounds__(FA_THREADS) fa_kernel(fa_args a) {
    extern __shared__ float sm[];
    float *qs = sm, *ks = qs + FA_BQ * a.dh, *vs = ks + FA_BK * a.kst, *ps = vs + FA_BK * a.dh;
    const int64_t h = blockIdx.y, q0 = (int64_t)blockIdx.x * FA_BQ;
    const int lane = threadIdx.x & 31, row0 = (threadIdx.x >> 5) * FA_ROWS; // the warp's first row in the tile
    fa_load_tile(qs, a.dh, a.q, a.qdt, q0, a.lq, FA_BQ, h, a.h, a.dh);

    float acc[FA_ROWS][FA_DPL], m[FA_ROWS], l[FA_ROWS];
    for (int r = 0; r < FA_ROWS; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
        for (int c = 0; c < FA_DPL; c++) acc[r][c] = 0.0f;
    }
    for (int64_t k0 = 0; k0 < a.lk; k0 += FA_BK) {
        const int nk = (int)(a.lk - k0 < FA_BK ? a.lk - k0 : FA_BK);
        __syncthreads(); // qs is loaded; every warp is done with the previous ks, vs and ps
        fa_load_tile(ks, a.kst, a.k, a.kdt, k0, a.lk, FA_BK, h, a.h, a.dh);
        fa_load_tile(vs, a.dh, a.v, a.vdt, k0, a.lk, FA_BK, h, a.h, a.dh);
        __syncthreads();
        float s[FA_ROWS];
        fa_scores(qs + row0 * a.dh, ks + lane * a.kst, a.dh, s);
        for (int r = 0; r < FA_ROWS; r++) {
            const int64_t qi = q0 + row0 + r;
            float t = -INFINITY; // keys past Lk weigh nothing
            if (lane < nk) {
                t = a.scale * s[r];
                if (a.bias && qi < a.lq) t += a.bias[(h * a.lq + qi) * a.lk + k0 + lane];
            }
            const float m_new = fmaxf(m[r], warp_max(t));
            // While every key so far is masked, m_new = -inf: nothing to rescale and every p is 0 (exp(-inf + inf)
            // would be NaN).
            const float alpha = m_new == -INFINITY ? 1.0f : expf(m[r] - m_new);
            const float p = t == -INFINITY ? 0.0f : expf(t - m_new);
            l[r] = l[r] * alpha + warp_sum(p);
            m[r] = m_new;
            ps[(row0 + r) * FA_BK + lane] = p;
            for (int c = 0; c < FA_DPL; c++) acc[r][c] *= alpha;
        }
        __syncwarp(); // the warp's probabilities are visible to all its lanes
        fa_accumulate(ps + row0 * FA_BK, vs, a.dh, nk, lane, acc);
    }
    for (int r = 0; r < FA_ROWS; r++) {
        const int64_t qi = q0 + row0 + r;
        if (qi >= a.lq) break;
        for (int c = 0; c < FA_DPL; c++) {
            const int d = lane + 32 * c;
            if (d >= a.dh) break;
            vgen_elem_store(a.out, a.odt, (qi * a.h + h) * a.dh + d, l[r] > 0.0f ? acc[r][c] / l[r] : 0.0f);
        }
    }
}

// Shapes are validated and non-empty. VGEN_ERR_UNSUPPORTED past FA_MAX_DH or FA_MAX_HEADS (the entry point sends
// those calls to the chunked path).
static int flash_attention(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                           float scale, const vgen_tensor *bias, vgen_tensor *out, const vgen_attn_dims *d,
                           vgen_err *err) {
    if (d->dh > FA_MAX_DH || d->h > FA_MAX_HEADS)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "cuda attention: head dim %lld (max %d) or %lld heads (max %d)",
                            (long long)d->dh, FA_MAX_DH, (long long)d->h, FA_MAX_HEADS);
    fa_args a = {q->data, k->data, v->data, q->dtype, k->dtype, v->dtype, bias ? (const float *)bias->data : NULL,
                 out->data, out->dtype, scale, d->lq, d->lk, d->h, (int)d->dh, 0};
    a.kst = a.dh % 2 ? a.dh : a.dh + 1;
    const size_t smem = fa_shared_floats(a.dh, a.kst) * sizeof(float); // <= 43136 bytes: under the 48 KiB default
    const dim3 grid((unsigned)((d->lq + FA_BQ - 1) / FA_BQ), (unsigned)d->h);
    fa_kernel<<<grid, FA_THREADS, smem, vgen_cuda_impl_of(be)->stream>>>(a);
    VGEN_CUDA_LAUNCHED(err, "cuda attention");
    return VGEN_OK;
}

// ==================================================================================================================
// Chunked reference path (cuBLASLt)
// ==================================================================================================================

#define CHUNK_SCORES_BYTES ((size_t)128 << 20) // scores of one chunk, [H, cq, Lk] f32
#define SM_THREADS 256                         // softmax: one block per score row
#define PACK_THREADS 256
#define PACK_MAX_BLOCKS 65536

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// ---- packing: [L, H, Dh] (any activation dtype) <-> head-major f32 [H, L, dhp] ----

// dst[h, l, d] = src[l, h, d] as f32 (row stride dhp >= dh; the padding is never read).
static __global__ void pack_heads_kernel(const void *src, vgen_dtype dt, int64_t l_dim, int64_t heads, int64_t dh,
                                         int64_t dhp, float *dst) {
    const int64_t n = l_dim * heads * dh;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t l = e / (heads * dh), h = (e / dh) % heads, d = e % dh;
        dst[(h * l_dim + l) * dhp + d] = vgen_elem_load(src, dt, e);
    }
}

// out[q0 + i, h, d] = o[h, i, d] for i < n (o: [H, n, dhp] f32), rounded to out's dtype.
static __global__ void unpack_heads_kernel(const float *o, int64_t n, int64_t heads, int64_t dh, int64_t dhp,
                                           void *out, vgen_dtype odt, int64_t q0) {
    const int64_t total = n * heads * dh;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t i = e / (heads * dh), h = (e / dh) % heads, d = e % dh;
        vgen_elem_store(out, odt, q0 * heads * dh + e, o[(h * n + i) * dhp + d]);
    }
}

static unsigned pack_blocks(int64_t n) {
    const int64_t b = (n + PACK_THREADS - 1) / PACK_THREADS;
    return (unsigned)(b < PACK_MAX_BLOCKS ? b : PACK_MAX_BLOCKS);
}

// ---- row softmax of the scores ----

// The max (is_max) or the sum of v over the block, identical in every thread. sh: 32 floats of shared memory.
static __device__ float sm_block_reduce(float v, int is_max, float *sh) {
    v = is_max ? warp_max(v) : warp_sum(v);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    __syncthreads(); // the previous reduction's readers of sh are done
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    float r = sh[0];
    for (int w = 1; w < n_warps; w++) r = is_max ? fmaxf(r, sh[w]) : r + sh[w];
    return r;
}

typedef struct softmax_args {
    float *s;           // [H, n, lks]: scale q.k of chunk rows q0 .. q0 + n, rows of Lk valid scores
    const float *bias;  // [H, Lq, Lk] or NULL
    int64_t n, lks, lq, lk, q0;
} softmax_args;

// Row r = (h, i) of s: t = s + bias, p = exp(t - max t) / sum; a row with every t = -inf becomes 0.
static __global__ void __launch_bounds__(SM_THREADS) softmax_rows_kernel(softmax_args a) {
    __shared__ float sh[32];
    const int64_t r = blockIdx.x, h = r / a.n, i = r % a.n;
    float *row = a.s + r * a.lks;
    const float *b = a.bias ? a.bias + (h * a.lq + a.q0 + i) * a.lk : NULL;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < a.lk; j += blockDim.x) {
        const float t = b ? row[j] + b[j] : row[j];
        row[j] = t;
        mx = fmaxf(mx, t);
    }
    mx = sm_block_reduce(mx, 1, sh);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < a.lk; j += blockDim.x) {
        const float p = mx == -INFINITY ? 0.0f : expf(row[j] - mx);
        row[j] = p;
        sum += p;
    }
    sum = sm_block_reduce(sum, 0, sh);
    for (int64_t j = threadIdx.x; j < a.lk; j += blockDim.x) row[j] = sum > 0.0f ? row[j] / sum : 0.0f;
}

// ---- strided-batched f32 GEMM through cuBLASLt ----
//
// Column-major throughout: D = alpha op(A) B with op(A) m x k, B k x n, D m x n (beta = 0). A is stored k x m when
// trans_a (op(A) = A^T), else m x k. Each operand is `batch` matrices `stride` elements apart.
typedef struct lt_gemm {
    int64_t m, n, k;
    int trans_a;
    const float *a;
    int64_t lda, stride_a;
    const float *b;
    int64_t ldb, stride_b;
    float *d;
    int64_t ldd, stride_d;
    int batch;
    float alpha;
} lt_gemm;

// The largest power of two (<= 256) dividing the address and every byte step from it: what the algorithm may
// assume about the operand's alignment.
static uint32_t lt_alignment(const void *p, int64_t ld, int64_t stride) {
    const uint64_t x = (uint64_t)(uintptr_t)p | (uint64_t)ld * 4u | (uint64_t)stride * 4u | 256u;
    return (uint32_t)(x & (~x + 1u));
}

static cublasStatus_t lt_layout(cublasLtMatrixLayout_t *l, int64_t rows, int64_t cols, int64_t ld, int batch,
                                int64_t stride) {
    cublasStatus_t s = cublasLtMatrixLayoutCreate(l, CUDA_R_32F, (uint64_t)rows, (uint64_t)cols, ld);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride);
    return s;
}

typedef struct lt_objects {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatmulPreference_t pref;
} lt_objects;

static void lt_objects_free(lt_objects *o) {
    if (o->pref) cublasLtMatmulPreferenceDestroy(o->pref);
    if (o->ld) cublasLtMatrixLayoutDestroy(o->ld);
    if (o->lb) cublasLtMatrixLayoutDestroy(o->lb);
    if (o->la) cublasLtMatrixLayoutDestroy(o->la);
    if (o->op) cublasLtMatmulDescDestroy(o->op);
}

// The descriptors of g: f32 compute (CUBLAS_COMPUTE_32F: no TF32), the preference with the workspace limit and
// the operands' real alignments.
static cublasStatus_t lt_describe(const vgen_cuda_impl *im, const lt_gemm *g, lt_objects *o) {
    const cublasOperation_t ta = g->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
    const uint64_t ws = im->workspace_bytes;
    const uint32_t al_a = lt_alignment(g->a, g->lda, g->stride_a), al_b = lt_alignment(g->b, g->ldb, g->stride_b),
                   al_d = lt_alignment(g->d, g->ldd, g->stride_d);
    cublasStatus_t s = cublasLtMatmulDescCreate(&o->op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    if (!s) s = cublasLtMatmulDescSetAttribute(o->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    if (!s) s = cublasLtMatmulDescSetAttribute(o->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    if (!s) s = lt_layout(&o->la, g->trans_a ? g->k : g->m, g->trans_a ? g->m : g->k, g->lda, g->batch, g->stride_a);
    if (!s) s = lt_layout(&o->lb, g->k, g->n, g->ldb, g->batch, g->stride_b);
    if (!s) s = lt_layout(&o->ld, g->m, g->n, g->ldd, g->batch, g->stride_d);
    if (!s) s = cublasLtMatmulPreferenceCreate(&o->pref);
    if (!s) s = cublasLtMatmulPreferenceSetAttribute(o->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (!s) s = cublasLtMatmulPreferenceSetAttribute(o->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a,
                                                     sizeof al_a);
    if (!s) s = cublasLtMatmulPreferenceSetAttribute(o->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b,
                                                     sizeof al_b);
    if (!s) s = cublasLtMatmulPreferenceSetAttribute(o->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_d,
                                                     sizeof al_d);
    if (!s) s = cublasLtMatmulPreferenceSetAttribute(o->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_d,
                                                     sizeof al_d);
    return s;
}

static int lt_sgemm(vgen_backend *be, const lt_gemm *g, vgen_err *err) {
    const vgen_cuda_impl *im = vgen_cuda_impl_of(be);
    lt_objects o = {NULL, NULL, NULL, NULL, NULL};
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    const float beta = 0.0f;
    cublasStatus_t s = lt_describe(im, g, &o);
    if (!s) s = cublasLtMatmulAlgoGetHeuristic(im->lt, o.op, o.la, o.lb, o.ld, o.ld, o.pref, 1, &res, &found);
    if (!s && found < 1) s = CUBLAS_STATUS_NOT_SUPPORTED;
    if (!s)
        s = cublasLtMatmul(im->lt, o.op, &g->alpha, g->a, o.la, g->b, o.lb, &beta, g->d, o.ld, g->d, o.ld, &res.algo,
                           im->workspace, im->workspace_bytes, im->stream);
    lt_objects_free(&o);
    return s ? vgen_cuda_lt_fail(err, s, "cuda attention_chunked") : VGEN_OK;
}

// ---- the chunked path ----

typedef struct chunk_plan {
    int64_t lq, lk, h, dh;
    int64_t dhp, lks;  // padded row lengths: head dim and score row (multiples of 4 floats)
    int64_t cq;        // query rows per chunk
    float *qp, *kp, *vp, *s, *o; // [H, Lq, dhp], [H, Lk, dhp] x 2, [H, cq, lks], [H, cq, dhp]
} chunk_plan;

// Sizes of the plan's buffers and one scratch block holding them (each 256-byte aligned).
static int chunk_plan_new(vgen_backend *be, const vgen_attn_dims *d, chunk_plan *p, vgen_err *err) {
    *p = (chunk_plan){d->lq, d->lk, d->h, d->dh, round_up(d->dh, 4), round_up(d->lk, 4), 1, NULL, NULL, NULL,
                      NULL, NULL};
    const int64_t row_bytes = p->h * p->lks * (int64_t)sizeof(float); // scores of one query row, every head
    p->cq = (int64_t)CHUNK_SCORES_BYTES / row_bytes;
    if (p->cq < 1) p->cq = 1;
    if (p->cq > p->lq) p->cq = p->lq;
    const int64_t n[5] = {p->h * p->lq * p->dhp, p->h * p->lk * p->dhp, p->h * p->lk * p->dhp,
                          p->h * p->cq * p->lks, p->h * p->cq * p->dhp};
    int64_t off[5], total = 0;
    for (int i = 0; i < 5; i++) {
        off[i] = total;
        total += round_up(n[i] * (int64_t)sizeof(float), 256);
    }
    char *base = (char *)vgen_cuda_scratch(be, (size_t)total, err);
    if (!base) return err ? err->code : VGEN_ERR_OUT_OF_MEMORY;
    p->qp = (float *)(base + off[0]);
    p->kp = (float *)(base + off[1]);
    p->vp = (float *)(base + off[2]);
    p->s = (float *)(base + off[3]);
    p->o = (float *)(base + off[4]);
    return VGEN_OK;
}

static int pack(const vgen_tensor *t, int64_t l_dim, const chunk_plan *p, float *dst, cudaStream_t st,
                vgen_err *err) {
    const int64_t n = l_dim * p->h * p->dh;
    pack_heads_kernel<<<pack_blocks(n), PACK_THREADS, 0, st>>>(t->data, t->dtype, l_dim, p->h, p->dh, p->dhp, dst);
    VGEN_CUDA_LAUNCHED(err, "cuda attention_chunked");
    return VGEN_OK;
}

// Row-major, S[h][i][j] = scale qp[h, q0 + i, :] . kp[h, j, :] for i < n, j < Lk (rows of lks floats).
// Column-major (cuBLASLt), that memory is S[h]^T, Lk x n with ld lks, and S^T = scale kp[h] qp[h, chunk]^T:
//   A = kp[h]: row-major [Lk, dhp] is column-major Dh x Lk (ld dhp, k x m), used transposed: op(A) = Lk x Dh;
//   B = qp[h] from row q0: column-major Dh x n (ld dhp, k x n);
//   D = S[h]: Lk x n (ld lks).
// Batched over the heads with strides Lk dhp (A), Lq dhp (B) and n lks (D).
static int chunk_scores(vgen_backend *be, const chunk_plan *p, int64_t q0, int64_t n, float scale, vgen_err *err) {
    const lt_gemm g = {p->lk, n, p->dh, 1, p->kp, p->dhp, p->lk * p->dhp, p->qp + q0 * p->dhp, p->dhp,
                       p->lq * p->dhp, p->s, p->lks, n * p->lks, (int)p->h, scale};
    return lt_sgemm(be, &g, err);
}

// Row-major, O[h] [n, Dh] = P[h] [n, Lk] vp[h] [Lk, Dh]. Column-major, O[h]^T = vp[h]^T P[h]^T:
//   A = vp[h]: row-major [Lk, dhp] is column-major Dh x Lk (ld dhp, m x k), not transposed;
//   B = P[h] (the softmaxed S[h]): column-major Lk x n (ld lks, k x n);
//   D = o[h]: Dh x n (ld dhp), i.e. row-major [n, dhp].
// Batched over the heads with strides Lk dhp (A), n lks (B) and n dhp (D).
static int chunk_output(vgen_backend *be, const chunk_plan *p, int64_t n, vgen_err *err) {
    const lt_gemm g = {p->dh, n, p->lk, 0, p->vp, p->dhp, p->lk * p->dhp, p->s, p->lks, n * p->lks, p->o, p->dhp,
                       n * p->dhp, (int)p->h, 1.0f};
    return lt_sgemm(be, &g, err);
}

static int chunk_run(vgen_backend *be, const chunk_plan *p, int64_t q0, float scale, const vgen_tensor *bias,
                     vgen_tensor *out, vgen_err *err) {
    cudaStream_t st = vgen_cuda_impl_of(be)->stream;
    const int64_t n = p->lq - q0 < p->cq ? p->lq - q0 : p->cq;
    int rc = chunk_scores(be, p, q0, n, scale, err);
    if (rc) return rc;
    const softmax_args sa = {p->s, bias ? (const float *)bias->data : NULL, n, p->lks, p->lq, p->lk, q0};
    softmax_rows_kernel<<<(unsigned)(p->h * n), SM_THREADS, 0, st>>>(sa);
    VGEN_CUDA_LAUNCHED(err, "cuda attention_chunked");
    rc = chunk_output(be, p, n, err);
    if (rc) return rc;
    unpack_heads_kernel<<<pack_blocks(n * p->h * p->dh), PACK_THREADS, 0, st>>>(p->o, n, p->h, p->dh, p->dhp,
                                                                                 out->data, out->dtype, q0);
    VGEN_CUDA_LAUNCHED(err, "cuda attention_chunked");
    return VGEN_OK;
}

// Shapes are validated and lq h dh > 0.
static int chunked_attention(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                             float scale, const vgen_tensor *bias, vgen_tensor *out, const vgen_attn_dims *d,
                             vgen_err *err) {
    cudaStream_t st = vgen_cuda_impl_of(be)->stream;
    if (d->lk == 0) { // no keys: out = 0, like a fully masked row (zero bits are 0 in f32 and bf16)
        VGEN_CUDA_TRY(cudaMemsetAsync(out->data, 0, vgen_tensor_bytes(out), st), err, "cuda attention_chunked");
        return VGEN_OK;
    }
    chunk_plan p;
    int rc = chunk_plan_new(be, d, &p, err);
    if (!rc) rc = pack(q, d->lq, &p, p.qp, st, err);
    if (!rc) rc = pack(k, d->lk, &p, p.kp, st, err);
    if (!rc) rc = pack(v, d->lk, &p, p.vp, st, err);
    for (int64_t q0 = 0; !rc && q0 < d->lq; q0 += p.cq) rc = chunk_run(be, &p, q0, scale, bias, out, err);
    return rc;
}

// ==================================================================================================================
// Entry points
// ==================================================================================================================

extern "C" int vgen_cuda_attention(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v,
                                   float scale, const vgen_tensor *bias, vgen_tensor *out, vgen_err *err) {
    vgen_attn_dims d;
    int rc = vgen_ops_check_attention("cuda attention", VGEN_DEVICE_CUDA, q, k, v, bias, out, &d, err);
    if (rc || d.lq * d.h * d.dh == 0) return rc;
    if (d.dh > FA_MAX_DH || d.h > FA_MAX_HEADS) return chunked_attention(be, q, k, v, scale, bias, out, &d, err);
    return flash_attention(be, q, k, v, scale, bias, out, &d, err);
}

extern "C" int vgen_cuda_attention_chunked(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k,
                                           const vgen_tensor *v, float scale, const vgen_tensor *bias,
                                           vgen_tensor *out, vgen_err *err) {
    vgen_attn_dims d;
    int rc = vgen_ops_check_attention("cuda attention_chunked", VGEN_DEVICE_CUDA, q, k, v, bias, out, &d, err);
    if (rc || d.lq * d.h * d.dh == 0) return rc;
    return chunked_attention(be, q, k, v, scale, bias, out, &d, err);
}

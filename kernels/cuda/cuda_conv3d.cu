// cuda_conv3d.cu - 3-D convolution (backend.h) as an implicit GEMM, on the backend's compute stream:
//
//   y[co, p] = bias[co] + sum_kk w[co, kk] col[kk, p]      y [Cout, P], P = F' H' W';  w [Cout, K], K = Cin kt kh kw
//   col[kk, p] = x[ci, to st + a - pt, ho sh + b - ph, wo sw + c - pw]   (0 in the zero padding)
//   with kk = ((ci kt + a) kh + b) kw + c and p = (to H' + ho) W' + wo,
//
// the reference's sum (kernels/ref/ops_conv3d.c). col is never materialised: each block computes a tile of
// CV_BM output channels x CV_BN output positions and walks K in slices of CV_BK, staging w[co tile, kk slice] and
// the col[kk slice, p tile] values it gathers from x (zero outside the input) in shared memory as f32. Each thread
// accumulates a 4 x 4 register tile in f32 (fused multiply-adds; bf16 operands give exact products). The bias is
// added once at the end and the result rounded to y's dtype. No scratch memory at all, whatever the frame size.
// Not run on a GPU yet (docs/cuda.md).
#include <stdint.h>

#include "cuda_impl.h"
#include "cuda_ops.h"
#include "elem_math.h"
#include "ref/ops_ref.h"

#define CV_BM 64            // output channels per block
#define CV_BN 64            // output positions per block
#define CV_BK 16            // reduction slice
#define CV_THREADS 256      // 16 x 16 threads, each 4 channels x 4 positions
#define CV_TM 4             // channels per thread: co = co0 + ty + 16 i
#define CV_TN 4             // positions per thread: p = p0 + tx + 16 j
#define CV_WS_STRIDE (CV_BM + 1) // padded row of the weight tile: the kk-fastest stores hit distinct banks
#define CV_LOADS (CV_BK * CV_BN / CV_THREADS) // col (and w) values each thread stages per slice: 4

typedef struct conv_args {
    const void *x;          // [Cin, F, H, W]
    vgen_dtype xdt;
    const void *w;          // [Cout, K]
    vgen_dtype wdt;
    const float *bias;      // [Cout] or NULL
    void *y;                // [Cout, P]
    vgen_dtype ydt;
    int cout, k, p;         // Cout, K, P (each < 2^31, checked by the caller)
    int f, h, w_in;         // input extents
    int kt, kh, kw;         // kernel extents
    int ho, wo;             // output extents (F' is implied by P)
    int pt, ph, pw;         // leading pads
    int st, sh, sw;         // strides
} conv_args;

// Where output position p reads from: the input coordinates of tap (0, 0, 0); valid = 0 past P.
typedef struct conv_col {
    int tb, hb, wb, valid;
} conv_col;

static __device__ conv_col conv_col_of(const conv_args &a, int p) {
    conv_col c = {0, 0, 0, p < a.p};
    if (!c.valid) return c;
    const int hw = a.ho * a.wo, to = p / hw, rem = p - to * hw, ho = rem / a.wo, wo = rem - ho * a.wo;
    c.tb = to * a.st - a.pt;
    c.hb = ho * a.sh - a.ph;
    c.wb = wo * a.sw - a.pw;
    return c;
}

// col[kk, p] for the position described by c: kk decoded into (ci, a, b, c), 0 in the padding or past K.
static __device__ float conv_col_value(const conv_args &a, const conv_col &c, int kk) {
    if (!c.valid || kk >= a.k) return 0.0f;
    const int tap_w = kk % a.kw, r1 = kk / a.kw, tap_h = r1 % a.kh, r2 = r1 / a.kh, tap_t = r2 % a.kt,
              ci = r2 / a.kt;
    const int t = c.tb + tap_t, hh = c.hb + tap_h, ww = c.wb + tap_w;
    if (t < 0 || t >= a.f || hh < 0 || hh >= a.h || ww < 0 || ww >= a.w_in) return 0.0f;
    return vgen_elem_load(a.x, a.xdt, (((int64_t)ci * a.f + t) * a.h + hh) * a.w_in + ww);
}

// Stages slice [k0, k0 + CV_BK) of the block's weight rows and col columns into shared memory.
static __device__ void conv_stage(const conv_args &a, int co0, int k0, const conv_col &col, float *ws, float *xs) {
    const int tid = threadIdx.x;
    for (int r = 0; r < CV_LOADS; r++) {
        const int e = tid + r * CV_THREADS;
        const int kl = e % CV_BK, m = e / CV_BK; // weights: kk fastest, so a warp reads runs of a w row
        const int co = co0 + m, kk = k0 + kl;
        ws[kl * CV_WS_STRIDE + m] = co < a.cout && kk < a.k ? vgen_elem_load(a.w, a.wdt, (int64_t)co * a.k + kk)
                                                            : 0.0f;
    }
    for (int r = 0; r < CV_LOADS; r++) {
        const int kl = tid / CV_BN + r * (CV_THREADS / CV_BN); // this thread's column is fixed: tid % CV_BN
        xs[kl * CV_BN + tid % CV_BN] = conv_col_value(a, col, k0 + kl);
    }
}

static __global__ void __launch_bounds__(CV_THREADS) conv3d_kernel(conv_args a) {
    __shared__ float ws[CV_BK * CV_WS_STRIDE]; // [CV_BK][CV_BM (+1)]
    __shared__ float xs[CV_BK * CV_BN];        // [CV_BK][CV_BN]
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const int p0 = blockIdx.x * CV_BN, co0 = blockIdx.y * CV_BM;
    const conv_col col = conv_col_of(a, p0 + (int)threadIdx.x % CV_BN); // the column this thread stages
    float acc[CV_TM][CV_TN];
    for (int i = 0; i < CV_TM; i++)
        for (int j = 0; j < CV_TN; j++) acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < a.k; k0 += CV_BK) {
        __syncthreads(); // every thread is done reading the previous slice
        conv_stage(a, co0, k0, col, ws, xs);
        __syncthreads();
        for (int kl = 0; kl < CV_BK; kl++) {
            float wv[CV_TM], xv[CV_TN];
            for (int i = 0; i < CV_TM; i++) wv[i] = ws[kl * CV_WS_STRIDE + ty + 16 * i];
            for (int j = 0; j < CV_TN; j++) xv[j] = xs[kl * CV_BN + tx + 16 * j];
            for (int i = 0; i < CV_TM; i++)
                for (int j = 0; j < CV_TN; j++) acc[i][j] += wv[i] * xv[j];
        }
    }
    for (int i = 0; i < CV_TM; i++) {
        const int co = co0 + ty + 16 * i;
        if (co >= a.cout) break;
        const float b = a.bias ? a.bias[co] : 0.0f;
        for (int j = 0; j < CV_TN; j++) {
            const int p = p0 + tx + 16 * j;
            if (p < a.p) vgen_elem_store(a.y, a.ydt, (int64_t)co * a.p + p, acc[i][j] + b);
        }
    }
}

// The kernel computes indices with int (tile offsets, and input coordinates up to extent + both pads included):
// VGEN_ERR_UNSUPPORTED when a size, kernel extent, pad or stride exceeds CV_MAX_SIZE, which keeps every such
// value below 3 CV_MAX_SIZE < 2^31. No video comes near: 81 frames of 1280 x 720 are P = 75M positions.
#define CV_MAX_SIZE ((int64_t)1 << 29)

static int conv_args_fill(const vgen_conv3d_dims *g, conv_args *a, vgen_err *err) {
    const int64_t k = g->cin * g->kt * g->kh * g->kw, p = g->fo * g->ho * g->wo;
    const int64_t v[] = {k,     p,     g->cout, g->f,  g->h,  g->w,  g->kt, g->kh,
                         g->kw, g->pt, g->ph,   g->pw, g->st, g->sh, g->sw};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] > CV_MAX_SIZE)
            return vgen_err_set(err, VGEN_ERR_UNSUPPORTED,
                                "cuda conv3d: K = %lld, P = %lld, Cout = %lld, input %lld x %lld x %lld: a size, "
                                "kernel extent, pad or stride exceeds %lld", (long long)k, (long long)p,
                                (long long)g->cout, (long long)g->f, (long long)g->h, (long long)g->w,
                                (long long)CV_MAX_SIZE);
    a->cout = (int)g->cout;
    a->k = (int)k;
    a->p = (int)p;
    a->f = (int)g->f;
    a->h = (int)g->h;
    a->w_in = (int)g->w;
    a->kt = (int)g->kt;
    a->kh = (int)g->kh;
    a->kw = (int)g->kw;
    a->ho = (int)g->ho;
    a->wo = (int)g->wo;
    a->pt = (int)g->pt;
    a->ph = (int)g->ph;
    a->pw = (int)g->pw;
    a->st = (int)g->st;
    a->sh = (int)g->sh;
    a->sw = (int)g->sw;
    return VGEN_OK;
}

extern "C" int vgen_cuda_conv3d(vgen_backend *be, const vgen_tensor *x, const vgen_tensor *w, const float *bias,
                                const vgen_conv3d_params *p, vgen_tensor *y, vgen_err *err) {
    vgen_conv3d_dims g;
    int rc = vgen_ops_check_conv3d("cuda conv3d", VGEN_DEVICE_CUDA, x, w, p, y, &g, err);
    if (rc || vgen_tensor_numel(y) == 0) return rc;
    conv_args a;
    a.x = x->data;
    a.xdt = x->dtype;
    a.w = w->data;
    a.wdt = w->dtype;
    a.bias = bias;
    a.y = y->data;
    a.ydt = y->dtype;
    rc = conv_args_fill(&g, &a, err);
    if (rc) return rc;
    const unsigned co_blocks = (unsigned)((a.cout + CV_BM - 1) / CV_BM);
    if (co_blocks > 65535) // gridDim.y
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "cuda conv3d: %d output channels exceed %d", a.cout,
                            65535 * CV_BM);
    const dim3 grid((unsigned)((a.p + CV_BN - 1) / CV_BN), co_blocks);
    conv3d_kernel<<<grid, CV_THREADS, 0, vgen_cuda_impl_of(be)->stream>>>(a);
    VGEN_CUDA_LAUNCHED(err, "cuda conv3d");
    return VGEN_OK;
}

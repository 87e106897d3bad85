// cuda_norm.cu - layer_norm (optional affine and modulation), rms_norm and channel_rms_norm (backend.h) on the
// backend's compute stream.
//
// Row norms, x [M, D]: one block of NORM_THREADS threads per row (grid-stride over rows). Two passes over the row
// for layer_norm, as the reference does: the mean, then the biased variance sum((x - mean)^2) / D about that mean
// (no cancellation); one pass of x^2 for rms_norm. Each thread sums its strided elements in f32, then a warp
// shuffle and a pass over the per-warp partials give every thread the same block total. The finalization is
// core/elem_math.h's (vgen_norm_rstd, vgen_layer_norm_apply, vgen_rms_norm_apply), the reference's formulas.
// y may be x: a thread writes only elements it read itself, and it writes them only after the block reduction's
// barrier, which every thread reaches after its last read of the row.
//
// channel_rms_norm, x [C, S] channel-first: one thread per position s (consecutive threads on consecutive
// positions, so every channel row is read coalesced); it sums x[c, s]^2 over c in f32, then scales its column.
// A column is read and written by its thread only, so y may be x.
#include <stdint.h>

#include "cuda_impl.h"
#include "cuda_ops.h"
#include "elem_math.h"
#include "ref/ops_ref.h"

#define NORM_THREADS 256    // a multiple of 32: full warps for the shuffles
#define NORM_MAX_BLOCKS 65536
#define CHAN_THREADS 256

// The sum of v over the block, returned identically to every thread (each adds the per-warp partials in the same
// order). Every thread of the block must call it; sh holds 32 floats of shared memory.
static __device__ float block_sum(float v, float *sh) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads(); // the previous call's readers of sh are done; this thread's loads of the row are done
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    float total = 0.0f;
    for (int w = 0; w < n_warps; w++) total += sh[w];
    return total;
}

typedef struct row_norm_args {
    const void *x;      // [M, D]
    vgen_dtype xdt;
    void *y;            // [M, D]
    vgen_dtype ydt;
    const float *w, *b, *shift, *scale; // [D] or NULL
    float eps;
    int64_t m, d;
} row_norm_args;

// Sum over row r of x - c (centered = 0: of x) or of (x - c)^2 (squares = 1).
static __device__ float row_sum(const row_norm_args &a, int64_t base, float c, int squares, float *sh) {
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < a.d; i += blockDim.x) {
        const float v = vgen_em_sub(vgen_elem_load(a.x, a.xdt, base + i), c);
        s += squares ? v * v : v;
    }
    return block_sum(s, sh);
}

static __global__ void __launch_bounds__(NORM_THREADS) layer_norm_kernel(row_norm_args a) {
    __shared__ float sh[32];
    const float d = (float)a.d;
    for (int64_t r = blockIdx.x; r < a.m; r += gridDim.x) {
        const int64_t base = r * a.d;
        const float mean = row_sum(a, base, 0.0f, 0, sh) / d;
        const float var = row_sum(a, base, mean, 1, sh) / d; // biased, about the mean
        const float rstd = vgen_norm_rstd(var, a.eps);
        for (int64_t i = threadIdx.x; i < a.d; i += blockDim.x) {
            const float v = vgen_layer_norm_apply(vgen_elem_load(a.x, a.xdt, base + i), mean, rstd,
                                                  a.w ? a.w[i] : 1.0f, a.b ? a.b[i] : 0.0f,
                                                  a.scale ? a.scale[i] : 0.0f, a.shift ? a.shift[i] : 0.0f);
            vgen_elem_store(a.y, a.ydt, base + i, v);
        }
    }
}

static __global__ void __launch_bounds__(NORM_THREADS) rms_norm_kernel(row_norm_args a) {
    __shared__ float sh[32];
    const float d = (float)a.d;
    for (int64_t r = blockIdx.x; r < a.m; r += gridDim.x) {
        const int64_t base = r * a.d;
        const float rstd = vgen_norm_rstd(row_sum(a, base, 0.0f, 1, sh) / d, a.eps); // mean of x^2
        for (int64_t i = threadIdx.x; i < a.d; i += blockDim.x) {
            const float v = vgen_rms_norm_apply(vgen_elem_load(a.x, a.xdt, base + i), rstd, a.w ? a.w[i] : 1.0f);
            vgen_elem_store(a.y, a.ydt, base + i, v);
        }
    }
}

static unsigned row_blocks(int64_t m) { return (unsigned)(m < NORM_MAX_BLOCKS ? m : NORM_MAX_BLOCKS); }

// y[M, D] = LN(x[M, D]) * w + b, then * (1 + scale) + shift; every vector NULL or [D] f32 on the device.
extern "C" int vgen_cuda_layer_norm(vgen_backend *be, const vgen_tensor *x, const float *w, const float *b,
                                    const float *shift, const float *scale, float eps, vgen_tensor *y,
                                    vgen_err *err) {
    int64_t m, d;
    int rc = vgen_ops_check_rows("cuda layer_norm", VGEN_DEVICE_CUDA, x, y, &m, &d, err);
    if (rc || m * d == 0) return rc;
    const row_norm_args a = {x->data, x->dtype, y->data, y->dtype, w, b, shift, scale, eps, m, d};
    layer_norm_kernel<<<row_blocks(a.m), NORM_THREADS, 0, vgen_cuda_impl_of(be)->stream>>>(a);
    VGEN_CUDA_LAUNCHED(err, "cuda layer_norm");
    return VGEN_OK;
}

// y[M, D] = x * rsqrt(mean_D(x^2) + eps) * w[D] (w NULL: no affine).
extern "C" int vgen_cuda_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *w, float eps, vgen_tensor *y,
                                  vgen_err *err) {
    int64_t m, d;
    int rc = vgen_ops_check_rows("cuda rms_norm", VGEN_DEVICE_CUDA, x, y, &m, &d, err);
    if (rc || m * d == 0) return rc;
    const row_norm_args a = {x->data, x->dtype, y->data, y->dtype, w, NULL, NULL, NULL, eps, m, d};
    rms_norm_kernel<<<row_blocks(a.m), NORM_THREADS, 0, vgen_cuda_impl_of(be)->stream>>>(a);
    VGEN_CUDA_LAUNCHED(err, "cuda rms_norm");
    return VGEN_OK;
}

// ---- channel_rms_norm: x [C, S], y[c, s] = x[c, s] * sqrt(C) / max(||x[:, s]||, 1e-12) * gamma[c] + bias[c] ----

typedef struct chan_args {
    const void *x;      // [C, S]
    vgen_dtype xdt;
    void *y;            // [C, S]
    vgen_dtype ydt;
    const float *gamma; // [C]
    const float *bias;  // [C] or NULL
    int64_t c, s;
    float root_c;       // sqrtf((float)C), as the CPU backends compute it
} chan_args;

static __global__ void __launch_bounds__(CHAN_THREADS) channel_rms_kernel(chan_args a) {
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < a.s; j += (int64_t)gridDim.x * blockDim.x) {
        float ss = 0.0f;
        for (int64_t i = 0; i < a.c; i++) {
            const float v = vgen_elem_load(a.x, a.xdt, i * a.s + j);
            ss += v * v;
        }
        const float f = vgen_channel_rms_scale(ss, a.root_c);
        for (int64_t i = 0; i < a.c; i++) {
            const float v = vgen_channel_rms_apply(vgen_elem_load(a.x, a.xdt, i * a.s + j), f, a.gamma[i],
                                                   a.bias ? a.bias[i] : 0.0f);
            vgen_elem_store(a.y, a.ydt, i * a.s + j, v);
        }
    }
}

extern "C" int vgen_cuda_channel_rms_norm(vgen_backend *be, const vgen_tensor *x, const float *gamma,
                                          const float *bias, vgen_tensor *y, vgen_err *err) {
    int64_t c, s;
    int rc = vgen_ops_check_channels("cuda channel_rms_norm", VGEN_DEVICE_CUDA, x, gamma, y, &c, &s, err);
    if (rc || c * s == 0) return rc;
    const chan_args a = {x->data, x->dtype, y->data, y->dtype, gamma, bias, c, s, sqrtf((float)c)};
    const int64_t blocks = (a.s + CHAN_THREADS - 1) / CHAN_THREADS;
    channel_rms_kernel<<<(unsigned)(blocks < NORM_MAX_BLOCKS ? blocks : NORM_MAX_BLOCKS), CHAN_THREADS, 0,
                         vgen_cuda_impl_of(be)->stream>>>(a);
    VGEN_CUDA_LAUNCHED(err, "cuda channel_rms_norm");
    return VGEN_OK;
}

// cuda_dequant.cu - weight dequantization and per-token fp8 activation quantization on the device
// (cuda_dequant.h). The element math is core/wformat_elem.h, the same functions the reference dequantizer of
// core/wformat.c calls, so the CPU tests check exactly what these kernels compute.
//
// Include order: cuda_impl.h (through cuda_dequant.h) first, so the C headers of core/ get C linkage.
#include "cuda/cuda_dequant.h"

#include <stdint.h>
#include "numeric.h"
#include "wformat_elem.h"

#define THREADS 256
#define MAX_GRID_Y 65535  // CUDA's limit on gridDim.y
#define MAX_GRID_X 4096   // blocks along a row: enough to fill any current GPU; loops cover the rest

// ---- weights ------------------------------------------------------------------------------------------------------

static __device__ __forceinline__ void store_elem(float *p, float v) { *p = v; }
static __device__ __forceinline__ void store_elem(uint16_t *p, float v) { *p = vgen_f32_to_bf16(v); }

// out[i, j] = W[r0 + i, j] for i < nr, j < K. Grid: y over rows, x over K, both grid-stride loops.
// Per element: the group's scale and zero code (vgen_wfe_params) and the decoded code (vgen_wfe_decode), as in
// vgen_wfe_at, with the row's base pointer hoisted out of the column loop.
template <typename T>
static __global__ void dequant_rows_kernel(vgen_qmatrix w, int64_t r0, int64_t nr, T *out) {
    const vgen_wformat f = w.format;
    const int64_t k = w.cols;
    const int64_t row_bytes = vgen_wfe_row_bytes(f, k), span = vgen_wfe_span(f, k), ng = vgen_wfe_groups(f, k);
    for (int64_t i = blockIdx.y; i < nr; i += gridDim.y) {
        const int64_t r = r0 + i;
        const uint8_t *row = (const uint8_t *)w.data + r * row_bytes;
        T *o = out + i * k;
        const int64_t j0 = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, step = (int64_t)gridDim.x * blockDim.x;
        for (int64_t j = j0; j < k; j += step) {
            float s;
            int z;
            vgen_wfe_params(f, w.scales, w.zeros, r, j / span, ng, &s, &z);
            store_elem(o + j, vgen_wfe_decode(f, row, j, s, z));
        }
    }
}

static dim3 row_grid(int64_t rows, int64_t cols) {
    int64_t gx = (cols + THREADS - 1) / THREADS;
    return dim3((unsigned)(gx < MAX_GRID_X ? gx : MAX_GRID_X), (unsigned)(rows < MAX_GRID_Y ? rows : MAX_GRID_Y));
}

int vgen_cuda_dequant_rows(const vgen_qmatrix *w, int64_t r0, int64_t nr, vgen_dtype out_dtype, void *out,
                           cudaStream_t stream, vgen_err *err) {
    if (nr <= 0) return VGEN_OK;
    if (vgen_wfe_bits(w->format) == 0 || r0 < 0 || r0 + nr > w->rows)
        return vgen_err_set(err, VGEN_ERR_INTERNAL, "cuda dequant: format %d rows [%lld, %lld) of %lld",
                            (int)w->format, (long long)r0, (long long)(r0 + nr), (long long)w->rows);
    const dim3 grid = row_grid(nr, w->cols);
    if (out_dtype == VGEN_DTYPE_F32)
        dequant_rows_kernel<float><<<grid, THREADS, 0, stream>>>(*w, r0, nr, (float *)out);
    else if (out_dtype == VGEN_DTYPE_BF16)
        dequant_rows_kernel<uint16_t><<<grid, THREADS, 0, stream>>>(*w, r0, nr, (uint16_t *)out);
    else
        return vgen_err_set(err, VGEN_ERR_INTERNAL, "cuda dequant: output dtype %s", vgen_dtype_name(out_dtype));
    VGEN_CUDA_LAUNCHED(err, "cuda dequant kernel");
    return VGEN_OK;
}

// ---- activations to fp8 -------------------------------------------------------------------------------------------

static __device__ __forceinline__ float load_elem(const float *p) { return *p; }
static __device__ __forceinline__ float load_elem(const uint16_t *p) { return vgen_bf16_to_f32(*p); }

// Block-wide max of v over THREADS threads; every thread gets the result. red: THREADS floats of shared memory.
static __device__ float block_max(float v, float *red) {
    red[threadIdx.x] = v;
    __syncthreads();
    for (int h = THREADS / 2; h > 0; h /= 2) {
        if ((int)threadIdx.x < h) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + h]);
        __syncthreads();
    }
    float m = red[0];
    __syncthreads(); // red is reused by the next row
    return m;
}

// One block per row (grid-stride over rows): amax, the scale, then the codes. x: [M, K]; q: [M, K]; s: [M].
template <typename T>
static __global__ void quantize_rows_kernel(const T *x, int64_t m, int64_t k, uint8_t *q, float *s) {
    __shared__ float red[THREADS];
    for (int64_t r = blockIdx.x; r < m; r += gridDim.x) {
        const T *xr = x + r * k;
        float amax = 0.0f;
        for (int64_t j = threadIdx.x; j < k; j += THREADS) amax = fmaxf(amax, fabsf(load_elem(xr + j)));
        amax = block_max(amax, red);
        float sc = amax / VGEN_E4M3_MAX; // the reference rule: s = amax / qmax, and 1 for a zero scale
        sc = sc > 0.0f ? sc : 1.0f;
        if (threadIdx.x == 0) s[r] = sc;
        for (int64_t j = threadIdx.x; j < k; j += THREADS) q[r * k + j] = vgen_f32_to_e4m3_sat(load_elem(xr + j) / sc);
    }
}

int vgen_cuda_quantize_rows_e4m3(const void *x, vgen_dtype x_dtype, int64_t m, int64_t k, uint8_t *q, float *s,
                                 cudaStream_t stream, vgen_err *err) {
    if (m <= 0 || k <= 0) return VGEN_OK;
    const unsigned grid = (unsigned)(m < 65535 ? m : 65535);
    if (x_dtype == VGEN_DTYPE_F32)
        quantize_rows_kernel<float><<<grid, THREADS, 0, stream>>>((const float *)x, m, k, q, s);
    else if (x_dtype == VGEN_DTYPE_BF16)
        quantize_rows_kernel<uint16_t><<<grid, THREADS, 0, stream>>>((const uint16_t *)x, m, k, q, s);
    else
        return vgen_err_set(err, VGEN_ERR_INTERNAL, "cuda fp8 quantize: input dtype %s", vgen_dtype_name(x_dtype));
    VGEN_CUDA_LAUNCHED(err, "cuda fp8 quantize kernel");
    return VGEN_OK;
}

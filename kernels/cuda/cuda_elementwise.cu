// cuda_elementwise.cu - unary (gelu-tanh, silu), binary (add, mul), gated_add, convert and check_finite
// (backend.h) on the backend's compute stream.
//
// Every op is a grid-stride loop over the elements: thread i reads element i of its inputs and writes element i of
// its output, so an output that is its own input (the aliasing backend.h allows) is read before it is written by
// the same thread and never touched by another. Values are loaded as f32 (bf16 and f16 widened exactly), computed
// with core/elem_math.h's functions (the formulas of the reference and CPU backends) and stored rounded to nearest
// even with numeric.h's conversions. The dtype switch inside the load and store is uniform across the grid.
#include <stdint.h>
#include <string.h>

#include "cuda_impl.h"
#include "cuda_ops.h"
#include "elem_math.h"
#include "ref/ops_ref.h"

#define EW_THREADS 256
#define EW_MAX_BLOCKS 65536 // grid-stride beyond 16M threads

// Blocks of EW_THREADS for a grid-stride loop over n > 0 items.
static unsigned ew_blocks(int64_t n) {
    const int64_t b = (n + EW_THREADS - 1) / EW_THREADS;
    return (unsigned)(b < EW_MAX_BLOCKS ? b : EW_MAX_BLOCKS);
}

#define GRID_STRIDE(i, n)                                                                                         \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// ---- unary: y[n] = f(x[n]) ----

static __global__ void unary_kernel(vgen_unary_op op, const void *x, vgen_dtype xdt, void *y, vgen_dtype ydt,
                                    int64_t n) {
    GRID_STRIDE(i, n) {
        const float v = vgen_elem_load(x, xdt, i);
        vgen_elem_store(y, ydt, i, op == VGEN_UNARY_SILU ? vgen_silu(v) : vgen_gelu_tanh(v));
    }
}

extern "C" int vgen_cuda_unary(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y,
                               vgen_err *err) {
    int64_t n;
    int rc = vgen_ops_check_unary("cuda unary", VGEN_DEVICE_CUDA, op, x, y, &n, err);
    if (rc || n == 0) return rc;
    unary_kernel<<<ew_blocks(n), EW_THREADS, 0, vgen_cuda_impl_of(be)->stream>>>(op, x->data, x->dtype, y->data,
                                                                                 y->dtype, n);
    VGEN_CUDA_LAUNCHED(err, "cuda unary");
    return VGEN_OK;
}

// ---- binary: y[M, D] = a[M, D] OP b (b [M, D], or [D] broadcast over the rows when b_rows = 0) ----

static __global__ void binary_kernel(vgen_binary_op op, const void *a, vgen_dtype adt, const void *b,
                                     vgen_dtype bdt, int b_rows, int64_t d, void *y, vgen_dtype ydt, int64_t n) {
    GRID_STRIDE(i, n) {
        const float av = vgen_elem_load(a, adt, i);
        const float bv = vgen_elem_load(b, bdt, b_rows ? i : i % d);
        vgen_elem_store(y, ydt, i, op == VGEN_BINARY_ADD ? vgen_em_add(av, bv) : vgen_em_mul(av, bv));
    }
}

extern "C" int vgen_cuda_binary(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b,
                                vgen_tensor *y, vgen_err *err) {
    int64_t m, d;
    int b_rows;
    int rc = vgen_ops_check_binary("cuda binary", VGEN_DEVICE_CUDA, op, a, b, y, &m, &d, &b_rows, err);
    if (rc || m * d == 0) return rc;
    binary_kernel<<<ew_blocks(m * d), EW_THREADS, 0, vgen_cuda_impl_of(be)->stream>>>(
        op, a->data, a->dtype, b->data, b->dtype, b_rows, d, y->data, y->dtype, m * d);
    VGEN_CUDA_LAUNCHED(err, "cuda binary");
    return VGEN_OK;
}

// ---- gated_add: x[M, D] += gate[D] * y[M, D] (gate NULL: x += y) ----

static __global__ void gated_add_kernel(void *x, vgen_dtype xdt, const float *gate, const void *y,
                                        vgen_dtype ydt, int64_t d, int64_t n) {
    GRID_STRIDE(i, n) {
        const float g = gate ? gate[i % d] : 1.0f;
        vgen_elem_store(x, xdt, i, vgen_gated_add1(vgen_elem_load(x, xdt, i), g, vgen_elem_load(y, ydt, i)));
    }
}

extern "C" int vgen_cuda_gated_add(vgen_backend *be, vgen_tensor *x, const float *gate, const vgen_tensor *y,
                                   vgen_err *err) {
    int64_t m, d;
    int rc = vgen_ops_check_gated_add("cuda gated_add", VGEN_DEVICE_CUDA, x, y, &m, &d, err);
    if (rc || m * d == 0) return rc;
    gated_add_kernel<<<ew_blocks(m * d), EW_THREADS, 0, vgen_cuda_impl_of(be)->stream>>>(x->data, x->dtype, gate,
                                                                                         y->data, y->dtype, d, m * d);
    VGEN_CUDA_LAUNCHED(err, "cuda gated_add");
    return VGEN_OK;
}

// ---- convert: y[n] = x[n] in y's dtype (f32 / bf16 / f16, round to nearest even) ----

static __global__ void convert_kernel(const void *x, vgen_dtype xdt, void *y, vgen_dtype ydt, int64_t n) {
    GRID_STRIDE(i, n) vgen_elem_store(y, ydt, i, vgen_elem_load(x, xdt, i));
}

extern "C" int vgen_cuda_convert(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    int64_t n;
    int rc = vgen_ops_check_convert("cuda convert", VGEN_DEVICE_CUDA, x, y, &n, err);
    if (rc || n == 0) return rc;
    cudaStream_t st = vgen_cuda_impl_of(be)->stream;
    const void *src = x->data;
    // In place between dtypes of different widths, element i of y overlaps other elements of x that another
    // thread may not have read yet: convert from a copy of x in the scratch buffer. Equal widths (including the
    // same dtype, which still canonicalises NaNs as the reference does) are safe element by element.
    if (x->data == y->data && vgen_dtype_size(x->dtype) != vgen_dtype_size(y->dtype)) {
        const size_t bytes = vgen_tensor_bytes(x);
        void *copy = vgen_cuda_scratch(be, bytes, err);
        if (!copy) return err ? err->code : VGEN_ERR_OUT_OF_MEMORY;
        VGEN_CUDA_TRY(cudaMemcpyAsync(copy, x->data, bytes, cudaMemcpyDeviceToDevice, st), err, "cuda convert");
        src = copy;
    }
    convert_kernel<<<ew_blocks(n), EW_THREADS, 0, st>>>(src, x->dtype, y->data, y->dtype, n);
    VGEN_CUDA_LAUNCHED(err, "cuda convert");
    return VGEN_OK;
}

// ---- check_finite: the first index of a NaN or an Inf in x[n], if any ----

#define NO_BAD_INDEX 0xffffffffffffffffull

// *first = min(*first, the smallest i with x[i] not finite). Each thread walks its indices in increasing order,
// so the first bad one it meets is its smallest; atomicMin keeps the smallest over the grid.
static __global__ void first_bad_kernel(const void *x, vgen_dtype dt, int64_t n,
                                        unsigned long long *first) {
    GRID_STRIDE(i, n) {
        if (!isfinite(vgen_elem_load(x, dt, i))) {
            atomicMin(first, (unsigned long long)i);
            break;
        }
    }
}

// Downloads element i of x and says whether it is a NaN (1) or an Inf (0); waits for the stream.
static int element_is_nan(cudaStream_t st, const vgen_tensor *x, int64_t i, int *is_nan, vgen_err *err) {
    const size_t size = vgen_dtype_size(x->dtype);
    unsigned char host[4] = {0};
    VGEN_CUDA_TRY(cudaMemcpyAsync(host, (const char *)x->data + (size_t)i * size, size, cudaMemcpyDeviceToHost, st),
                  err, "cuda check_finite");
    VGEN_CUDA_TRY(cudaStreamSynchronize(st), err, "cuda check_finite");
    *is_nan = isnan(vgen_elem_load(host, x->dtype, 0));
    return VGEN_OK;
}

extern "C" int vgen_cuda_check_finite(vgen_backend *be, const vgen_tensor *x, const char *what, vgen_err *err) {
    int64_t n;
    int rc = vgen_ops_check_finite("cuda check_finite", VGEN_DEVICE_CUDA, x, what, &n, err);
    if (rc || n == 0) return rc;
    cudaStream_t st = vgen_cuda_impl_of(be)->stream;
    unsigned long long *first = (unsigned long long *)vgen_cuda_scratch(be, sizeof *first, err);
    if (!first) return err ? err->code : VGEN_ERR_OUT_OF_MEMORY;
    VGEN_CUDA_TRY(cudaMemsetAsync(first, 0xff, sizeof *first, st), err, "cuda check_finite"); // NO_BAD_INDEX
    first_bad_kernel<<<ew_blocks(n), EW_THREADS, 0, st>>>(x->data, x->dtype, n, first);
    VGEN_CUDA_LAUNCHED(err, "cuda check_finite");
    unsigned long long host_first = NO_BAD_INDEX;
    VGEN_CUDA_TRY(cudaMemcpyAsync(&host_first, first, sizeof host_first, cudaMemcpyDeviceToHost, st), err,
                  "cuda check_finite");
    VGEN_CUDA_TRY(cudaStreamSynchronize(st), err, "cuda check_finite");
    if (host_first == NO_BAD_INDEX) return VGEN_OK;
    int is_nan = 0;
    rc = element_is_nan(st, x, (int64_t)host_first, &is_nan, err);
    if (rc) return rc;
    // the message of the CPU backends (kernels/ref/backend_common.c)
    return vgen_err_set(err, VGEN_ERR_NUMERIC, "%s: %s at element %lld", what ? what : "tensor",
                        is_nan ? "NaN" : "Inf", (long long)host_first);
}

// cuda_copy.cu - copy_strided (backend.h) on the backend's compute stream: a grid-stride loop over the elements of
// the index space; element e is unravelled (last dim fastest) into its source and destination offsets and copied
// as one word of elem_size bytes. Every destination element is written by exactly one thread.
#include <stdint.h>

#include "cuda_impl.h"
#include "cuda_ops.h"
#include "ref/ops_ref.h"

#define CP_THREADS 256
#define CP_MAX_BLOCKS 65536

typedef struct cp_geom {
    int n_dims;
    int64_t shape[VGEN_COPY_MAX_DIMS], ss[VGEN_COPY_MAX_DIMS], ds[VGEN_COPY_MAX_DIMS];
} cp_geom;

template <typename T>
static __global__ void copy_strided_kernel(const T *src, T *dst, cp_geom g, int64_t n) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t rest = e, so = 0, dof = 0;
        for (int k = g.n_dims - 1; k >= 0; k--) {
            const int64_t i = rest % g.shape[k];
            rest /= g.shape[k];
            so += i * g.ss[k], dof += i * g.ds[k];
        }
        dst[dof] = src[so];
    }
}

template <typename T>
static void launch(const void *src, void *dst, const cp_geom &g, int64_t n, cudaStream_t st) {
    const int64_t b = (n + CP_THREADS - 1) / CP_THREADS;
    const unsigned blocks = (unsigned)(b < CP_MAX_BLOCKS ? b : CP_MAX_BLOCKS);
    copy_strided_kernel<T><<<blocks, CP_THREADS, 0, st>>>((const T *)src, (T *)dst, g, n);
}

extern "C" int vgen_cuda_copy_strided(vgen_backend *be, const void *src, const int64_t *src_strides, void *dst,
                                      const int64_t *dst_strides, const int64_t *shape, int n_dims,
                                      size_t elem_size, vgen_err *err) {
    int64_t n;
    size_t sb, db;
    int rc = vgen_ops_check_copy_strided("cuda copy_strided", src, src_strides, dst, dst_strides, shape, n_dims,
                                         elem_size, &n, &sb, &db, err);
    if (rc || n == 0) return rc;
    cp_geom g;
    g.n_dims = n_dims;
    for (int k = 0; k < n_dims; k++) g.shape[k] = shape[k], g.ss[k] = src_strides[k], g.ds[k] = dst_strides[k];
    cudaStream_t st = vgen_cuda_impl_of(be)->stream;
    switch (elem_size) {
    case 1: launch<uint8_t>(src, dst, g, n, st); break;
    case 2: launch<uint16_t>(src, dst, g, n, st); break;
    case 4: launch<uint32_t>(src, dst, g, n, st); break;
    default: launch<uint64_t>(src, dst, g, n, st); break;
    }
    VGEN_CUDA_LAUNCHED(err, "cuda copy_strided");
    return VGEN_OK;
}

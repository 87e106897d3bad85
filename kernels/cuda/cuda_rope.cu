// cuda_rope.cu - rotary embedding in place on x [L, H, Dh] (backend.h), on the backend's compute stream.
//
// One thread per interleaved pair: pair p of the flattened tensor is (x[2p], x[2p+1]) = x[l, h, 2j], x[l, h, 2j+1]
// with j = p mod (Dh/2) and l = p / (H Dh/2); it is rotated by (cos_t[l, j], sin_t[l, j]) with core/elem_math.h's
// vgen_rope_pair (the reference's formula) and written back rounded to x's dtype. Each pair is read and written
// by its own thread, so working in place is safe.
#include <stdint.h>

#include "cuda_impl.h"
#include "cuda_ops.h"
#include "elem_math.h"
#include "ref/ops_ref.h"

#define ROPE_THREADS 256
#define ROPE_MAX_BLOCKS 65536

typedef struct rope_args {
    void *x;                    // [L, H, Dh]
    vgen_dtype dt;
    const float *cos_t, *sin_t; // [L, Dh/2]
    int64_t pairs_per_token;    // H * Dh/2
    int64_t half;               // Dh/2
    int64_t n_pairs;            // L * H * Dh/2
} rope_args;

static __global__ void __launch_bounds__(ROPE_THREADS) rope_kernel(rope_args a) {
    for (int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; p < a.n_pairs;
         p += (int64_t)gridDim.x * blockDim.x) {
        const int64_t l = p / a.pairs_per_token, j = p % a.half;
        const int64_t t = l * a.half + j; // cos_t[l, j]
        float o0, o1;
        vgen_rope_pair(vgen_elem_load(a.x, a.dt, 2 * p), vgen_elem_load(a.x, a.dt, 2 * p + 1), a.cos_t[t],
                       a.sin_t[t], &o0, &o1);
        vgen_elem_store(a.x, a.dt, 2 * p, o0);
        vgen_elem_store(a.x, a.dt, 2 * p + 1, o1);
    }
}

extern "C" int vgen_cuda_rope(vgen_backend *be, vgen_tensor *x, const float *cos_t, const float *sin_t,
                              vgen_err *err) {
    int rc = vgen_ops_check_rope("cuda rope", VGEN_DEVICE_CUDA, x, cos_t, sin_t, err);
    if (rc) return rc;
    const int64_t half = x->shape[2] / 2;
    const rope_args a = {x->data, x->dtype, cos_t, sin_t, x->shape[1] * half, half, x->shape[0] * x->shape[1] * half};
    if (a.n_pairs == 0) return VGEN_OK;
    const int64_t blocks = (a.n_pairs + ROPE_THREADS - 1) / ROPE_THREADS;
    rope_kernel<<<(unsigned)(blocks < ROPE_MAX_BLOCKS ? blocks : ROPE_MAX_BLOCKS), ROPE_THREADS, 0,
                  vgen_cuda_impl_of(be)->stream>>>(a);
    VGEN_CUDA_LAUNCHED(err, "cuda rope");
    return VGEN_OK;
}

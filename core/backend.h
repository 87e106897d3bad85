/* backend.h - the backend interface: a struct of function pointers that model code calls, never a device API.
 *
 * The CPU backend implements every op; CUDA overrides what it has. supports(op, format) tells the planner and the
 * tests what a backend can run. The struct grows by appending ops as components need them (DESIGN.md section 2).
 */
#ifndef VGEN_CORE_BACKEND_H
#define VGEN_CORE_BACKEND_H

#include <stdbool.h>

#include "arena.h"
#include "err.h"
#include "tensor.h"
#include "wformat.h"

typedef enum vgen_op {
    VGEN_OP_LINEAR = 0,           /* y = x W^T + b with W in any weight format */
    VGEN_OP_LAYER_NORM = 1,
    VGEN_OP_RMS_NORM = 2,
    VGEN_OP_CHANNEL_RMS_NORM = 3,
    VGEN_OP_ROPE = 4,
    VGEN_OP_ATTENTION = 5,
    VGEN_OP_UNARY = 6,
    VGEN_OP_BINARY = 7,
    VGEN_OP_GATED_ADD = 8,
    VGEN_OP_CONV3D = 9,
    VGEN_OP_CONVERT = 10,
    VGEN_OP_CHECK_FINITE = 11,
    VGEN_OP_COPY_STRIDED = 12,
    VGEN_OP_COUNT
} vgen_op;

typedef enum vgen_unary_op {
    VGEN_UNARY_GELU_TANH = 0,     /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    VGEN_UNARY_SILU = 1,          /* x / (1 + exp(-x)) */
    VGEN_UNARY_COUNT
} vgen_unary_op;

typedef enum vgen_binary_op {
    VGEN_BINARY_ADD = 0,
    VGEN_BINARY_MUL = 1,
    VGEN_BINARY_COUNT
} vgen_binary_op;

/* Zero padding before/after each of the (T, H, W) axes and the stride of each. */
typedef struct vgen_conv3d_params {
    int pad_t[2], pad_h[2], pad_w[2];
    int stride_t, stride_h, stride_w;
} vgen_conv3d_params;

#define VGEN_COPY_MAX_DIMS 5 /* copy_strided */

typedef struct vgen_threadpool vgen_threadpool;
typedef struct vgen_backend vgen_backend;
typedef struct vgen_fence vgen_fence;

/* The two queues of a backend: ops (and copy, upload, download) run on COMPUTE; upload_async on COPY. */
typedef enum vgen_queue {
    VGEN_QUEUE_COMPUTE = 0,
    VGEN_QUEUE_COPY = 1
} vgen_queue;

struct vgen_backend {
    const char *name;     /* "cpu", "cuda" */
    vgen_device device;
    void *impl;           /* backend-private state */
    vgen_threadpool *pool; /* threads for the backend's CPU-side work (borrowed); NULL = run serially */

    /* Whether op can run with weights in format (format is ignored for ops without weights). */
    bool (*supports)(const vgen_backend *be, vgen_op op, vgen_wformat format);

    /* y[M, N] = x[M, K] W[N, K]^T + bias[N].
     * x: rank >= 1 with innermost dim K, f32 or bf16; y: same leading dims with innermost N, f32 or bf16;
     * bias: NULL or [N] f32. Computes in x's precision: f32 x gives f32 products and sums (weights dequantized to
     * f32); bf16 x gives bf16 products with f32 accumulation (weights dequantized to bf16). */
    int (*linear)(vgen_backend *be, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias, vgen_tensor *y,
                  vgen_err *err);

    /* Every op below takes activations as f32 or bf16 tensors and computes in f32 (norms, softmax, activations);
     * y receives the result rounded to its own dtype. Unless stated, y may alias x. Shapes use the legend of
     * core/tensor.h. A NULL pointer means the backend lacks the op (supports() says false). */

    /* y[M, D] = LN(x[M, D]) * w + b, then * (1 + scale) + shift. LN = (x - mean) / sqrt(var + eps) over D with
     * the biased variance. w, b, shift, scale: NULL or [D] f32 (NULL w/b = no affine; NULL shift/scale = no
     * modulation). */
    int (*layer_norm)(vgen_backend *be, const vgen_tensor *x, const float *w, const float *b, const float *shift,
                      const float *scale, float eps, vgen_tensor *y, vgen_err *err);

    /* y[M, D] = x * rsqrt(mean_D(x^2) + eps) * w[D]   (T5 / Wan q-k norm; w NULL = no affine) */
    int (*rms_norm)(vgen_backend *be, const vgen_tensor *x, const float *w, float eps, vgen_tensor *y, vgen_err *err);

    /* Channel-first RMS norm of the Wan VAE: x [C, S] (S = every spatial/temporal position),
     * y[c, s] = x[c, s] / max(||x[:, s]||_2, 1e-12) * sqrt(C) * gamma[c] + bias[c]   (bias may be NULL) */
    int (*channel_rms_norm)(vgen_backend *be, const vgen_tensor *x, const float *gamma, const float *bias,
                            vgen_tensor *y, vgen_err *err);

    /* Rotary embedding in place on x [L, H, Dh], interleaved pairs (x[2j], x[2j+1]) of every head rotated by the
     * angle of (token l, pair j): cos_t, sin_t [L, Dh/2] f32.  out0 = x0 cos - x1 sin, out1 = x0 sin + x1 cos. */
    int (*rope)(vgen_backend *be, vgen_tensor *x, const float *cos_t, const float *sin_t, vgen_err *err);

    /* out[Lq, H, Dh] = softmax_k(scale * q[Lq, H, Dh] . k[Lk, H, Dh] + bias[H, Lq, Lk]) v[Lk, H, Dh], per head.
     * bias: NULL or f32 (-INFINITY masks a key). Never materialises all heads' Lq x Lk scores: key tiles with an
     * online softmax, so extra memory is O(Lq) per head. out must not alias q, k or v. */
    int (*attention)(vgen_backend *be, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v, float scale,
                     const vgen_tensor *bias, vgen_tensor *out, vgen_err *err);

    /* y = f(x) elementwise, same shape. */
    int (*unary)(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);

    /* y = a OP b. b has a's shape, or is [D] (a's innermost dim) and is broadcast over a's rows. y may alias a. */
    int (*binary)(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b, vgen_tensor *y,
                  vgen_err *err);

    /* x[M, D] += gate[D] * y[M, D]   (gate NULL: x += y). The residual updates of the DiT blocks. */
    int (*gated_add)(vgen_backend *be, vgen_tensor *x, const float *gate, const vgen_tensor *y, vgen_err *err);

    /* y[Cout, F', H', W'] = conv3d(x[Cin, F, H, W], w[Cout, Cin, kt, kh, kw]) + bias[Cout] with zero padding
     * and strides from p. w f32 or bf16, bias NULL or f32. Scratch memory is bounded (tiles over output rows),
     * whatever the frame size. A 2-D convolution is kt = 1. y must not alias x. */
    int (*conv3d)(vgen_backend *be, const vgen_tensor *x, const vgen_tensor *w, const float *bias,
                  const vgen_conv3d_params *p, vgen_tensor *y, vgen_err *err);

    /* y = x with dtype conversion (same element count; f32 <-> bf16 <-> f16 with round-to-nearest-even). */
    int (*convert)(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);

    /* VGEN_ERR_NUMERIC naming `what` and the first bad index when x (f32, bf16 or f16) holds a NaN or an Inf. */
    int (*check_finite)(vgen_backend *be, const vgen_tensor *x, const char *what, vgen_err *err);

    /* Strided copy within the device, queued like an op (the data movement of the Wan VAE: frame slices,
     * interleaves, nearest-neighbour repeats, transposes). For every index (i_0, ..., i_{n-1}) < shape[n_dims]
     * (1 <= n_dims <= VGEN_COPY_MAX_DIMS):
     *     dst[sum_k i_k dst_strides[k]] = src[sum_k i_k src_strides[k]]
     * strides in elements of elem_size bytes (1, 2, 4 or 8), all >= 0; a src stride of 0 repeats an element
     * (nearest x2 is shape [.., H, 2, W, 2] with src strides [.., W, 0, 1, 0]). The caller keeps the dst positions
     * distinct; the byte ranges the two sides span must not overlap (VGEN_ERR_INVALID_ARGUMENT). */
    int (*copy_strided)(vgen_backend *be, const void *src, const int64_t *src_strides, void *dst,
                        const int64_t *dst_strides, const int64_t *shape, int n_dims, size_t elem_size, vgen_err *err);

    /* ---- memory of the backend's device ----
     * Every pointer an op takes (tensor data, weights, scales, bias, modulation vectors, rope tables) lives on the
     * backend's device: host memory for the CPU backends, device memory for CUDA. Buffers come from alloc (64-byte
     * aligned, never managed memory) and every byte is counted in `mem` (current and peak), so the planner's
     * figures can be checked against what was used. alloc returns NULL and sets err (VGEN_ERR_OUT_OF_MEMORY naming
     * the size and what is in use) when the device is full; buf_free takes the size given to alloc. upload and
     * download copy between host memory and a buffer of the backend (synchronous with respect to the host: the
     * data is in place when they return); synchronize waits for every queued op. */
    void *(*alloc)(vgen_backend *be, size_t bytes, vgen_err *err);
    void (*buf_free)(vgen_backend *be, void *p, size_t bytes);
    int (*upload)(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err);
    int (*download)(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err);
    int (*synchronize)(vgen_backend *be, vgen_err *err);
    /* dst = src within the device (regions must not overlap), queued like an op. */
    int (*copy)(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err);
    vgen_memstat mem;
    /* True when the host may read and write the device's buffers directly (the CPU backends); model code may
     * then use host data (mapped weights) in ops without uploading it. False for CUDA. */
    bool host_addressable;

    /* ---- block streaming: host staging memory, a copy queue and fences ----
     * host_alloc gives host memory the backend can copy from asynchronously (pinned for CUDA), counted in
     * host_mem. upload_async queues a copy host -> device on the copy queue and returns at once: src must stay
     * untouched and dst unread until a fence recorded after it on the copy queue has been waited for. A fence
     * marks the point after everything queued so far on one queue (fence_record); fence_wait makes later work of
     * the other queue wait for it. The CPU backends copy at once and their fences are no-ops. */
    void *(*host_alloc)(vgen_backend *be, size_t bytes, vgen_err *err);
    void (*host_free)(vgen_backend *be, void *p, size_t bytes);
    int (*upload_async)(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err);
    int (*fence_new)(vgen_backend *be, vgen_fence **out, vgen_err *err);
    void (*fence_free)(vgen_backend *be, vgen_fence *f);
    int (*fence_record)(vgen_backend *be, vgen_fence *f, vgen_queue q, vgen_err *err);
    int (*fence_wait)(vgen_backend *be, vgen_queue q, vgen_fence *f, vgen_err *err);
    vgen_memstat host_mem;

    /* Releases impl. The backend struct itself is freed by vgen_backend_free. */
    void (*destroy)(vgen_backend *be);
};

/* The CPU backend (kernels/cpu). pool may be NULL (single-threaded helpers); it is borrowed, not owned. */
int vgen_backend_cpu_new(vgen_threadpool *pool, vgen_backend **out, vgen_err *err);
/* The plain-C reference backend (kernels/ref): the oracle for every other backend. */
int vgen_backend_ref_new(vgen_backend **out, vgen_err *err);
void vgen_backend_free(vgen_backend **be);

#endif

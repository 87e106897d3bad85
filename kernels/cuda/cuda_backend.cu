// cuda_backend.cu - the CUDA backend (cuda_backend.h): construction and teardown, device memory (counted in
// be->mem), pinned host memory (counted in be->host_mem), copies, streams, events, scratch, and the error helpers of
// cuda_impl.h. The ops live in their own files (cuda_ops.h) and are installed here.
//
// Streams: every op and every synchronous copy is queued on the compute stream (impl->stream); the copy stream
// (impl->copy_stream) carries only the asynchronous uploads of block streaming, ordered against the compute stream
// with events. Both are cudaStreamNonBlocking, so nothing here synchronizes with the legacy default stream.
//
// Device: vgen_backend_cuda_new makes its device current on the calling thread; the backend assumes it stays the
// current device of every thread that uses it (one device per process in practice).
//
// Include order: cuda_impl.h first. It includes the C headers of core/ inside extern "C"; a header that includes
// them without it (cuda_backend.h includes backend.h before its own extern "C" block) would otherwise give their
// functions C++ linkage in this file, and include guards would make that stick.
#include "cuda/cuda_impl.h"

extern "C" {
#include "ref/backend_common.h"
#include "wformat.h"
}

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_ops.h"
#include "wformat_elem.h"

#define DEFAULT_WORKSPACE_BYTES ((size_t)32 << 20)
#define SCRATCH_GRANULE ((size_t)1 << 20) // scratch grows in whole MiB

// ---- error helpers (cuda_impl.h) ----------------------------------------------------------------------------------

int vgen_cuda_fail(vgen_err *err, cudaError_t e, const char *who) {
    const int code = e == cudaErrorMemoryAllocation ? VGEN_ERR_OUT_OF_MEMORY : VGEN_ERR_INTERNAL;
    vgen_err_set(err, code, "%s: %s (%s)", who, cudaGetErrorString(e), cudaGetErrorName(e));
    // Reset the runtime's last-error slot, so a later VGEN_CUDA_LAUNCHED does not report this (non-sticky) error
    // again. Sticky errors (a kernel fault) stay and are reported by every later call, as they must be.
    (void)cudaGetLastError();
    return code;
}

int vgen_cuda_lt_fail(vgen_err *err, cublasStatus_t s, const char *who) {
    int code = VGEN_ERR_INTERNAL;
    if (s == CUBLAS_STATUS_ALLOC_FAILED) code = VGEN_ERR_OUT_OF_MEMORY;
    if (s == CUBLAS_STATUS_NOT_SUPPORTED) code = VGEN_ERR_UNSUPPORTED;
    return vgen_err_set(err, code, "%s: cuBLASLt %s (%s)", who, cublasLtGetStatusString(s),
                        cublasLtGetStatusName(s));
}

// ---- device memory ------------------------------------------------------------------------------------------------

// Waits for everything queued on both streams: before a cudaFree, so no queued kernel or copy still uses the block.
static cudaError_t drain(const vgen_cuda_impl *im) {
    cudaError_t e = cudaStreamSynchronize(im->stream);
    cudaError_t e2 = cudaStreamSynchronize(im->copy_stream);
    return e != cudaSuccess ? e : e2;
}

// cudaMalloc of bytes (at least 1), counted in be->mem; NULL + VGEN_ERR_OUT_OF_MEMORY naming the sizes.
static void *device_alloc(vgen_backend *be, size_t bytes, const char *what, vgen_err *err) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1); // 256-byte aligned: more than backend.h's 64
    if (e != cudaSuccess) {
        (void)cudaGetLastError(); // clear the non-sticky allocation error (see vgen_cuda_fail)
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
        vgen_err_set(err, e == cudaErrorMemoryAllocation ? VGEN_ERR_OUT_OF_MEMORY : VGEN_ERR_INTERNAL,
                     "cuda: cannot allocate %zu bytes of device memory for %s (%zu in use by this backend, %zu of "
                     "%zu free on the device): %s",
                     bytes, what, be->mem.current, free_b, total_b, cudaGetErrorString(e));
        return NULL;
    }
    vgen_memstat_add(&be->mem, bytes);
    return p;
}

static void device_free(vgen_backend *be, void *p, size_t bytes) {
    if (!p) return;
    // Errors here are from earlier asynchronous work (a sticky fault) and were or will be reported by the op or
    // synchronize call that meets them; a free has no error channel, so the block is released regardless.
    if (drain((const vgen_cuda_impl *)be->impl) != cudaSuccess) (void)cudaGetLastError();
    if (cudaFree(p) != cudaSuccess) (void)cudaGetLastError();
    vgen_memstat_sub(&be->mem, bytes);
}

static void *cuda_alloc(vgen_backend *be, size_t bytes, vgen_err *err) {
    return device_alloc(be, bytes, "a buffer", err);
}

static void cuda_buf_free(vgen_backend *be, void *p, size_t bytes) { device_free(be, p, bytes); }

void *vgen_cuda_scratch(vgen_backend *be, size_t bytes, vgen_err *err) {
    vgen_cuda_impl *im = vgen_cuda_impl_of(be);
    if (im->scratch && bytes <= im->scratch_bytes) return im->scratch;
    size_t want = bytes + (SCRATCH_GRANULE - 1);
    if (want < bytes) {
        vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cuda: scratch of %zu bytes is too large", bytes);
        return NULL;
    }
    want -= want % SCRATCH_GRANULE;
    // The old block may still be read by queued work: device_free drains both streams before releasing it.
    device_free(be, im->scratch, im->scratch_bytes);
    im->scratch = NULL;
    im->scratch_bytes = 0;
    im->scratch = device_alloc(be, want, "op scratch", err);
    if (im->scratch) im->scratch_bytes = want;
    return im->scratch;
}

// ---- copies and synchronization -----------------------------------------------------------------------------------

static int copy_sync(vgen_backend *be, void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                     const char *who, vgen_err *err) {
    if (!bytes) return VGEN_OK;
    if (!dst || !src)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: copy of %zu bytes with a NULL pointer", who, bytes);
    vgen_cuda_impl *im = vgen_cuda_impl_of(be);
    // On the compute stream, so the copy is ordered after every queued op (a download sees their results).
    VGEN_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, kind, im->stream), err, who);
    VGEN_CUDA_TRY(cudaStreamSynchronize(im->stream), err, who);
    return VGEN_OK;
}

static int cuda_upload(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err) {
    return copy_sync(be, dst, src, bytes, cudaMemcpyHostToDevice, "cuda upload", err);
}

static int cuda_download(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err) {
    return copy_sync(be, dst, src, bytes, cudaMemcpyDeviceToHost, "cuda download", err);
}

static int cuda_synchronize(vgen_backend *be, vgen_err *err) {
    VGEN_CUDA_TRY(drain(vgen_cuda_impl_of(be)), err, "cuda synchronize");
    return VGEN_OK;
}

// ---- pinned host memory (backend.h host_alloc / host_free, counted in be->host_mem) ---------------------------

static void *cuda_host_alloc(vgen_backend *be, size_t bytes, vgen_err *err) {
    void *p = NULL;
    cudaError_t e = cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocDefault);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY,
                     "cuda: cannot allocate %zu bytes of pinned host memory (%zu pinned by this backend): %s", bytes,
                     be->host_mem.current, cudaGetErrorString(e));
        return NULL;
    }
    vgen_memstat_add(&be->host_mem, bytes);
    return p;
}

static void cuda_host_free(vgen_backend *be, void *p, size_t bytes) {
    if (!p) return;
    vgen_cuda_impl *im = vgen_cuda_impl_of(be);
    // A queued async upload may still read p.
    if (drain(im) != cudaSuccess) (void)cudaGetLastError();
    if (cudaFreeHost(p) != cudaSuccess) (void)cudaGetLastError();
    vgen_memstat_sub(&be->host_mem, bytes);
}

void vgen_cuda_compute_capability(const vgen_backend *be, int *major, int *minor) {
    const vgen_cuda_impl *im = (const vgen_cuda_impl *)be->impl;
    if (major) *major = im->cc_major;
    if (minor) *minor = im->cc_minor;
}

// ---- copy stream and fences (backend.h: upload_async, fence_*) ---------------------------------------------------

struct vgen_fence {
    cudaEvent_t ev;
};

static int cuda_fence_new(vgen_backend *be, vgen_fence **out, vgen_err *err) {
    (void)be;
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "cuda fence_new: out is NULL");
    *out = NULL;
    vgen_fence *f = (vgen_fence *)calloc(1, sizeof *f);
    if (!f) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cuda: cannot allocate a fence");
    cudaError_t e = cudaEventCreateWithFlags(&f->ev, cudaEventDisableTiming);
    if (e != cudaSuccess) {
        free(f);
        return vgen_cuda_fail(err, e, "cuda fence create");
    }
    *out = f;
    return VGEN_OK;
}

static void cuda_fence_free(vgen_backend *be, vgen_fence *f) {
    (void)be;
    if (!f) return;
    if (cudaEventDestroy(f->ev) != cudaSuccess) (void)cudaGetLastError();
    free(f);
}

static cudaStream_t stream_of(vgen_backend *be, vgen_queue q) {
    vgen_cuda_impl *im = vgen_cuda_impl_of(be);
    return q == VGEN_QUEUE_COPY ? im->copy_stream : im->stream;
}

static int cuda_upload_async(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err) {
    if (!bytes) return VGEN_OK;
    if (!dst || !src)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "cuda upload_async: %zu bytes with a NULL pointer",
                            bytes);
    VGEN_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_of(be, VGEN_QUEUE_COPY)), err,
                  "cuda upload_async");
    return VGEN_OK;
}

static int cuda_fence_record(vgen_backend *be, vgen_fence *f, vgen_queue q, vgen_err *err) {
    if (!f) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "cuda fence_record: fence is NULL");
    VGEN_CUDA_TRY(cudaEventRecord(f->ev, stream_of(be, q)), err, "cuda fence_record");
    return VGEN_OK;
}

static int cuda_fence_wait(vgen_backend *be, vgen_queue q, vgen_fence *f, vgen_err *err) {
    if (!f) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "cuda fence_wait: fence is NULL");
    VGEN_CUDA_TRY(cudaStreamWaitEvent(stream_of(be, q), f->ev, 0), err, "cuda fence_wait");
    return VGEN_OK;
}

// Device-to-device on the compute stream, ordered like an op.
static int cuda_copy(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err) {
    if (!bytes) return VGEN_OK;
    if (!dst || !src)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "cuda copy: %zu bytes with a NULL pointer", bytes);
    VGEN_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_of(be, VGEN_QUEUE_COMPUTE)), err,
                  "cuda copy");
    return VGEN_OK;
}

// ---- construction -------------------------------------------------------------------------------------------------

void vgen_cuda_options_init(vgen_cuda_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->device = 0;
    o->fp8_activations = 0;
    o->workspace_bytes = 0; // DEFAULT_WORKSPACE_BYTES
}

static bool cuda_supports(const vgen_backend *be, vgen_op op, vgen_wformat format) {
    // linear: every format the dequantization kernel decodes (core/wformat_elem.h knows its layout).
    if (op == VGEN_OP_LINEAR) return be->linear && vgen_wfe_bits(format) != 0 && vgen_wformat_get(format) != NULL;
    return vgen_backend_has_op(be, op, format);
}

// Releases everything impl holds, in reverse order of creation: queued work first, then the memory it may use,
// then the cuBLASLt handle and the streams. Safe on a partly built impl (NULL members are skipped).
static void cuda_destroy(vgen_backend *be) {
    vgen_cuda_impl *im = vgen_cuda_impl_of(be);
    if (!im) return;
    if (cudaSetDevice(im->device) != cudaSuccess) (void)cudaGetLastError();
    if (im->stream && cudaStreamSynchronize(im->stream) != cudaSuccess) (void)cudaGetLastError();
    if (im->copy_stream && cudaStreamSynchronize(im->copy_stream) != cudaSuccess) (void)cudaGetLastError();
    if (im->scratch && cudaFree(im->scratch) != cudaSuccess) (void)cudaGetLastError();
    if (im->scratch) vgen_memstat_sub(&be->mem, im->scratch_bytes);
    if (im->workspace && cudaFree(im->workspace) != cudaSuccess) (void)cudaGetLastError();
    if (im->workspace) vgen_memstat_sub(&be->mem, im->workspace_bytes);
    if (im->lt) (void)cublasLtDestroy(im->lt);
    if (im->copy_stream && cudaStreamDestroy(im->copy_stream) != cudaSuccess) (void)cudaGetLastError();
    if (im->stream && cudaStreamDestroy(im->stream) != cudaSuccess) (void)cudaGetLastError();
    free(im);
    be->impl = NULL;
}

// Installs every op of cuda_ops.h and the memory functions. vgen_cuda_attention_chunked is the reference path of
// attention (tests call it directly) and is not installed.
static void install(vgen_backend *be) {
    be->supports = cuda_supports;
    be->linear = vgen_cuda_linear;
    be->layer_norm = vgen_cuda_layer_norm;
    be->rms_norm = vgen_cuda_rms_norm;
    be->channel_rms_norm = vgen_cuda_channel_rms_norm;
    be->rope = vgen_cuda_rope;
    be->attention = vgen_cuda_attention;
    be->unary = vgen_cuda_unary;
    be->binary = vgen_cuda_binary;
    be->gated_add = vgen_cuda_gated_add;
    be->conv3d = vgen_cuda_conv3d;
    be->convert = vgen_cuda_convert;
    be->check_finite = vgen_cuda_check_finite;
    be->copy_strided = vgen_cuda_copy_strided;
    be->alloc = cuda_alloc;
    be->buf_free = cuda_buf_free;
    be->upload = cuda_upload;
    be->download = cuda_download;
    be->synchronize = cuda_synchronize;
    be->copy = cuda_copy;
    be->host_addressable = false;
    be->host_alloc = cuda_host_alloc;
    be->host_free = cuda_host_free;
    be->upload_async = cuda_upload_async;
    be->fence_new = cuda_fence_new;
    be->fence_free = cuda_fence_free;
    be->fence_record = cuda_fence_record;
    be->fence_wait = cuda_fence_wait;
    be->destroy = cuda_destroy;
}

// An empty kernel: asking for its attributes fails when this build holds no code the device can run.
static __global__ void probe_kernel(void) {}

// The device exists and can run this build's kernels; fills the compute capability.
static int open_device(int device, vgen_cuda_impl *im, vgen_err *err) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "no usable CUDA device: %s (%s)", cudaGetErrorString(e),
                            cudaGetErrorName(e));
    }
    if (count == 0) return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "no usable CUDA device: the driver reports none");
    if (device < 0 || device >= count)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "CUDA device %d does not exist (%d device%s)", device,
                            count, count == 1 ? "" : "s");
    VGEN_CUDA_TRY(cudaSetDevice(device), err, "cuda set device");
    cudaDeviceProp prop;
    VGEN_CUDA_TRY(cudaGetDeviceProperties(&prop, device), err, "cuda device properties");
    im->device = device;
    im->cc_major = prop.major;
    im->cc_minor = prop.minor;
    cudaFuncAttributes attr;
    e = cudaFuncGetAttributes(&attr, probe_kernel);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED,
                            "CUDA device %d (%s, compute capability %d.%d): this build has no kernels it can run "
                            "(%s); rebuild with CMAKE_CUDA_ARCHITECTURES including %d%d",
                            device, prop.name, prop.major, prop.minor, cudaGetErrorString(e), prop.major, prop.minor);
    }
    return VGEN_OK;
}

// Streams, the cuBLASLt handle and its workspace.
static int open_resources(vgen_backend *be, const vgen_cuda_options *o, vgen_cuda_impl *im, vgen_err *err) {
    VGEN_CUDA_TRY(cudaStreamCreateWithFlags(&im->stream, cudaStreamNonBlocking), err, "cuda compute stream");
    VGEN_CUDA_TRY(cudaStreamCreateWithFlags(&im->copy_stream, cudaStreamNonBlocking), err, "cuda copy stream");
    cublasStatus_t s = cublasLtCreate(&im->lt);
    if (s != CUBLAS_STATUS_SUCCESS) {
        im->lt = NULL;
        return vgen_cuda_lt_fail(err, s, "cuBLASLt handle");
    }
    const size_t ws = o->workspace_bytes ? o->workspace_bytes : DEFAULT_WORKSPACE_BYTES;
    im->workspace = device_alloc(be, ws, "the cuBLASLt workspace", err);
    if (!im->workspace) return err ? err->code : VGEN_ERR_OUT_OF_MEMORY;
    im->workspace_bytes = ws;
    im->fp8_activations = o->fp8_activations;
    return VGEN_OK;
}

int vgen_backend_cuda_new(const vgen_cuda_options *o, vgen_backend **out, vgen_err *err) {
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_backend_cuda_new: out is NULL");
    *out = NULL;
    vgen_cuda_options defaults;
    vgen_cuda_options_init(&defaults);
    if (!o) o = &defaults;
    vgen_backend *be = (vgen_backend *)calloc(1, sizeof *be);
    vgen_cuda_impl *im = (vgen_cuda_impl *)calloc(1, sizeof *im);
    if (!be || !im) {
        free(be);
        free(im);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the CUDA backend");
    }
    be->name = "cuda";
    be->device = VGEN_DEVICE_CUDA;
    be->impl = im;
    install(be);
    int rc = open_device(o->device, im, err);
    if (!rc) rc = open_resources(be, o, im, err);
    if (rc) {
        cuda_destroy(be); // releases whatever was made (NULL members are skipped) and frees im
        free(be);
        return rc;
    }
    *out = be;
    return VGEN_OK;
}

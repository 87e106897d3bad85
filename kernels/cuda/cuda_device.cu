// cuda_device.cu - device discovery through the CUDA runtime.
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "cuda_device.h"
#include "vgen.h"

static bool no_gpu(cudaError_t e) {
    return e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorInitializationError;
}

extern "C" int vgen_cuda_device_count(int *count, char *msg, size_t msg_size) {
    *count = 0;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaSuccess) {
        *count = n;
        return VGEN_OK;
    }
    if (msg && msg_size) snprintf(msg, msg_size, "%s", cudaGetErrorString(e));
    return no_gpu(e) ? VGEN_OK : VGEN_ERR_INTERNAL;
}

extern "C" int vgen_cuda_device_query(int device, vgen_cuda_device_info *out, char *msg, size_t msg_size) {
    memset(out, 0, sizeof *out);
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, device);
    if (e == cudaSuccess) e = cudaSetDevice(device);
    if (e == cudaSuccess) e = cudaMemGetInfo(&out->free_bytes, &out->total_bytes);
    if (e != cudaSuccess) {
        if (msg && msg_size) snprintf(msg, msg_size, "CUDA device %d: %s", device, cudaGetErrorString(e));
        return VGEN_ERR_INTERNAL;
    }
    snprintf(out->name, sizeof out->name, "%s", prop.name);
    out->compute_major = prop.major;
    out->compute_minor = prop.minor;
    return VGEN_OK;
}

/* cuda_device.h - what CUDA devices this process can use (C API over the CUDA runtime). */
#ifndef VGEN_KERNELS_CUDA_DEVICE_H
#define VGEN_KERNELS_CUDA_DEVICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vgen_cuda_device_info {
    char name[256];
    int compute_major, compute_minor;   /* e.g. 8.9 for an RTX 4090 */
    size_t total_bytes;                 /* device memory */
    size_t free_bytes;
} vgen_cuda_device_info;

/* Number of usable devices in *count: 0 (and VGEN_OK) when there is no GPU or no driver, so callers can fall back
 * to the CPU. Other CUDA errors return VGEN_ERR_INTERNAL with the CUDA error string in msg. */
int vgen_cuda_device_count(int *count, char *msg, size_t msg_size);
int vgen_cuda_device_query(int device, vgen_cuda_device_info *out, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif

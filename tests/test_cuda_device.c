/* test_cuda_device.c - the CUDA runtime is linked and answers; skipped (exit 77) without -DVGEN_CUDA=ON or a GPU. */
#include <stdio.h>

#include "testutil.h"
#include "vgen.h"

#ifdef VGEN_HAVE_CUDA
#include "cuda/cuda_device.h"

static int g_count;

static void test_device_query(void) {
    for (int d = 0; d < g_count; d++) {
        vgen_cuda_device_info info;
        char msg[256] = "";
        CHECK_EQ_INT(vgen_cuda_device_query(d, &info, msg, sizeof msg), VGEN_OK);
        CHECK(info.total_bytes > 0 && info.free_bytes <= info.total_bytes);
        CHECK(info.compute_major >= 5);
        printf("device %d: %s, sm_%d%d, %.1f GiB\n", d, info.name, info.compute_major, info.compute_minor,
               (double)info.total_bytes / (1u << 30));
    }
}

int main(void) {
    char msg[256] = "";
    int rc = vgen_cuda_device_count(&g_count, msg, sizeof msg);
    if (rc != VGEN_OK) {
        fprintf(stderr, "cudaGetDeviceCount failed: %s\n", msg);
        return 1;
    }
    if (g_count == 0) {
        printf("SKIPPED: no CUDA device (%s)\n", msg[0] ? msg : "none found");
        return 77;
    }
    RUN(test_device_query);
    return test_summary();
}
#else
int main(void) {
    printf("SKIPPED: built without -DVGEN_CUDA=ON\n");
    return 77;
}
#endif

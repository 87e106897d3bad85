/* ops_install.c - vgen_cpu_ops_install and the SIMD level (ops_cpu.h). */
#include <stdlib.h>

#include "cpu/ops_cpu.h"

int vgen_cpu_simd_level(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl"))
        return VGEN_SIMD_NONE;
    return __builtin_cpu_supports("avx512bf16") ? VGEN_SIMD_AVX512_BF16 : VGEN_SIMD_AVX512;
#else
    return VGEN_SIMD_NONE;
#endif
}

void *vgen_cpu_alloc(size_t bytes) {
    size_t n = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, n ? n : 64);
}

static void install(vgen_backend *be, int portable) {
    if (!be) return;
    vgen_cpu_norm_install(be, portable);
    vgen_cpu_rope_install(be, portable);
    vgen_cpu_attention_install(be, portable);
    vgen_cpu_unary_install(be, portable);
    vgen_cpu_binary_install(be, portable);
    vgen_cpu_convert_install(be, portable);
    vgen_cpu_conv3d_install(be, portable);
    vgen_cpu_copy_install(be, portable);
}

void vgen_cpu_ops_install(vgen_backend *be) { install(be, 0); }
void vgen_cpu_ops_install_portable(vgen_backend *be) { install(be, 1); }

/* cfg.c - classifier-free guidance: v = v_u + g (v_c - v_u), float32 in diffusers' order (WanPipeline). */
#include "sampler.h"

void vgen_cfg_combine(float *v_cond, const float *v_uncond, float guidance, size_t numel) {
    for (size_t j = 0; j < numel; j++) {
        float d = v_cond[j] - v_uncond[j];
        float gd = guidance * d;
        v_cond[j] = v_uncond[j] + gd;
    }
}

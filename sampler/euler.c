/* euler.c - flow-matching Euler (FlowMatchEulerDiscreteScheduler.step): x += (sigma_next - sigma) v, in float32
 * with diffusers' roundings: dt = fl(sigma_next - sigma), x = fl(x + fl(dt v)). */
#include "sampler_impl.h"

void vgen_euler_step(const vgen_sampler *s, int step, const float *model_output, float *sample) {
    const float dt = s->sigmas[step + 1] - s->sigmas[step];
    for (size_t j = 0; j < s->numel; j++) {
        float dx = dt * model_output[j];
        sample[j] = sample[j] + dx;
    }
}

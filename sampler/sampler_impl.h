/* sampler_impl.h - the solver state shared by sampler.c, unipc.c and euler.c (not part of the sampler API). */
#ifndef VGEN_SAMPLER_IMPL_H
#define VGEN_SAMPLER_IMPL_H

#include "sampler.h"

struct vgen_sampler {
    vgen_sampler_kind kind;
    int n_steps;
    int next_step;      /* the step vgen_sampler_step expects */
    size_t numel;
    float *sigmas;      /* [n_steps + 1] float32, as diffusers holds scheduler.sigmas */
    /* UniPC only (NULL for Euler) */
    float *x0[2];       /* x0 predictions of the two latest steps; x0[newest] is the latest */
    int newest;
    float *last_sample; /* the (corrected) sample the previous predictor started from */
    int prev_order;     /* order of the previous predictor (the next corrector's order) */
};

/* One step of each method; the caller has checked step order and arguments. */
void vgen_unipc_step(vgen_sampler *s, int step, const float *model_output, float *sample);
void vgen_euler_step(const vgen_sampler *s, int step, const float *model_output, float *sample);

#endif

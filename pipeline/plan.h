/* plan.h - the memory planner (vgen_plan_generation in include/vgen.h; DESIGN.md section 4).
 *
 *   plan.c         one plan: each component's figures (the family's plan_* functions) placed per phase by the
 *                  preset's devices and offload policies
 *   plan_advice.c  for a plan over budget, the smallest single change that fits
 *   plan_api.c     the public entry point, and the refusal vgen_generate applies before loading anything */
#ifndef VGEN_PIPELINE_PLAN_H
#define VGEN_PIPELINE_PLAN_H

#include "model.h"
#include "sampler.h"
#include "vgen.h"

/* What a plan depends on besides the model's paths and the preset. */
typedef struct vgen_plan_request {
    int width, height, frames;
    int guided;                 /* classifier-free guidance: two contexts, a second DiT output */
    vgen_sampler_kind sampler;
    int steps;
} vgen_plan_request;

/* Plans q for the model m (paths resolved, weights need not be loaded) under preset p. */
int vgen_plan_compute(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, vgen_plan *out,
                      vgen_err *err);

/* Fills out->summary for a plan that does not fit: which budget is exceeded and the smallest change that fits. */
int vgen_plan_advise(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, vgen_plan *out,
                     vgen_err *err);

/* The request of generate params p for model m (defaults applied as vgen_generate applies them). */
vgen_plan_request vgen_plan_request_of(const vgen_model *m, const vgen_generate_params *p);

/* VGEN_ERR_BUDGET with the plan's summary when the plan of q does not fit, else VGEN_OK (plan_api.c). */
int vgen_plan_check(const vgen_model *m, const vgen_plan_request *q, vgen_err *err);

#endif

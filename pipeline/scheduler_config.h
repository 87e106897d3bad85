/* scheduler_config.h - a diffusers scheduler/scheduler_config.json, read into what vgen's samplers need: the method
 * and the flow shift. vgen runs two schedulers (sampler/sampler.h), each in the one configuration Wan uses:
 *
 *   UniPCMultistepScheduler          use_flow_sigmas true, prediction_type "flow_prediction", solver_order 2,
 *                                    solver_type "bh2", predict_x0 true, lower_order_final true,
 *                                    final_sigmas_type "zero", shift = "flow_shift"
 *   FlowMatchEulerDiscreteScheduler  shift = "shift", use_dynamic_shifting false
 *
 * For both: num_train_timesteps 1000, no thresholding, no Karras/exponential/beta sigmas. A key with another value
 * is VGEN_ERR_UNSUPPORTED naming the key, the value and the file; a key of the wrong type VGEN_ERR_MALFORMED.
 * Keys not listed are ignored. */
#ifndef VGEN_PIPELINE_SCHEDULER_CONFIG_H
#define VGEN_PIPELINE_SCHEDULER_CONFIG_H

#include <stddef.h>

#include "err.h"
#include "sampler.h"

typedef struct vgen_sched_config {
    vgen_sampler_kind kind;
    double shift;
} vgen_sched_config;

/* Parses JSON text; display names the file in messages. */
int vgen_sched_config_parse(const char *json, size_t n, const char *display, vgen_sched_config *out, vgen_err *err);
/* path: a scheduler_config.json, or a folder holding one. Missing: VGEN_ERR_NOT_FOUND naming the path. */
int vgen_sched_config_read(const char *path, vgen_sched_config *out, vgen_err *err);

#endif

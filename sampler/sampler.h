/* sampler.h - flow-matching samplers for Wan: schedules, solvers and the sampling loop, as diffusers 0.35 computes
 * them (UniPCMultistepScheduler with Wan's config, FlowMatchEulerDiscreteScheduler).
 *
 * The sampler never sees a model: the loop (vgen_sample) calls a "denoise" callback that returns the velocity v
 * for a latent x at timestep t, so everything here is tested with recorded model outputs (tests/test_sampler.c).
 * Latents are flat float32 arrays of numel elements (any layout: every operation is elementwise).
 *
 * Precision follows diffusers: the schedule is computed in float64 (numpy) and held in float32 by the solvers;
 * solver coefficients and updates are float32 operations in diffusers' order (docs/sampler.md). */
#ifndef VGEN_SAMPLER_H
#define VGEN_SAMPLER_H

#include <stddef.h>

#include "err.h"

#define VGEN_TRAIN_TIMESTEPS 1000   /* num_train_timesteps of every Wan scheduler config */
#define VGEN_SCHEDULE_MAX_STEPS 10000

/* ---- schedules ---- */

/* How timesteps (what the DiT receives) follow from sigmas. */
typedef enum vgen_timestep_rule {
    VGEN_TIMESTEPS_TRUNC = 0, /* t = (int64)(sigma * 1000) in float64: UniPC with flow sigmas (int64 timesteps) */
    VGEN_TIMESTEPS_F32 = 1    /* t = (float)sigma * 1000.0f in float32: FlowMatchEulerDiscrete */
} vgen_timestep_rule;

typedef struct vgen_schedule {
    int n_steps;      /* >= 1 */
    double *sigmas;   /* [n_steps + 1] strictly decreasing in [0, 1]; the float64 values before diffusers' float32 cast */
    float *timesteps; /* [n_steps] the timestep the DiT receives at each step (an integer value for UniPC) */
} vgen_schedule;

/* UniPCMultistepScheduler(use_flow_sigmas, flow_shift=shift, final_sigmas_type="zero").set_timesteps(n_steps):
 * s = 1 - linspace(1, 1/1000, n + 1), sigma = shift s / (1 + (shift - 1) s), reversed, the trailing 0 dropped, then
 * 0 appended; timesteps by VGEN_TIMESTEPS_TRUNC. shift: finite, > 0. *out is overwritten (release it after). */
int vgen_schedule_unipc_flow(vgen_schedule *out, int n_steps, double shift, vgen_err *err);

/* FlowMatchEulerDiscreteScheduler(shift=shift).set_timesteps(n_steps): t = linspace(1000, 1000 sigma_min, n) with
 * sigma_min the float32 shifted sigma of train timestep 1, sigma = shift s / (1 + (shift - 1) s) with s = t / 1000,
 * 0 appended; timesteps by VGEN_TIMESTEPS_F32. */
int vgen_schedule_euler_flow(vgen_schedule *out, int n_steps, double shift, vgen_err *err);

/* A custom schedule: sigmas[0..n_sigmas) is used as is (no shift; n_sigmas - 1 steps; end with 0 to finish on the
 * clean latent). Rules: 2 <= n_sigmas <= VGEN_SCHEDULE_MAX_STEPS + 1, every value finite and in [0, 1], strictly
 * decreasing also after rounding to float32. VGEN_ERR_INVALID_ARGUMENT names the offending index. */
int vgen_schedule_from_sigmas(vgen_schedule *out, const double *sigmas, int n_sigmas, vgen_timestep_rule rule,
                              vgen_err *err);

/* Frees the arrays and zeroes *s. Safe on a zeroed or released schedule. */
void vgen_schedule_release(vgen_schedule *s);

/* ---- solvers ---- */

typedef enum vgen_sampler_kind {
    VGEN_SAMPLER_UNIPC = 0, /* UniPC multistep, bh2, order 2, flow prediction, lower_order_final */
    VGEN_SAMPLER_EULER = 1  /* flow-matching Euler: x += (sigma_next - sigma) v */
} vgen_sampler_kind;

const char *vgen_sampler_kind_name(vgen_sampler_kind kind); /* "unipc", "euler", "?" */

/* Solver state: a copy of the schedule's sigmas in float32 and the history the method needs. */
typedef struct vgen_sampler vgen_sampler;

/* Bytes of state vgen_sampler_new allocates for numel latent elements (for memory planning): UniPC keeps three
 * latent-sized buffers (two x0 predictions and the previous sample), Euler none. */
size_t vgen_sampler_state_bytes(vgen_sampler_kind kind, int n_steps, size_t numel);

/* UniPC needs every sigma below 1 (log(1 - sigma) must be finite); numel >= 1. */
int vgen_sampler_new(vgen_sampler_kind kind, const vgen_schedule *schedule, size_t numel, vgen_sampler **out,
                     vgen_err *err);
void vgen_sampler_free(vgen_sampler **s);

/* One scheduler.step(): sample[numel] (x at sigmas[step_index]) becomes x at sigmas[step_index + 1], given the
 * (guided) velocity model_output[numel]. Steps must come in order 0, 1, ..., n_steps - 1. After the last UniPC step
 * with a final sigma 0 the sample is the x0 prediction. */
int vgen_sampler_step(vgen_sampler *s, int step_index, const float *model_output, float *sample, vgen_err *err);

/* UniPC: the x0 prediction x - sigma v of the last step (diffusers' model_outputs[-1]); NULL before the first step
 * and for Euler. Valid until the next step. */
const float *vgen_sampler_x0(const vgen_sampler *s);

/* ---- classifier-free guidance ---- */

/* v_cond[i] = v_uncond[i] + guidance (v_cond[i] - v_uncond[i]) in float32, as diffusers' WanPipeline. */
void vgen_cfg_combine(float *v_cond, const float *v_uncond, float guidance, size_t numel);

/* ---- the sampling loop ---- */

/* Writes the velocity for latent x[numel] at timestep into v_out[numel]: cond 1 for the conditional (prompt) pass,
 * 0 for the unconditional (negative prompt) pass. Returns VGEN_OK or a negative vgen_status, which stops sampling. */
typedef int (*vgen_denoise_fn)(void *user_data, int step, float timestep, const float *x, float *v_out, int cond);

typedef struct vgen_sample_params {
    vgen_sampler_kind kind;        /* default VGEN_SAMPLER_UNIPC */
    float guidance;                /* CFG scale g; 1 skips the unconditional pass. Default 5.0 (Wan2.1 T2V) */
    vgen_denoise_fn denoise;       /* required */
    void *denoise_user_data;
    vgen_abort_fn abort;           /* checked before every step; non-zero stops with VGEN_ERR_ABORTED */
    void *abort_user_data;
    vgen_progress_fn progress;     /* called after every step with (steps done, n_steps) */
    void *progress_user_data;
} vgen_sample_params;

vgen_sample_params vgen_sample_params_init(void);

/* Runs every step of schedule on latent[numel] in place (the initial noise in, the final latent out). Errors:
 * VGEN_ERR_INVALID_ARGUMENT (bad parameters or schedule), VGEN_ERR_OUT_OF_MEMORY, VGEN_ERR_ABORTED, the denoise
 * callback's status, VGEN_ERR_NUMERIC if a guided velocity is not finite. On error latent holds the last completed
 * step. Allocates the solver state plus one latent-sized velocity buffer (two with guidance != 1). */
int vgen_sample(const vgen_schedule *schedule, const vgen_sample_params *params, float *latent, size_t numel,
                vgen_err *err);

#endif

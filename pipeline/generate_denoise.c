/* generate_denoise.c - the denoise phase: the initial noise x[C, F, H, W] = torch.randn on a CPU generator seeded
 * with the seed, the flow schedule, and vgen_sample (sampler/) over the DiT: per step one conditional pass, one
 * unconditional pass with guidance != 1, v = v_u + g (v_c - v_u), then the UniPC or Euler update. Abort is checked
 * before every step (the sampler) and between DiT blocks (the session). */
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "torch_rng.h"

static int init_latents(vgen_run *r) {
    r->numel = (size_t)r->fam->latent_channels * (size_t)(r->lf * r->lh * r->lw);
    r->latents = malloc(r->numel * sizeof(float));
    if (!r->latents)
        return vgen_err_set(r->err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the latents (%zu floats)", r->numel);
    vgen_torch_rng g;
    vgen_torch_rng_seed(&g, r->p.seed);
    vgen_torch_randn(&g, r->latents, r->numel);
    if (r->taps && r->taps->latents_init) r->taps->latents_init(r->taps->user_data, r->latents, r->numel);
    return VGEN_OK;
}

static int make_schedule(vgen_run *r, vgen_schedule *s) {
    int rc = r->kind == VGEN_SAMPLER_EULER ? vgen_schedule_euler_flow(s, r->p.steps, r->shift, r->err)
                                           : vgen_schedule_unipc_flow(s, r->p.steps, r->shift, r->err);
    if (!rc && r->taps && r->taps->schedule) r->taps->schedule(r->taps->user_data, s);
    return rc;
}

static int denoise_cb(void *user_data, int step, float timestep, const float *x, float *v_out, int cond) {
    vgen_run *r = user_data;
    const float *ctx = cond ? r->ctx_cond : r->ctx_uncond;
    int rc = r->fam->dit_forward(r->session, x, timestep, ctx, v_out, &r->denoise_err);
    if (rc == VGEN_ERR_ABORTED)
        vgen_err_set(&r->denoise_err, rc, "generation aborted during step %d of %d", step + 1, r->p.steps);
    if (!rc && r->taps && r->taps->denoise)
        r->taps->denoise(r->taps->user_data, step, timestep, cond, x, v_out, r->numel);
    return rc;
}

static void step_cb(int64_t done, int64_t total, void *user_data) {
    vgen_run *r = user_data;
    (void)total;
    if (r->taps && r->taps->step_done) r->taps->step_done(r->taps->user_data, (int)done - 1, r->latents, r->numel);
    vgen_run_progress(r, done);
}

static int open_session(vgen_run *r) {
    if (r->dit->width != r->ctx_width)
        return vgen_err_set(r->err, VGEN_ERR_SHAPE, "the text encoder %s gives %lld-wide contexts but the transformer "
                            "%s takes %lld", r->model->paths[VGEN_PART_TEXT_ENCODER], (long long)r->ctx_width,
                            r->model->paths[VGEN_PART_TRANSFORMER], (long long)r->dit->width);
    const vgen_component_plan *cp = &r->model->preset.components[VGEN_COMPONENT_DIT];
    const vgen_dit_shape shape = {.frames = r->lf, .height = r->lh, .width = r->lw, .ctx_len = r->fam->ctx_len,
                                  .resident_blocks = cp->offload == VGEN_OFFLOAD_STREAM ? cp->resident_blocks : 0,
                                  .log = &r->log, .abort = vgen_run_abort_cb, .abort_user_data = r};
    size_t session_bytes = 0;
    int rc = r->fam->dit_session_new(r->dit, vgen_run_backend(r, VGEN_COMPONENT_DIT), &shape, &r->session,
                                     &session_bytes, r->err);
    if (rc) return rc;
    const size_t state = vgen_sampler_state_bytes(r->kind, r->p.steps, r->numel) +
                         (r->guided ? 3 : 2) * r->numel * sizeof(float);
    const size_t ctx_bytes = (r->guided ? 2 : 1) * (size_t)r->fam->ctx_len * (size_t)r->ctx_width * sizeof(float);
    VGEN_LOGI(&r->log, "denoise memory: transformer %.1f MiB + %.1f MiB mapped, session %.1f MiB, latents and "
              "sampler %.2f MiB, contexts %.1f MiB", (double)r->dit->owned_bytes / 1048576.0,
              (double)r->dit->mapped_bytes / 1048576.0, (double)session_bytes / 1048576.0,
              (double)state / 1048576.0, (double)ctx_bytes / 1048576.0);
    return VGEN_OK;
}

static int sample(vgen_run *r, const vgen_schedule *s) {
    vgen_sample_params sp = vgen_sample_params_init();
    sp.kind = r->kind;
    sp.guidance = (float)r->p.guidance;
    sp.denoise = denoise_cb;
    sp.denoise_user_data = r;
    sp.abort = vgen_run_abort_cb;
    sp.abort_user_data = r;
    sp.progress = step_cb;
    sp.progress_user_data = r;
    vgen_err_clear(&r->denoise_err);
    int rc = vgen_sample(s, &sp, r->latents, r->numel, r->err);
    if (rc && r->denoise_err.code) *r->err = r->denoise_err; /* the DiT's message names more than the sampler's */
    return rc;
}

int vgen_run_denoise(vgen_run *r) {
    vgen_schedule s = {0};
    int rc = vgen_run_load_part(r, VGEN_COMPONENT_DIT);
    if (!rc) rc = init_latents(r);
    if (!rc) rc = make_schedule(r, &s);
    if (!rc) rc = open_session(r);
    if (!rc) {
        vgen_run_phase_begin(r, VGEN_PHASE_DENOISE, r->p.steps);
        rc = sample(r, &s);
    }
    r->fam->dit_session_free(&r->session);
    vgen_schedule_release(&s);
    if (rc) return rc;
    vgen_run_phase_end(r);
    free(r->ctx_cond);
    free(r->ctx_uncond);
    r->ctx_cond = r->ctx_uncond = NULL;
    if (r->dit_own) {
        r->dit = NULL;
        vgen_part_free(&r->dit_own);
        VGEN_LOGI(&r->log, "transformer freed (offload free_after_use)");
    }
    return VGEN_OK;
}

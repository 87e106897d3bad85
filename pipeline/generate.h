/* generate.h - one generation (vgen_generate in include/vgen.h), as a run through four phases over a model's family
 * table (family.h), each phase in its own file:
 *
 *   generate_validate.c   parameters and outputs checked before anything heavy (vgen_generate_validate)
 *   generate_outputs.c    the sinks (mp4, PNG folder, JSON record) as one tee: opened first, finished last
 *   generate_text.c       prompt (and negative prompt) -> contexts; the text encoder freed after use
 *   generate_denoise.c    seed -> noise, schedule, vgen_sample over the DiT (two passes with CFG)
 *   generate_decode.c     final latents -> VAE streaming decode -> frame callback and sinks, frame by frame
 *   generate_record.c     the run record (record_json.h) of the run
 *   generate_progress.c   phase timing, progress reports, the abort check
 *   generate.c            the order of the phases and the clean-up
 *
 * Nothing here is global: the run struct lives on the stack of vgen_generate. */
#ifndef VGEN_PIPELINE_GENERATE_H
#define VGEN_PIPELINE_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "context.h"
#include "family.h"
#include "model.h"
#include "sampler.h"
#include "sink.h"
#include "vgen.h"

/* Observation points for tests (tests/test_pipeline.c compares them with diffusers); all may be NULL. */
typedef struct vgen_generate_taps {
    void *user_data;
    /* the context of the prompt (cond 1) or the negative prompt (cond 0): [rows, width] */
    void (*context)(void *user_data, int cond, const float *ctx, int64_t rows, int64_t width);
    void (*latents_init)(void *user_data, const float *x, size_t numel);
    void (*schedule)(void *user_data, const vgen_schedule *s);
    /* one DiT pass at step with timestep t: input x, output v */
    void (*denoise)(void *user_data, int step, float t, int cond, const float *x, const float *v, size_t numel);
    /* the latents after step (scheduler.step's output) */
    void (*step_done)(void *user_data, int step, const float *x, size_t numel);
} vgen_generate_taps;

/* What each component ran in, for the record (kept after a component is freed). */
typedef struct vgen_run_component {
    char weights[32];
    char compute[8];
} vgen_run_component;

typedef struct vgen_run {
    vgen_context *ctx;
    vgen_err *err;                      /* &ctx->err */
    const vgen_model *model;
    const vgen_family *fam;
    vgen_generate_params p;             /* the caller's, prompts never NULL */
    vgen_sampler_kind kind;             /* resolved from p.sampler or the scheduler config */
    double shift;                       /* resolved from p.shift or the scheduler config */
    int guided;                         /* guidance != 1: the negative prompt is encoded and a second pass runs */
    vgen_logger log;
    const vgen_generate_taps *taps;
    vgen_backend *be;                   /* the CPU backend */
    vgen_backend *gpu;                  /* the GPU backend (or the emulator), NULL when none is used */

    int64_t lf, lh, lw;                 /* latent frames, height, width */
    size_t numel;                       /* latent elements: channels * lf * lh * lw */
    int64_t ctx_width;                  /* text encoder output width */

    vgen_part *text;                    /* per run */
    const vgen_part *dit, *vae;         /* the model's resident ones, or the per-run ones below */
    vgen_part *dit_own, *vae_own;
    vgen_run_component comp[VGEN_COMPONENT_COUNT];

    float *ctx_cond, *ctx_uncond;       /* [ctx_len, ctx_width] */
    float *latents;                     /* [C, F, H, W] */
    void *session;                      /* the DiT session during denoise */
    vgen_err denoise_err;               /* the DiT's own message (the sampler reports only the code) */

    vgen_sink *sink;                    /* the tee of the outputs; NULL when only on_frame */
    uint8_t *rgb24;                     /* [H, W, 3] frame for on_frame */
    vgen_err frame_err;                 /* why a frame was refused (the decoder reports only the code) */
    int64_t frames_done;

    vgen_phase phase;
    int64_t phase_total, phase_done;    /* units of the phase, and the last count reported */
    double phase_t0;
    double seconds[VGEN_PHASE_COUNT];   /* time spent per phase (load: the model's and this run's loads) */
} vgen_run;

/* The run behind vgen_generate, with test taps (NULL: none). */
vgen_status vgen_generate_run(vgen_context *ctx, const vgen_model *model, const vgen_generate_params *params,
                              const vgen_generate_taps *taps);

/* generate_validate.c: the checks of vgen_generate_validate into err. */
int vgen_generate_check(const vgen_model *model, const vgen_generate_params *p, vgen_err *err);

/* generate_outputs.c */
int vgen_run_open_outputs(vgen_run *r);
int vgen_run_finish_outputs(vgen_run *r);     /* writes the final record, renames every output into place */
void vgen_run_abort_outputs(vgen_run *r);

/* generate_backend.c: opens be and, when the preset asks for cuda, gpu (or says why not); the backend component c
 * runs on. */
int vgen_run_open_backends(vgen_run *r);
vgen_backend *vgen_run_backend(const vgen_run *r, vgen_component c);

/* the phases */
int vgen_run_text(vgen_run *r);
int vgen_run_denoise(vgen_run *r);
int vgen_run_decode(vgen_run *r);

/* generate_record.c: the record of the run as JSON (malloc'd). */
int vgen_run_record_text(const vgen_run *r, char **json, vgen_err *err);

/* generate_progress.c */
double vgen_now_s(void);
void vgen_run_phase_begin(vgen_run *r, vgen_phase phase, int64_t total);
void vgen_run_progress(vgen_run *r, int64_t done);
void vgen_run_phase_end(vgen_run *r);
/* An abort callback over the run (user_data = the run): the caller's abort. */
int vgen_run_abort_cb(void *run);
/* VGEN_ERR_ABORTED (with a message naming where) if the caller asks to stop, else VGEN_OK. */
int vgen_run_check_abort(vgen_run *r, const char *where);
/* Records what component c runs in (for the run record). */
void vgen_run_note_component(vgen_run *r, vgen_component c, const vgen_part *part);
/* Loads the DiT or the VAE for this run when the model does not keep it (phase load). */
int vgen_run_load_part(vgen_run *r, vgen_component c);

#endif

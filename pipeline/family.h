/* family.h - model families (DESIGN.md section 1: pipeline/ is the only place that knows them).
 *
 * A family is one table entry: how its model folder is laid out, its latent geometry, its defaults, and the
 * functions that load and run its three components (text encoder, denoiser, VAE) behind opaque handles. The
 * generation flow (generate*.c) is written against this table only; family_wan21*.c is the Wan2.1 entry over
 * textenc/, dit/ and vae/. Adding a family is adding an entry to family.c's table. */
#ifndef VGEN_PIPELINE_FAMILY_H
#define VGEN_PIPELINE_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "err.h"
#include "log.h"
#include "preset.h"
#include "threadpool.h"

/* The parts of a model folder (diffusers layout: one sub-folder each). */
typedef enum vgen_part_kind {
    VGEN_PART_TRANSFORMER = 0,
    VGEN_PART_TEXT_ENCODER = 1,
    VGEN_PART_TOKENIZER = 2,
    VGEN_PART_VAE = 3,
    VGEN_PART_SCHEDULER = 4,
    VGEN_PART_COUNT
} vgen_part_kind;

/* A loaded component behind an opaque handle, with what the run record and the memory log need. */
typedef struct vgen_part {
    void *impl;
    void (*destroy)(void *impl);
    char weights[32];       /* weight format the linear layers run in ("int8_row", "f32", ...) */
    char compute[8];        /* "f32", "bf16" */
    size_t owned_bytes;     /* weights held in memory (copies, quantized matrices) */
    size_t mapped_bytes;    /* weights viewed in the mapped files */
    int64_t width;          /* text encoder: output width (d_model); DiT: context width (text_dim); VAE: 0 */
    int64_t channels;       /* DiT: latent channels in = out (-1 when they differ); VAE: latent channels; else 0 */
} vgen_part;

/* Destroys the component and frees *p; NULL-safe. */
void vgen_part_free(vgen_part **p);

/* What a component loader gets. */
typedef struct vgen_part_load {
    const char *path;                   /* the component (file or folder) */
    const char *aux_path;               /* text encoder: the tokenizer; else NULL */
    const char *cache_dir;              /* text encoder: the embedding cache folder, or NULL */
    int64_t ctx_len;                    /* text encoder: context rows */
    const vgen_component_plan *plan;    /* the preset's line for this component */
    vgen_threadpool *pool;              /* quantize-on-load threads (borrowed) */
    const vgen_logger *log;
} vgen_part_load;

/* A denoiser session: latent geometry [C, F, H, W] and the context rows. */
typedef struct vgen_dit_shape {
    int64_t frames, height, width;      /* latent */
    int64_t ctx_len;
    int64_t resident_blocks;            /* on a device: blocks kept there, the rest streamed; 0 = all */
    const vgen_logger *log;             /* where the weights went (may be NULL) */
    vgen_abort_fn abort;                /* checked between blocks */
    void *abort_user_data;
} vgen_dit_shape;

/* A decoded frame: rgb [3, H, W] in [0, 1]. Return VGEN_OK or a negative status that stops the decode. */
typedef int (*vgen_part_frame_fn)(void *user_data, int64_t index, int width, int height, const float *rgb);

typedef struct vgen_vae_request {
    const float *latents;               /* [C, F, h, w] in the denoiser's space (denormalized by the decoder) */
    int64_t channels, frames, height, width;
    const vgen_component_plan *plan;    /* tiling */
    size_t memory_budget;               /* bytes the decode may use when plan->tile_auto (0: no tiling) */
    vgen_part_frame_fn on_frame;
    void *frame_user_data;
    vgen_abort_fn abort;                /* checked between latent frames */
    void *abort_user_data;
    size_t planned_bytes;               /* out: the decoder's planned working memory (caches + scratch + frames) */
} vgen_vae_request;

/* One component's memory for one request, from its configuration alone (the family's plan_* functions). */
typedef struct vgen_part_plan {
    size_t weights;                     /* every weight as the loader holds it */
    size_t device_weights;              /* every weight as placed on a device (0: same as weights) */
    size_t fixed;                       /* the part outside the repeated blocks (embeddings, heads; VAE: all), and */
    size_t block;                       /* one block (layer), as placed on a device; block 0 = not streamable */
    int64_t blocks;
    size_t dequant_bf16;                /* the largest linear as bf16: a GPU weight-only GEMM's dequantize buffer */
    size_t activations;                 /* the session arena (text encoder, DiT) or the decode's working set (VAE) */
    size_t device_activations;          /* the same on a device (0: same as activations) */
    size_t cpu_scratch;                 /* on the CPU: the backend's own scratch over a forward (backend_cpu.h) */
    int tile_w, tile_h;                 /* VAE: the decode tile in pixels (0: untiled) */
    int64_t width;                      /* text encoder: output width (d_model) */
} vgen_part_plan;

typedef struct vgen_family_defaults {
    int width, height, frames, steps, fps;
    double guidance;
    int sampler;                        /* vgen_sampler_kind when the folder has no scheduler config */
    double shift;
} vgen_family_defaults;

typedef struct vgen_family {
    const char *name;                   /* "wan21" */
    const char *pipeline_class;         /* model_index.json "_class_name" */
    const char *part_dirs[VGEN_PART_COUNT]; /* sub-folder of each part in a model folder */
    int latent_channels;                /* 16 */
    int spatial_factor;                 /* pixels per latent pixel (8) */
    int temporal_factor;                /* frames = 1 + temporal_factor (F - 1) (4) */
    int size_multiple;                  /* width and height must be multiples of it (16) */
    int64_t ctx_len;                    /* context rows (512) */
    vgen_family_defaults defaults;

    /* text encoder (with its tokenizer), bound to the backend be of one run: open reads the tokenizer and the
     * encoder's configuration (width), the weights load on the first encode (or never, when the embedding cache
     * holds every prompt); vgen_part_free drops everything. ctx[ctx_len, width] = the embedding of prompt, rows past the
     * prompt zero; *n_tokens its token count. */
    int (*text_open)(const vgen_part_load *a, vgen_backend *be, vgen_part **out, vgen_err *err);
    int (*text_encode)(vgen_part *te, const char *prompt, float *ctx, int64_t *n_tokens, vgen_err *err);
    /* denoiser: v[C, F, H, W] = DiT(x[C, F, H, W], t, ctx[ctx_len, width]) */
    int (*dit_load)(const vgen_part_load *a, vgen_part **out, vgen_err *err);
    int (*dit_session_new)(const vgen_part *dit, vgen_backend *be, const vgen_dit_shape *shape, void **session,
                           size_t *session_bytes, vgen_err *err);
    void (*dit_session_free)(void **session);
    int (*dit_forward)(void *session, const float *x, float t, const float *ctx, float *v, vgen_err *err);
    /* VAE: streams the frames of r->latents to r->on_frame */
    int (*vae_load)(const vgen_part_load *a, vgen_part **out, vgen_err *err);
    int64_t (*vae_frames_out)(const vgen_part *vae, int64_t latent_frames);
    int (*vae_decode)(const vgen_part *vae, vgen_backend *be, vgen_vae_request *r, vgen_err *err);

    /* memory plans from each component's configuration (path: the component, as resolved); no weight is read */
    int (*plan_text)(const char *path, const vgen_component_plan *plan, int64_t ctx_len, vgen_part_plan *out,
                     vgen_err *err);
    int (*plan_dit)(const char *path, const vgen_component_plan *plan, const vgen_dit_shape *shape,
                    vgen_part_plan *out, vgen_err *err);
    int (*plan_vae)(const char *path, const vgen_component_plan *plan, const vgen_vae_request *r, vgen_part_plan *out,
                    vgen_err *err);
} vgen_family;

extern const vgen_family vgen_family_wan21;

/* The family named name ("wan21"); NULL if none. */
const vgen_family *vgen_family_find(const char *name);
/* The family whose pipeline_class is cls ("WanPipeline"); NULL if none. */
const vgen_family *vgen_family_by_class(const char *cls);
/* "transformer", "text_encoder", "tokenizer", "vae", "scheduler". */
const char *vgen_part_name(vgen_part_kind k);

#endif

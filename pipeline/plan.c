/* plan.c - one memory plan: each component's figures from its configuration (the family's plan_* functions),
 * placed on the device or in host memory per phase by the preset's devices and offload policies.
 *
 * Residency (what the pipeline does): the text encoder is loaded for the text phase only; the DiT and the VAE stay
 * for every phase when the preset keeps them ("keep", or "stream") and only for their own phase when it frees them
 * after use. A component is loaded in host memory; on a GPU its weights are also copied to the device (all of
 * them, or with "stream" the resident blocks, the streamed ones packed in pinned host memory and copied through
 * two device slots during each forward). Run buffers
 * (contexts, latents, the sampler's state, one output frame) live in host memory. */
#include <stdio.h>
#include <string.h>

#include "plan.h"

#define MIB ((uint64_t)1 << 20)
#define CUBLASLT_WORKSPACE (32 * MIB) /* kernels/cuda/cuda_gemm.cu: the cuBLASLt workspace */
#define GEMM_WEIGHT_TILE (256 * MIB)  /* cuda_gemm.cu: at most this much of a layer is dequantized at once */
#define GEMM_OUT_TILE (64 * MIB)      /* cuda_gemm.cu: the f32 output tile staged for the bias epilogue */
#define DECODE_FLOOR (256 * MIB)      /* generate_decode.c: the least the decoder is given */

typedef struct planner {
    const vgen_model *m;
    const vgen_preset *p;
    const vgen_plan_request *q;
    vgen_part_plan part[VGEN_COMPONENT_COUNT];
    int64_t lf, lh, lw;       /* latent frames, height, width */
    uint64_t numel;           /* latent elements */
    vgen_plan *out;
} planner;

static const vgen_component_plan *cplan(const planner *pl, vgen_component c) { return &pl->p->components[c]; }

static int on_gpu(const planner *pl, vgen_component c) { return cplan(pl, c)->device == VGEN_DEVICE_CUDA; }

/* The phase in which component c computes. */
static vgen_plan_phase_id own_phase(vgen_component c) {
    if (c == VGEN_COMPONENT_TEXT_ENCODER) return VGEN_PLAN_TEXT;
    return c == VGEN_COMPONENT_DIT ? VGEN_PLAN_DENOISE : VGEN_PLAN_DECODE;
}

/* Whether component c holds its weights during phase ph. */
static int resident(const planner *pl, vgen_component c, vgen_plan_phase_id ph) {
    if (own_phase(c) == ph) return 1;
    if (c == VGEN_COMPONENT_TEXT_ENCODER) return 0; /* always loaded per run */
    return cplan(pl, c)->offload != VGEN_OFFLOAD_FREE_AFTER_USE;
}

/* Weights that need a dequantize-to-bf16 buffer before a GPU GEMM (weight-only formats). */
static int weight_only(vgen_wformat f) { return f != VGEN_WF_BF16 && f != VGEN_WF_F16 && f != VGEN_WF_F32; }

/* Blocks of component c kept on the device: all, or the preset's resident_blocks when it streams. */
static int64_t device_blocks(const planner *pl, vgen_component c) {
    const vgen_part_plan *pp = &pl->part[c];
    const vgen_component_plan *cp = cplan(pl, c);
    if (cp->offload != VGEN_OFFLOAD_STREAM || pp->block == 0 || cp->resident_blocks >= pp->blocks) return pp->blocks;
    return cp->resident_blocks;
}

/* Streamed blocks of component c (0 unless it streams); at most two are in flight in device slots. */
static int64_t streamed_blocks(const planner *pl, vgen_component c) {
    return pl->part[c].block ? pl->part[c].blocks - device_blocks(pl, c) : 0;
}

/* The weights as loaded in host memory; on a GPU also the device copy (vgen_dit_place and the like: the fixed part
 * and the resident blocks) and, when streaming, the pinned images of the streamed blocks. */
static void add_weights(const planner *pl, vgen_component c, vgen_plan_phase *ph) {
    const vgen_part_plan *pp = &pl->part[c];
    ph->host.weights += pp->weights;
    if (!on_gpu(pl, c)) return;
    if (streamed_blocks(pl, c)) ph->device.weights += pp->fixed + (uint64_t)device_blocks(pl, c) * pp->block;
    else ph->device.weights += pp->device_weights ? pp->device_weights : pp->weights;
    ph->host.weights += (uint64_t)streamed_blocks(pl, c) * pp->block;
}

/* The activations and workspace of component c in its own phase. */
static void add_compute(const planner *pl, vgen_component c, vgen_plan_phase *ph) {
    const vgen_part_plan *pp = &pl->part[c];
    if (!on_gpu(pl, c)) {
        ph->host.activations += pp->activations;
        ph->host.workspace += pp->cpu_scratch;
        return;
    }
    vgen_plan_memory *mem = &ph->device;
    mem->activations += pp->device_activations ? pp->device_activations : pp->activations;
    mem->workspace += CUBLASLT_WORKSPACE + GEMM_OUT_TILE;
    if (weight_only(cplan(pl, c)->weights))
        mem->workspace += pp->dequant_bf16 < GEMM_WEIGHT_TILE ? pp->dequant_bf16 : GEMM_WEIGHT_TILE;
    const int64_t streamed = streamed_blocks(pl, c);
    mem->workspace += (uint64_t)(streamed < 2 ? streamed : 2) * pp->block; /* the two streaming slots */
}

/* Contexts, latents, sampler state and the frame of each phase, in host memory. On a GPU the DiT copies its inputs
 * into its session buffers (counted in its activations); its host staging of them is not counted (about 12 MiB for
 * the 14B at 832x480x81). */
static void add_run_buffers(const planner *pl, vgen_plan_phase_id id, vgen_plan_phase *ph) {
    const uint64_t contexts = (uint64_t)(pl->q->guided ? 2 : 1) * (uint64_t)pl->m->family->ctx_len *
                              (uint64_t)pl->part[VGEN_COMPONENT_TEXT_ENCODER].width * sizeof(float);
    const uint64_t latents = pl->numel * sizeof(float);
    const uint64_t frame = (uint64_t)pl->q->width * (uint64_t)pl->q->height * 3;
    if (id == VGEN_PLAN_TEXT) {
        ph->host.activations += contexts;
    } else if (id == VGEN_PLAN_DENOISE) {
        const uint64_t io = (uint64_t)(pl->q->guided ? 3 : 2) * latents; /* x, v, and v_uncond with guidance */
        ph->host.activations += contexts + io +
                                vgen_sampler_state_bytes(pl->q->sampler, pl->q->steps, (size_t)pl->numel);
    } else {
        ph->host.activations += latents + frame;
    }
}

static void total(vgen_plan_memory *m) { m->total = m->weights + m->activations + m->workspace; }

static void place(planner *pl) {
    vgen_plan *out = pl->out;
    for (int id = 0; id < VGEN_PLAN_PHASES; id++) {
        vgen_plan_phase *ph = &out->phases[id];
        for (int c = 0; c < VGEN_COMPONENT_COUNT; c++) {
            if (resident(pl, (vgen_component)c, (vgen_plan_phase_id)id)) add_weights(pl, (vgen_component)c, ph);
            if ((int)own_phase((vgen_component)c) == id) add_compute(pl, (vgen_component)c, ph);
        }
        add_run_buffers(pl, (vgen_plan_phase_id)id, ph);
        total(&ph->device);
        total(&ph->host);
        if (ph->device.total > out->device_peak) out->device_peak = ph->device.total;
        if (ph->host.total > out->host_peak) out->host_peak = ph->host.total;
    }
}

/* The decoder's share of the budget, as generate_decode.c gives it: the budget less the weights resident. */
static size_t decode_budget(const planner *pl) {
    const double budget = pl->p->memory_budget_gb * 1073741824.0;
    double used = (double)pl->part[VGEN_COMPONENT_VAE].weights;
    if (resident(pl, VGEN_COMPONENT_DIT, VGEN_PLAN_DECODE)) {
        vgen_plan_phase dit = {0}; /* the DiT's share next to the VAE: its device part when both are on the GPU */
        add_weights(pl, VGEN_COMPONENT_DIT, &dit);
        used += (double)(on_gpu(pl, VGEN_COMPONENT_VAE) ? dit.device.weights : dit.host.weights);
    }
    if (on_gpu(pl, VGEN_COMPONENT_VAE)) used += (double)(CUBLASLT_WORKSPACE + GEMM_OUT_TILE); /* its GEMM scratch */
    return (size_t)(budget - used > (double)DECODE_FLOOR ? budget - used : (double)DECODE_FLOOR);
}

static int plan_parts(planner *pl, vgen_err *err) {
    const vgen_family *f = pl->m->family;
    const vgen_model *m = pl->m;
    int rc = f->plan_text(m->paths[VGEN_PART_TEXT_ENCODER], cplan(pl, VGEN_COMPONENT_TEXT_ENCODER), f->ctx_len,
                          &pl->part[VGEN_COMPONENT_TEXT_ENCODER], err);
    const vgen_dit_shape shape = {.frames = pl->lf, .height = pl->lh, .width = pl->lw, .ctx_len = f->ctx_len};
    if (!rc) rc = f->plan_dit(m->paths[VGEN_PART_TRANSFORMER], cplan(pl, VGEN_COMPONENT_DIT), &shape,
                              &pl->part[VGEN_COMPONENT_DIT], err);
    if (rc) return rc;
    /* the VAE's weights first (they set the decoder's budget), then its plan under that budget */
    vgen_vae_request r = {.channels = f->latent_channels, .frames = pl->lf, .height = pl->lh, .width = pl->lw,
                          .plan = cplan(pl, VGEN_COMPONENT_VAE)};
    rc = f->plan_vae(m->paths[VGEN_PART_VAE], r.plan, &r, &pl->part[VGEN_COMPONENT_VAE], err);
    r.memory_budget = decode_budget(pl);
    if (!rc) rc = f->plan_vae(m->paths[VGEN_PART_VAE], r.plan, &r, &pl->part[VGEN_COMPONENT_VAE], err);
    if (rc == VGEN_ERR_BUDGET) { /* no tiling fits what is left: plan it untiled, the phase then exceeds the budget */
        vgen_err_clear(err);
        r.memory_budget = 0;
        rc = f->plan_vae(m->paths[VGEN_PART_VAE], r.plan, &r, &pl->part[VGEN_COMPONENT_VAE], err);
    }
    return rc;
}

int vgen_plan_compute(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, vgen_plan *out,
                      vgen_err *err) {
    const vgen_family *f = m->family;
    if (q->width <= 0 || q->height <= 0 || q->frames <= 0 || q->width % f->size_multiple ||
        q->height % f->size_multiple || (q->frames - 1) % f->temporal_factor)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "plan: %dx%d with %d frames: width and height must be "
                            "positive multiples of %d and frames of the form %dk + 1", q->width, q->height, q->frames,
                            f->size_multiple, f->temporal_factor);
    memset(out, 0, sizeof *out);
    planner pl = {.m = m, .p = p, .q = q, .out = out};
    pl.lf = (q->frames - 1) / f->temporal_factor + 1;
    pl.lh = q->height / f->spatial_factor;
    pl.lw = q->width / f->spatial_factor;
    pl.numel = (uint64_t)f->latent_channels * (uint64_t)(pl.lf * pl.lh * pl.lw);
    int rc = plan_parts(&pl, err);
    if (rc) return rc;
    place(&pl);
    const double gib = 1073741824.0;
    if (p->device == VGEN_DEVICE_CUDA) {
        out->device_budget = (uint64_t)(p->memory_budget_gb * gib);
        out->host_budget = (uint64_t)(p->host_memory_gb * gib);
    } else {
        out->host_budget = (uint64_t)(p->memory_budget_gb * gib);
    }
    out->fits = (!out->device_budget || out->device_peak <= out->device_budget) &&
                (!out->host_budget || out->host_peak <= out->host_budget);
    out->tokens = pl.part[VGEN_COMPONENT_DIT].activations ? pl.lf * (pl.lh / 2) * (pl.lw / 2) : 0;
    out->vae_tile_w = pl.part[VGEN_COMPONENT_VAE].tile_w;
    out->vae_tile_h = pl.part[VGEN_COMPONENT_VAE].tile_h;
    return VGEN_OK;
}

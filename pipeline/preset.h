/* preset.h - presets (presets/NAME.json): the precision and placement of every component of a run, read with
 * cJSON and validated strictly — an unknown key or a bad value is an error naming the key and the file.
 *
 * Schema (DESIGN.md section 4):
 *   {
 *     "name": "rtx4090",                          required, [a-z0-9_-]{1,32}
 *     "description": "...",                       optional
 *     "target": {
 *       "device": "cpu" | "cuda",                 required
 *       "memory_budget_gb": 24,                   required, > 0: device memory for cuda, host memory for cpu
 *       "host_memory_gb": 32,                     optional, cuda only: host RAM the run may use
 *       "compute_capability": "8.9",              optional, cuda only: the oldest GPU the preset is made for
 *       "fp8_activations": false                  optional, cuda only: fp8 weights multiply activations quantized
 *                                                 to e4m3 per token (sm_89+; faster, less exact); default false
 *     },
 *     "components": {                             required: text_encoder, dit and vae, each:
 *       "<component>": {
 *         "weights": "bf16" | "f16" | "f32" | "int8" | "fp8" | "fp8-tensor" | "int4" | "int4-g64" | ... (any
 *                    format alias of vgen quantize or a weight format name),
 *         "compute": "f32" | "bf16",
 *         "device": "cpu" | "cuda",
 *         "offload": "keep" | "free_after_use" | "stream",
 *         "resident_blocks": N,                   only with "stream" (dit, text_encoder): blocks kept on the device
 *         "tile": "auto" | "none" | [W, H]        vae only: spatial decode tile in pixels
 *       }
 *     }
 *   }
 */
#ifndef VGEN_PIPELINE_PRESET_H
#define VGEN_PIPELINE_PRESET_H

#include "err.h"
#include "tensor.h"
#include "vgen.h"
#include "wformat.h"

typedef enum vgen_component {
    VGEN_COMPONENT_TEXT_ENCODER = 0,
    VGEN_COMPONENT_DIT = 1,
    VGEN_COMPONENT_VAE = 2,
    VGEN_COMPONENT_COUNT
} vgen_component;

typedef enum vgen_offload {
    VGEN_OFFLOAD_KEEP = 0,            /* loaded once, kept for the whole run */
    VGEN_OFFLOAD_FREE_AFTER_USE = 1,  /* freed (or moved to the host) as soon as its phase ends */
    VGEN_OFFLOAD_STREAM = 2           /* blocks live in host memory, resident_blocks of them on the device */
} vgen_offload;

typedef struct vgen_component_plan {
    vgen_wformat weights;
    vgen_dtype compute;               /* VGEN_DTYPE_F32 or VGEN_DTYPE_BF16 */
    vgen_device device;
    vgen_offload offload;
    int resident_blocks;              /* stream only, >= 1 */
    int tile_auto;                    /* vae: 1 = pick from the budget */
    int tile_w, tile_h;               /* vae: explicit tile in pixels, 0 = no tiling */
} vgen_component_plan;

struct vgen_preset {
    char name[33];
    char description[256];
    char path[1024];                  /* the file it came from */
    vgen_device device;
    double memory_budget_gb;
    double host_memory_gb;            /* 0 = not set */
    int cc_major, cc_minor;           /* 0.0 = not set */
    int fp8_activations;              /* the CUDA backend's opt-in fp8 GEMM */
    vgen_component_plan components[VGEN_COMPONENT_COUNT];
};

const char *vgen_component_name(vgen_component c);

/* Parses and validates JSON text; path is used in messages. */
int vgen_preset_parse(const char *json, size_t len, const char *path, vgen_preset *out, vgen_err *err);
/* Reads a file (at most 1 MiB). */
int vgen_preset_read(const char *path, vgen_preset *out, vgen_err *err);
/* name_or_path: a path (contains '/' or ends in .json) or a name looked up as DIR/NAME.json in dirs[0..n). */
int vgen_preset_find(const char *name_or_path, const char *const *dirs, size_t n_dirs, vgen_preset *out,
                     vgen_err *err);

#endif

/* model.h - vgen_model (include/vgen.h): a family, the paths of its components, the preset, the scheduler
 * defaults and the components the preset keeps resident.
 *
 *   model_paths.c   the family and every component path, checked before any weight is read
 *   model_preset.c  the built-in preset and what the preset keeps
 *   model_part.c    loading one component per the preset (also used by generate*.c for per-run components)
 *   model.c         vgen_model_load / vgen_model_free */
#ifndef VGEN_PIPELINE_MODEL_H
#define VGEN_PIPELINE_MODEL_H

#include <stdint.h>

#include "err.h"
#include "family.h"
#include "log.h"
#include "preset.h"
#include "scheduler_config.h"
#include "threadpool.h"
#include "vgen.h"

#define VGEN_MODEL_PATH_MAX 4096

struct vgen_model {
    const vgen_family *family;
    vgen_preset preset;
    char dir[VGEN_MODEL_PATH_MAX];                      /* the model folder, "" if none */
    char paths[VGEN_PART_COUNT][VGEN_MODEL_PATH_MAX];   /* each component; scheduler "" = the family's defaults */
    uint64_t bytes[VGEN_PART_COUNT];                    /* bytes of each component's files */
    char embed_cache_dir[VGEN_MODEL_PATH_MAX];          /* "" = no cache */
    vgen_sched_config sched;
    vgen_part *dit, *vae;                               /* resident components; NULL = loaded per run */
    double load_seconds;                                /* time vgen_model_load took */
};

/* The family and every component path (model_paths.c). A missing component is VGEN_ERR_NOT_FOUND naming the
 * component and the path looked at. */
int vgen_model_resolve(const vgen_model_params *p, vgen_model *m, const vgen_logger *log, vgen_err *err);

/* The built-in preset: the text of presets/cpu.json (model_preset.c). */
extern const char vgen_builtin_preset_json[];
int vgen_model_builtin_preset(vgen_preset *out, vgen_err *err);

/* 1 if the preset keeps component c loaded for the model's lifetime ("keep", or "stream" on the CPU, where every
 * block already lives in host memory). */
int vgen_model_keeps(const vgen_model *m, vgen_component c);

/* Loads the DiT (VGEN_COMPONENT_DIT) or the VAE (VGEN_COMPONENT_VAE) per the preset, logging what it does
 * (model_part.c). */
int vgen_model_load_part(const vgen_model *m, vgen_component c, vgen_threadpool *pool, const vgen_logger *log,
                         vgen_part **out, vgen_err *err);

/* Checks that the denoiser and the VAE agree with the family on the latent channels. */
int vgen_model_check_channels(const vgen_model *m, const vgen_part *part, vgen_component c, vgen_err *err);

#endif

/*
 * vgen.h - the public C API of libvgen (text-to-video generation).
 *
 * Conventions (DESIGN.md section 2):
 *   - every function returns a vgen_status (0 = OK, negative = error) or a value documented otherwise;
 *   - on error, vgen_context_last_error() holds one line naming the file, tensor or field at fault;
 *   - params structs are initialised with their vgen_*_params_init() function and only then edited,
 *     so fields appended in later versions get their defaults;
 *   - every callback receives the user_data pointer given beside it;
 *   - objects come in new/free pairs; free functions take the address of the pointer and set it to NULL.
 * ABI: fields are appended to structs, never reordered; enums are append-only.
 */
#ifndef VGEN_H
#define VGEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VGEN_API __attribute__((visibility("default")))
#else
#define VGEN_API
#endif

/* ---- version ---------------------------------------------------------------------------------- */

#define VGEN_VERSION_MAJOR 0
#define VGEN_VERSION_MINOR 1
#define VGEN_VERSION_PATCH 0

VGEN_API const char *vgen_version_string(void); /* "0.1.0" */
VGEN_API int vgen_version_number(void);         /* major * 10000 + minor * 100 + patch */

/* ---- status codes ----------------------------------------------------------------------------- */

typedef enum vgen_status {
    VGEN_OK = 0,
    VGEN_ERR_INVALID_ARGUMENT = -1, /* a caller-supplied value is out of range or inconsistent */
    VGEN_ERR_OUT_OF_MEMORY = -2,    /* an allocation failed */
    VGEN_ERR_IO = -3,               /* reading or writing a file failed (see the message for errno) */
    VGEN_ERR_MALFORMED = -4,        /* an input file violates its format */
    VGEN_ERR_UNSUPPORTED = -5,      /* valid, but not something vgen handles (yet) */
    VGEN_ERR_SHAPE = -6,            /* a tensor has the wrong shape or dtype */
    VGEN_ERR_NOT_FOUND = -7,        /* a file, tensor or key is missing */
    VGEN_ERR_ABORTED = -8,          /* the abort callback asked to stop */
    VGEN_ERR_NO_SPACE = -9,         /* the disk is full */
    VGEN_ERR_BUDGET = -10,          /* the request does not fit the memory budget */
    VGEN_ERR_INTERNAL = -11,        /* a bug in vgen: please report it */
    VGEN_ERR_NUMERIC = -12          /* NaN or Inf where a finite value is required */
} vgen_status;

/* A short static description of a status code ("malformed input file"). Never NULL. */
VGEN_API const char *vgen_strerror(int status);

/* ---- logging and context ---------------------------------------------------------------------- */

typedef enum vgen_log_level {
    VGEN_LOG_ERROR = 0,
    VGEN_LOG_WARN = 1,
    VGEN_LOG_INFO = 2,
    VGEN_LOG_DEBUG = 3
} vgen_log_level;

/* Receives one message (no trailing newline). Called from the thread that logs. */
typedef void (*vgen_log_fn)(vgen_log_level level, const char *message, void *user_data);

typedef struct vgen_context vgen_context;

typedef struct vgen_context_params {
    int n_threads;              /* worker threads; 0 = all online cores */
    vgen_log_level log_level;   /* messages above this level are dropped; default VGEN_LOG_INFO */
    vgen_log_fn log;            /* NULL = no logging */
    void *log_user_data;
} vgen_context_params;

VGEN_API vgen_context_params vgen_context_params_init(void);
VGEN_API vgen_status vgen_context_new(const vgen_context_params *params, vgen_context **out);
VGEN_API void vgen_context_free(vgen_context **ctx);
/* The message of the last failed call on this context ("" if none). Valid until the next call. */
VGEN_API const char *vgen_context_last_error(const vgen_context *ctx);

/* ---- progress and abort ----------------------------------------------------------------------- */

/* Progress of a long operation: done out of total units (tensors, steps, frames). */
typedef void (*vgen_progress_fn)(int64_t done, int64_t total, void *user_data);
/* Return non-zero to stop the operation at the next boundary; it then fails with VGEN_ERR_ABORTED. */
typedef int (*vgen_abort_fn)(void *user_data);

/* ---- model files: inspection ------------------------------------------------------------------ */

/* A safetensors file, a sharded checkpoint (*.safetensors.index.json) or a directory holding one. */
typedef struct vgen_model_file vgen_model_file;

#define VGEN_MAX_DIMS 8

typedef struct vgen_tensor_info {
    const char *name;            /* as stored in the file */
    const char *dtype;           /* safetensors dtype name: "BF16", "F8_E4M3", ... */
    int n_dims;
    int64_t shape[VGEN_MAX_DIMS];
    uint64_t n_bytes;
    const char *shard;           /* file name of the shard holding it */
    const char *quant_format;    /* vgen weight format if quantized by vgen ("int8_row", ...), else NULL */
} vgen_tensor_info;

VGEN_API vgen_status vgen_model_file_open(vgen_context *ctx, const char *path, vgen_model_file **out);
VGEN_API void vgen_model_file_free(vgen_model_file **file);
VGEN_API size_t vgen_model_file_tensor_count(const vgen_model_file *file);
VGEN_API vgen_status vgen_model_file_tensor(const vgen_model_file *file, size_t index, vgen_tensor_info *out);
VGEN_API size_t vgen_model_file_shard_count(const vgen_model_file *file);
/* Total bytes of tensor data. */
VGEN_API uint64_t vgen_model_file_data_bytes(const vgen_model_file *file);
/* The detected key layout: "diffusers-wan", "wan-original", "comfyui-wan", "hf-umt5", "unknown", ... */
VGEN_API const char *vgen_model_file_layout(const vgen_model_file *file);
/* __metadata__ entries (key/value strings), in file order. */
VGEN_API size_t vgen_model_file_metadata_count(const vgen_model_file *file);
VGEN_API vgen_status vgen_model_file_metadata(const vgen_model_file *file, size_t index, const char **key,
                                              const char **value);

/* ---- model files: quantization ---------------------------------------------------------------- */

typedef struct vgen_quantize_params {
    const char *format;                /* "int8", "fp8", "fp8-tensor", "int4", "int4-g32|g64|g128",
                                          "int4-asym" (zero-point), or a weight format name */
    const char *const *keep_patterns;  /* POSIX extended regexes: matching tensors stay as they are */
    size_t n_keep_patterns;
    const char *rules_file;            /* optional: one regex per line ('#' comments) of tensors to keep */
    vgen_progress_fn progress;         /* per tensor */
    void *progress_user_data;
    vgen_abort_fn abort;
    void *abort_user_data;
} vgen_quantize_params;

VGEN_API vgen_quantize_params vgen_quantize_params_init(void);
/* Writes a quantized single-file safetensors at out_path (atomically: temporary file, then rename). Only 2-D
 * linear weights are quantized; norms, biases, embeddings and modulation tables keep their precision.
 * Streams tensor by tensor: memory stays near the size of the largest tensor. */
VGEN_API vgen_status vgen_quantize_file(vgen_context *ctx, const char *in_path, const char *out_path,
                                        const vgen_quantize_params *params);

/* ---- presets ---------------------------------------------------------------------------------- */

/* A preset (presets/NAME.json) picks the weight format, compute precision, device and offload policy of every
 * component so a run fits a memory budget. The schema is in pipeline/preset.h and docs/presets.md. */
typedef struct vgen_preset vgen_preset;

/* name_or_path: a path (contains '/' or ends in .json), or a name looked up as DIR/NAME.json in search_dirs.
 * A malformed preset (unknown key, bad value) fails with VGEN_ERR_INVALID_ARGUMENT naming the key and file. */
VGEN_API vgen_status vgen_preset_load(vgen_context *ctx, const char *name_or_path, const char *const *search_dirs,
                                      size_t n_dirs, vgen_preset **out);
VGEN_API void vgen_preset_free(vgen_preset **preset);
VGEN_API const char *vgen_preset_name(const vgen_preset *preset);
VGEN_API const char *vgen_preset_description(const vgen_preset *preset);
VGEN_API const char *vgen_preset_path(const vgen_preset *preset);

/* ---- models: loading ---------------------------------------------------------------------------------------- */

/* A loaded text-to-video model: its family (today "wan21"), the paths of its components, the preset it was loaded
 * for, the scheduler defaults, and the components the preset keeps resident (loaded here). Immutable once loaded:
 * any number of vgen_generate calls may use it, one after the other or from several threads (each call needs its
 * own context). Components whose preset offload is "free_after_use" are loaded by vgen_generate for their phase
 * and freed right after it (the text encoder in the cpu preset). docs/api.md has a minimal program. */
typedef struct vgen_model vgen_model;

typedef struct vgen_model_params {
    /* A diffusers-style model folder: model_index.json with transformer/, text_encoder/, tokenizer/, vae/ and
     * scheduler/ (scheduler_config.json). May be NULL when every component below is given. */
    const char *model_dir;
    /* Single files (as ComfyUI users have them) or component folders; each overrides the folder's component.
     * transformer / text_encoder / vae: a .safetensors file, a *.safetensors.index.json or a folder;
     * tokenizer: a tokenizer/ folder, a tokenizer.json or a spiece.model; scheduler: a scheduler_config.json or
     * the folder holding it (NULL and no model_dir: the family's defaults, UniPC with shift 3.0 for Wan2.1). */
    const char *transformer;
    const char *text_encoder;
    const char *tokenizer;
    const char *vae;
    const char *scheduler;
    const char *family;             /* NULL: from model_index.json's _class_name, else "wan21" */
    const char *embed_cache_dir;    /* a folder caching prompt embeddings (created if missing); NULL: no cache */
    const vgen_preset *preset;      /* borrowed during the call (copied); NULL: the built-in copy of presets/cpu.json */
    vgen_progress_fn progress;      /* components loaded out of the total to load now */
    void *progress_user_data;
    vgen_abort_fn abort;            /* checked between components; the load then fails with VGEN_ERR_ABORTED */
    void *abort_user_data;
} vgen_model_params;

VGEN_API vgen_model_params vgen_model_params_init(void);
/* Resolves every component path first: a missing component is VGEN_ERR_NOT_FOUND naming the component and the
 * path looked at, before any weight is read. Then loads what the preset keeps resident (with quantize-on-load
 * to the preset's weight formats). Errors name the file, tensor or key at fault. */
VGEN_API vgen_status vgen_model_load(vgen_context *ctx, const vgen_model_params *params, vgen_model **out);
VGEN_API void vgen_model_free(vgen_model **model);
VGEN_API const char *vgen_model_family(const vgen_model *model);    /* "wan21" */

/* ---- generation ------------------------------------------------------------------------------------------------ */

/* The phases of one generation, in order; VGEN_PHASE_LOAD is also reported by vgen_generate when it loads a
 * component the preset frees after use. */
typedef enum vgen_phase {
    VGEN_PHASE_LOAD = 0,          /* units: components */
    VGEN_PHASE_TEXT_ENCODER = 1,  /* units: prompts encoded (1, or 2 with classifier-free guidance) */
    VGEN_PHASE_DENOISE = 2,       /* units: sampler steps */
    VGEN_PHASE_VAE_DECODE = 3,    /* units: output frames */
    VGEN_PHASE_COUNT
} vgen_phase;

VGEN_API const char *vgen_phase_name(vgen_phase phase); /* "load", "text_encoder", "denoise", "vae_decode" */

typedef struct vgen_progress_info {
    vgen_phase phase;
    int64_t done, total;    /* units of the phase (above); done == 0 when a phase starts, == total when it ends */
    double elapsed_s;       /* seconds since the phase started */
    double rate;            /* units per second so far (it/s); 0 before the first unit */
    double eta_s;           /* seconds left in the phase at that rate; -1 while unknown */
} vgen_progress_info;

typedef void (*vgen_generate_progress_fn)(const vgen_progress_info *info, void *user_data);

/* One decoded frame, as the sinks receive it; pointers valid during the call only. */
typedef struct vgen_frame {
    int64_t index;          /* 0 .. frames - 1 */
    int width, height;
    const float *rgb;       /* [3, height, width] planes R, G, B in [0, 1] */
    const uint8_t *rgb24;   /* [height, width, 3] interleaved 8-bit, round-half-to-even of 255 x */
} vgen_frame;

/* Return 0 to go on; non-zero stops the run, which then fails with VGEN_ERR_ABORTED. */
typedef int (*vgen_frame_fn)(const vgen_frame *frame, void *user_data);

typedef struct vgen_generate_params {
    const char *prompt;           /* UTF-8; NULL or "" is allowed: the empty prompt encodes to "</s>" only, as in
                                     diffusers (an unconditioned video) */
    const char *negative_prompt;  /* NULL or "": the empty negative prompt (diffusers' default) */
    int width, height;            /* pixels, multiples of 16; default 832 x 480 */
    int frames;                   /* of the form 4k + 1; default 81 */
    int steps;                    /* sampler steps, 1 .. 10000; default 50 */
    double guidance;              /* classifier-free guidance scale; 1 = a single DiT pass per step; default 5.0 */
    double shift;                 /* flow shift > 0; 0 = the scheduler config's (Wan2.1: 3.0) */
    const char *sampler;          /* "unipc" or "euler"; NULL = the scheduler config's (Wan2.1: unipc) */
    uint64_t seed;                /* initial noise: torch.randn on torch.Generator("cpu").manual_seed(seed) */
    int fps;                      /* frame rate of the mp4 and of the record; default 16 */
    const char *output;           /* the .mp4 to write (H.264), or NULL */
    const char *png_dir;          /* a folder for frame_00000.png ... (created if missing), or NULL */
    const char *json;             /* the run record (JSON) to write, or NULL; the mp4 carries it as its comment tag */
    int crf;                      /* mp4 quality, 0 (lossless) .. 51; default 18 */
    vgen_generate_progress_fn progress;
    void *progress_user_data;
    vgen_abort_fn abort;          /* checked between steps, DiT blocks, text-encoder layers and VAE frames */
    void *abort_user_data;
    vgen_log_fn log;              /* this run's messages; NULL = the context's logger */
    void *log_user_data;
    vgen_frame_fn on_frame;       /* every decoded frame, in order, before the sinks get it; may be NULL */
    void *frame_user_data;
} vgen_generate_params;

VGEN_API vgen_generate_params vgen_generate_params_init(void);

/* Checks params without loading or computing anything: sizes (a width or height that is not a multiple of 16 and
 * a frame count not of the form 4k + 1 are refused, the message suggesting the nearest valid values), steps,
 * guidance, shift, sampler, fps, crf, and every output: its folder must exist and be writable (probed by creating
 * and removing a file), and it must not be a folder itself. At least one of output, png_dir, json or on_frame.
 * VGEN_ERR_INVALID_ARGUMENT or VGEN_ERR_IO, the message naming the parameter or the path. Call it before
 * vgen_model_load to fail fast; vgen_generate calls it again. model may be NULL (then the sampler name is only
 * checked against the known ones). */
VGEN_API vgen_status vgen_generate_validate(vgen_context *ctx, const vgen_model *model,
                                            const vgen_generate_params *params);

/* Generates one video: text encoding (prompt, and the negative prompt when guidance != 1), the initial noise,
 * params->steps sampler steps with classifier-free guidance, the streaming VAE decode, and the outputs, written
 * frame by frame to temporary files that are renamed into place only when the whole video succeeded. On any
 * failure, including VGEN_ERR_ABORTED, no output file and no temporary file is left. */
VGEN_API vgen_status vgen_generate(vgen_context *ctx, const vgen_model *model, const vgen_generate_params *params);

/* ---- memory plan ----------------------------------------------------------------------------------------------- */

/* What a generation needs, per phase, computed from the components' configurations without reading any weight
 * (DESIGN.md section 4): weights, activations and workspace on the device (the GPU; all zero for a CPU preset) and in
 * host memory, and whether the peaks fit the preset's budgets. Residency follows the preset: "keep" components stay
 * for every phase, "free_after_use" ones only for theirs (the text encoder is always loaded per run), "stream"
 * keeps resident_blocks blocks on the device and every block in pinned host memory. */
typedef enum vgen_plan_phase_id {
    VGEN_PLAN_TEXT = 0,
    VGEN_PLAN_DENOISE = 1,
    VGEN_PLAN_DECODE = 2,
    VGEN_PLAN_PHASES
} vgen_plan_phase_id;

typedef struct vgen_plan_memory {
    uint64_t weights;       /* weights resident during the phase */
    uint64_t activations;   /* sessions, latents, contexts, sampler state, the decoder's working set */
    uint64_t workspace;     /* backend scratch: dequantized weights of weight-only GEMMs, GEMM workspace */
    uint64_t total;         /* the sum: the phase's peak */
} vgen_plan_memory;

typedef struct vgen_plan_phase {
    vgen_plan_memory device;    /* the GPU (zero when every component of the phase runs on the CPU) */
    vgen_plan_memory host;
} vgen_plan_phase;

typedef struct vgen_plan {
    vgen_plan_phase phases[VGEN_PLAN_PHASES];
    uint64_t device_peak, host_peak;      /* maxima over the phases */
    uint64_t device_budget, host_budget;  /* from the preset (0: no limit: host memory of a CUDA preset without
                                             host_memory_gb) */
    int fits;                             /* 1 when both peaks are within their budgets */
    int64_t tokens;                       /* DiT tokens per pass */
    int vae_tile_w, vae_tile_h;           /* the decode tile in pixels; 0 = untiled */
    char summary[512];                    /* when !fits: what exceeds which budget, and the smallest change that
                                             fits (e.g. "--frames 49", "dit weights int4", "dit offload stream") */
} vgen_plan;

VGEN_API const char *vgen_plan_phase_name(vgen_plan_phase_id phase); /* "text_encoder", "denoise", "vae_decode" */

/* Plans a generation of params (width, height, frames, guidance; the other fields are not used) with the model
 * folder and preset of model_params. Resolves the component paths and reads their configurations only: it works on
 * a folder of config.json files without weights. Over budget is not an error here: out->fits says it. */
VGEN_API vgen_status vgen_plan_generation(vgen_context *ctx, const vgen_model_params *model_params,
                                          const vgen_generate_params *params, vgen_plan *out);

#ifdef __cplusplus
}
#endif
#endif /* VGEN_H */

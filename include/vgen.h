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

#ifdef __cplusplus
}
#endif
#endif /* VGEN_H */

/* record_json.h - the run record: every parameter of one generation, as a plain C struct and as JSON.
 *
 * The record is written beside the video (out.json, through the json sink or vgen_run_record_write) and the
 * same text is the mp4 "comment" tag. Schema "vgen.run_record/1" (docs/outputs.md has an example):
 *
 *   {
 *     "schema": "vgen.run_record/1",
 *     "vgen_version": "0.1.0",
 *     "model": {
 *       "family": "wan21",
 *       "files": [{"component": "dit", "path": "...", "bytes": 123, "sha256": null}, ...],
 *       "components": [{"name": "dit", "weights": "int8_row", "compute": "bf16", "device": "cuda"}, ...]
 *     },
 *     "prompt": "...", "negative_prompt": "...",
 *     "seed": 42,                    a number up to 2^53, a decimal string above (JSON numbers are doubles)
 *     "width": 832, "height": 480, "frames": 81, "fps": {"num": 16, "den": 1},
 *     "steps": 50, "sampler": "unipc", "shift": 5, "guidance": 5,
 *     "preset": "rtx4090",
 *     "timings_s": {"text_encoder": 2.5, "denoise": 301.7, "vae_decode": 20.1}   (in order of the phases)
 *   }
 *
 * Strings may be NULL (JSON null) and must be valid UTF-8. Integers must not be negative; file sizes must be
 * below 2^53. Doubles must be finite; they are printed with the fewest digits (15 to 17) that read back exactly,
 * so to_json followed by from_json gives an equal record. from_json is strict about the JSON text
 * (core/json_strict.h) and about the type of every known key (the error names the key, e.g.
 * "model.files[1].bytes"), ignores keys it does not know (records from later versions of the same schema still
 * read), and leaves missing keys at their vgen_run_record_init() values (a missing vgen_version reads as NULL).
 * Only "schema" is required. */
#ifndef VGEN_PIPELINE_RECORD_JSON_H
#define VGEN_PIPELINE_RECORD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VGEN_RECORD_SCHEMA "vgen.run_record/1"
#define VGEN_RECORD_MAX_FILES 32
#define VGEN_RECORD_MAX_COMPONENTS 8
#define VGEN_RECORD_MAX_PHASES 16

typedef struct vgen_record_file {
    const char *component;  /* "dit", "text_encoder", "vae", "tokenizer", ... */
    const char *path;       /* as given on the command line */
    uint64_t bytes;         /* file size */
    const char *sha256;     /* lowercase hex digest, or NULL when not computed */
} vgen_record_file;

typedef struct vgen_record_component {
    const char *name;       /* "text_encoder", "dit", "vae" */
    const char *weights;    /* weight format name (core/wformat.h): "bf16", "int8_row", "fp8_e4m3_row", ... */
    const char *compute;    /* "f32", "bf16" */
    const char *device;     /* "cpu", "cuda" */
} vgen_record_component;

typedef struct vgen_record_phase {
    const char *name;       /* "load", "text_encoder", "denoise", "vae_decode", ... */
    double seconds;
} vgen_record_phase;

typedef struct vgen_run_record {
    const char *vgen_version;
    const char *model_family;                                 /* "wan21" */
    vgen_record_file files[VGEN_RECORD_MAX_FILES];
    size_t n_files;
    vgen_record_component components[VGEN_RECORD_MAX_COMPONENTS];
    size_t n_components;
    const char *prompt;
    const char *negative_prompt;
    uint64_t seed;
    int width, height, frames;
    int fps_num, fps_den;
    int steps;
    const char *sampler;                                      /* "unipc", "euler" */
    double shift;                                             /* flow-matching schedule shift */
    double guidance;                                          /* classifier-free guidance scale */
    const char *preset;
    vgen_record_phase timings[VGEN_RECORD_MAX_PHASES];
    size_t n_timings;
    void *owner_; /* private: the parsed tree behind the strings of a record read by from_json */
} vgen_run_record;

/* All zero / NULL, except vgen_version = vgen_version_string() and fps 16/1. */
vgen_run_record vgen_run_record_init(void);

/* The JSON text (indented, no trailing newline) in *out: malloc'd, free() it. */
int vgen_run_record_to_json(const vgen_run_record *r, char **out, vgen_err *err);

/* Parses text[0..n). On success *out's strings point into a tree it owns: call vgen_run_record_release. On
 * failure *out holds nothing to release. VGEN_ERR_MALFORMED names the offset or the key at fault;
 * VGEN_ERR_UNSUPPORTED for another schema. */
int vgen_run_record_from_json(const char *text, size_t n, vgen_run_record *out, vgen_err *err);

/* Frees what from_json allocated and resets *r to vgen_run_record_init(). Harmless on a record built by hand. */
void vgen_run_record_release(vgen_run_record *r);

/* to_json, then an atomic write of the text and a newline to path. */
int vgen_run_record_write(const vgen_run_record *r, const char *path, vgen_err *err);

/* 1 if every field is equal (strings by content, NULL only equals NULL, doubles exactly). */
int vgen_run_record_equal(const vgen_run_record *a, const vgen_run_record *b);

#endif

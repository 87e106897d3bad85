/* safetensors.h - reading (mmap, single or sharded) and streaming writing of safetensors files.
 *
 * Format: u64 little-endian header length n, then n bytes of UTF-8 JSON object
 *   {"__metadata__": {"k": "v", ...}?, "name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the data buffer; offsets are relative to the start of the data buffer.
 *
 * Validation is as strict as the Rust reference implementation; every rule has a test with a malformed file
 * (tests/test_safetensors.c). The rules, each failing with VGEN_ERR_MALFORMED and a message naming the file and,
 * where there is one, the tensor:
 *   - the file holds at least the 8-byte length; the header length is <= 100,000,000 and fits in the file;
 *   - the header is valid UTF-8 and a JSON object (leading/trailing whitespace allowed inside the header);
 *   - each tensor entry is an object with exactly the keys dtype, shape, data_offsets;
 *   - dtype is one of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL F8_E4M3 F8_E5M2;
 *   - shape is an array of non-negative integers (rank <= 8) whose product times the dtype size equals end - begin,
 *     with every product overflow-checked;
 *   - data_offsets is [begin, end] of non-negative integers with begin <= end;
 *   - sorted by begin, tensors are contiguous and non-overlapping, start at 0 and cover the whole data buffer,
 *     which ends exactly at the end of the file;
 *   - names are unique (a duplicate is an error, not "last one wins");
 *   - __metadata__, if present, is an object of string values.
 */
#ifndef VGEN_CORE_SAFETENSORS_H
#define VGEN_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VGEN_ST_MAX_DIMS 8
#define VGEN_ST_MAX_HEADER 100000000ull

typedef enum vgen_st_dtype {
    VGEN_ST_F64 = 0,
    VGEN_ST_F32,
    VGEN_ST_F16,
    VGEN_ST_BF16,
    VGEN_ST_I64,
    VGEN_ST_I32,
    VGEN_ST_I16,
    VGEN_ST_I8,
    VGEN_ST_U8,
    VGEN_ST_BOOL,
    VGEN_ST_F8_E4M3,
    VGEN_ST_F8_E5M2,
    VGEN_ST_DTYPE_COUNT
} vgen_st_dtype;

const char *vgen_st_dtype_name(vgen_st_dtype t); /* "BF16" */
size_t vgen_st_dtype_size(vgen_st_dtype t);
int vgen_st_dtype_from_name(const char *name, vgen_st_dtype *out); /* 0 or VGEN_ERR_NOT_FOUND */

typedef struct vgen_st_tensor {
    const char *name;
    vgen_st_dtype dtype;
    int n_dims;
    int64_t shape[VGEN_ST_MAX_DIMS];
    uint64_t n_bytes;
    const void *data;        /* points into the mapping; valid while the set is open */
    int shard;               /* index into the set's shards */
} vgen_st_tensor;

/* An open checkpoint: one file, or all shards of an index. Immutable once open, so it can be shared across threads. */
typedef struct vgen_st_set vgen_st_set;

/* path: a .safetensors file; a *.safetensors.index.json (opens every shard it names, checks that the weight_map
 * names exactly the tensors the shards hold); or a directory holding exactly one of: model.safetensors,
 * diffusion_pytorch_model.safetensors, or one *.safetensors.index.json (else a single *.safetensors file).
 * Errors: VGEN_ERR_NOT_FOUND / VGEN_ERR_IO / VGEN_ERR_MALFORMED, message naming the file and tensor. */
int vgen_st_open(const char *path, vgen_st_set **out, vgen_err *err);
void vgen_st_close(vgen_st_set **set);

size_t vgen_st_count(const vgen_st_set *set);
/* Tensors in a stable order: by shard, then by data offset. */
const vgen_st_tensor *vgen_st_at(const vgen_st_set *set, size_t i);
/* NULL if absent. O(log n). */
const vgen_st_tensor *vgen_st_find(const vgen_st_set *set, const char *name);

size_t vgen_st_shard_count(const vgen_st_set *set);
const char *vgen_st_shard_path(const vgen_st_set *set, int shard);

/* __metadata__ of the first shard (for an index: its "metadata" object's string values, then the first shard's). */
size_t vgen_st_metadata_count(const vgen_st_set *set);
void vgen_st_metadata_at(const vgen_st_set *set, size_t i, const char **key, const char **value);
const char *vgen_st_metadata_get(const vgen_st_set *set, const char *key); /* NULL if absent */

/* Parses a header held in memory: file_size is the whole file's size (to check the data buffer). Used by
 * vgen_st_open and by the fuzz target. On success *out is a set with one shard whose data pointers are NULL
 * unless base (the whole file) is given. */
int vgen_st_parse(const uint8_t *base, size_t file_size, const char *display_name, vgen_st_set **out, vgen_err *err);

/* ---- writer ----
 * The header comes first, so every tensor is declared before any data is written; data then streams in
 * declaration order. The file is written to a temporary file beside path (core/atomic_file.h) and renamed onto path by finish, so an
 * interrupted write never leaves a file that looks complete. A full disk gives VGEN_ERR_NO_SPACE. */
typedef struct vgen_st_writer vgen_st_writer;

typedef struct vgen_st_decl {
    const char *name;
    vgen_st_dtype dtype;
    int n_dims;
    int64_t shape[VGEN_ST_MAX_DIMS];
} vgen_st_decl;

/* metadata: n_meta key/value pairs (keys[i], values[i]); may be 0. Names must be unique. */
int vgen_st_writer_open(const char *path, const vgen_st_decl *decls, size_t n_decls, const char *const *meta_keys,
                        const char *const *meta_values, size_t n_meta, vgen_st_writer **out, vgen_err *err);
/* Appends bytes of the current tensor; a tensor may be written in several calls. Exceeding its size is an error. */
int vgen_st_writer_write(vgen_st_writer *w, const void *bytes, size_t n, vgen_err *err);
/* Checks every tensor was written in full, flushes, fsyncs and renames into place; frees w. */
int vgen_st_writer_finish(vgen_st_writer **w, vgen_err *err);
/* Removes the temporary file and frees w. Safe on NULL. */
void vgen_st_writer_abort(vgen_st_writer **w);

#endif

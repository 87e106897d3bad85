/* safetensors_impl.h - internals shared by core/safetensors_*.c; not for use outside them.
 *
 * A set is built in steps: st_set_new, then per file st_set_add_shard + st_parse_into (which validates one file
 * and appends its tensors), then st_set_finalize (name index, cross-file duplicate check). Any failure: close. */
#ifndef VGEN_CORE_SAFETENSORS_IMPL_H
#define VGEN_CORE_SAFETENSORS_IMPL_H

#include <cjson/cJSON.h>

#include "json_strict.h"
#include "mapped_file.h"
#include "safetensors.h"

/* Largest integer accepted for a dim or an offset: every smaller integer survives cJSON's double exactly, while
 * the text "9007199254740993" (2^53 + 1) would silently read as 2^53. */
#define ST_MAX_JSON_INT ((1ull << 53) - 1)

/* Room for a name or path as shown in a message: quoted, escaped, shortened. */
#define ST_SHOW_MAX 192

typedef struct st_shard {
    char *path;               /* as opened; vgen_st_shard_path returns it */
    char *display;            /* path made printable (one line, shortened) for messages */
    vgen_mapped_file file;    /* zeroed when the bytes belong to the caller (vgen_st_parse) */
} st_shard;

struct vgen_st_set {
    vgen_st_tensor *tensors;         /* [n_tensors] by (shard, begin, end); names owned */
    size_t n_tensors, cap_tensors;
    const vgen_st_tensor **by_name;  /* [n_tensors] sorted by strcmp(name); built by st_set_finalize */
    char **meta;                     /* [2 * n_meta]: key, value, key, value, ...; owned */
    size_t n_meta, cap_meta;
    st_shard *shards;                /* [n_shards] */
    int n_shards;
};

/* One header entry after its own checks, before the layout checks. */
typedef struct st_entry {
    vgen_st_tensor t;      /* t.name owned until handed to a set; t.data, t.shard not yet set */
    uint64_t begin, end;   /* data_offsets, relative to the data buffer */
} st_entry;

/* ---- set building (safetensors_set.c) ---- */
vgen_st_set *st_set_new(void);
/* Appends a shard; takes over *file (zeroing it) even on failure. *index receives the shard's index. */
int st_set_add_shard(vgen_st_set *s, const char *path, vgen_mapped_file *file, int *index, vgen_err *err);
int st_set_add_meta(vgen_st_set *s, const char *key, const char *value, vgen_err *err);
/* Appends n entries (already in layout order) of shard; takes their names even on failure. */
int st_set_add_entries(vgen_st_set *s, int shard, const uint8_t *data_start, st_entry *e, size_t n,
                       vgen_err *err);
/* Builds the name index; a name in two shards is an error. */
int st_set_finalize(vgen_st_set *s, vgen_err *err);

/* ---- parsing (safetensors_parse.c, safetensors_entry.c) ---- */
/* Validates the file image base[0..size) of shard `shard` and appends its tensors; keep_meta: also its
 * __metadata__. Messages name s->shards[shard].display. */
int st_parse_into(vgen_st_set *s, int shard, const uint8_t *base, size_t size, int keep_meta, vgen_err *err);
/* Checks one tensor entry `item` (key: item->string) against a data buffer of data_len bytes. */
int st_entry_parse(const cJSON *item, uint64_t data_len, const char *file, st_entry *out, vgen_err *err);
/* Checks the layout of n entries: sorts them by (begin, end) and requires they tile [0, data_len). */
int st_layout_check(st_entry *e, size_t n, uint64_t data_len, const char *file, vgen_err *err);

/* ---- opening (safetensors_open.c, safetensors_index.c) ---- */
/* Maps path, adds it as a shard and parses it into s. */
int st_open_file_into(vgen_st_set *s, const char *path, int keep_meta, vgen_err *err);
int st_open_index(const char *path, vgen_st_set **out, vgen_err *err);

/* ---- messages (safetensors_set.c) ---- */
/* s as a double-quoted one-line string: quotes, backslashes and control bytes escaped, long ones shortened.
 * buf holds ST_SHOW_MAX bytes. Returns buf. */
const char *st_quote(const char *s, char *buf);
/* A path as printable text (no quotes), keeping its tail if long. buf holds ST_SHOW_MAX bytes. */
const char *st_show_path(const char *path, char *buf);
/* Sets err from a strict-JSON failure of `what` ("header", "index") in file. */
int st_json_error(vgen_err *err, const char *file, const char *what, const vgen_json_error *e);

#endif

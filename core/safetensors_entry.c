/* safetensors_entry.c - the checks of one tensor entry of a header:
 *   {"dtype": "BF16", "shape": [d0, ..], "data_offsets": [begin, end]}
 * exactly these keys, a known dtype, rank <= 8, integers in [0, 2^53), begin <= end <= data buffer size, and
 * numel * dtype size == end - begin with every product overflow-checked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "safetensors_impl.h"
#include "tensor.h"

/* Context of the messages: "<file>: tensor "<name>": ..." */
typedef struct entry_ctx {
    const char *file;
    char name[ST_SHOW_MAX];
    vgen_err *err;
} entry_ctx;

#define ENTRY_FAIL(c, fmt, ...) \
    vgen_err_set((c)->err, VGEN_ERR_MALFORMED, "%s: tensor %s: " fmt, (c)->file, (c)->name, __VA_ARGS__)

/* An integer field (field: "shape[2]", "data_offsets[0]") as a u64 in [0, ST_MAX_JSON_INT]. */
static int json_uint(const entry_ctx *c, const cJSON *v, const char *field, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return ENTRY_FAIL(c, "%s is not a number", field);
    double d = v->valuedouble;
    if (d < 0) return ENTRY_FAIL(c, "%s is negative (%.17g)", field, d);
    if (!(d <= (double)ST_MAX_JSON_INT)) return ENTRY_FAIL(c, "%s exceeds 2^53 - 1 (%.17g)", field, d);
    if (d != floor(d)) return ENTRY_FAIL(c, "%s is not an integer (%.17g)", field, d);
    *out = (uint64_t)d;
    return VGEN_OK;
}

static int parse_dtype(const entry_ctx *c, const cJSON *v, vgen_st_dtype *out) {
    if (!cJSON_IsString(v)) return ENTRY_FAIL(c, "%s", "dtype is not a string");
    if (vgen_st_dtype_from_name(v->valuestring, out) == VGEN_OK) return VGEN_OK;
    char q[ST_SHOW_MAX];
    return ENTRY_FAIL(c, "unknown dtype %s (expected one of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL F8_E4M3 F8_E5M2)",
                      st_quote(v->valuestring, q));
}

/* shape: [d0, ..., d(r-1)], r <= VGEN_ST_MAX_DIMS */
static int parse_shape(const entry_ctx *c, const cJSON *v, vgen_st_tensor *t) {
    if (!cJSON_IsArray(v)) return ENTRY_FAIL(c, "%s", "shape is not an array");
    int rank = 0;
    for (const cJSON *d = v->child; d; d = d->next) {
        if (rank == VGEN_ST_MAX_DIMS)
            return ENTRY_FAIL(c, "shape has rank %d, more than %d", cJSON_GetArraySize(v), VGEN_ST_MAX_DIMS);
        char field[32];
        snprintf(field, sizeof field, "shape[%d]", rank);
        uint64_t dim = 0;
        int rc = json_uint(c, d, field, &dim);
        if (rc) return rc;
        t->shape[rank++] = (int64_t)dim;
    }
    t->n_dims = rank;
    return VGEN_OK;
}

/* data_offsets: [begin, end] */
static int parse_offsets(const entry_ctx *c, const cJSON *v, st_entry *e) {
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
        return ENTRY_FAIL(c, "%s", "data_offsets is not an array of 2 integers [begin, end]");
    int rc = json_uint(c, v->child, "data_offsets[0]", &e->begin);
    if (!rc) rc = json_uint(c, v->child->next, "data_offsets[1]", &e->end);
    if (rc) return rc;
    if (e->begin > e->end)
        return ENTRY_FAIL(c, "data_offsets begin %llu > end %llu", (unsigned long long)e->begin,
                          (unsigned long long)e->end);
    return VGEN_OK;
}

/* Finds the three keys, each exactly once, and nothing else. */
static int entry_keys(const entry_ctx *c, const cJSON *item, const cJSON *found[3]) {
    static const char *const keys[3] = {"dtype", "shape", "data_offsets"};
    char q[ST_SHOW_MAX];
    for (const cJSON *k = item->child; k; k = k->next) {
        int which = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(k->string, keys[i]) == 0) which = i;
        if (which < 0)
            return ENTRY_FAIL(c, "unexpected key %s (allowed: dtype, shape, data_offsets)", st_quote(k->string, q));
        if (found[which]) return ENTRY_FAIL(c, "duplicate key \"%s\"", keys[which]);
        found[which] = k;
    }
    for (int i = 0; i < 3; i++)
        if (!found[i]) return ENTRY_FAIL(c, "missing key \"%s\"", keys[i]);
    return VGEN_OK;
}

/* numel(shape) * dtype size == end - begin, and end within the data buffer. */
static int entry_size(const entry_ctx *c, st_entry *e, uint64_t data_len) {
    vgen_st_tensor *t = &e->t;
    char shape[256];
    vgen_shape_str(t->shape, t->n_dims, shape, sizeof shape);
    uint64_t numel = 0, bytes = 0;
    if (!vgen_shape_numel(t->shape, t->n_dims, &numel))
        return ENTRY_FAIL(c, "element count of shape %s overflows 64 bits", shape);
    if (!vgen_mul_u64(numel, vgen_st_dtype_size(t->dtype), &bytes))
        return ENTRY_FAIL(c, "byte size of shape %s of %s overflows 64 bits", shape, vgen_st_dtype_name(t->dtype));
    if (bytes != e->end - e->begin)
        return ENTRY_FAIL(c, "shape %s of %s is %llu bytes but data_offsets span %llu bytes", shape,
                          vgen_st_dtype_name(t->dtype), (unsigned long long)bytes,
                          (unsigned long long)(e->end - e->begin));
    if (e->end > data_len)
        return ENTRY_FAIL(c, "data_offsets end %llu is beyond the end of the file (the data buffer holds %llu bytes)",
                          (unsigned long long)e->end, (unsigned long long)data_len);
    t->n_bytes = bytes;
    return VGEN_OK;
}

int st_entry_parse(const cJSON *item, uint64_t data_len, const char *file, st_entry *out, vgen_err *err) {
    entry_ctx c = {file, "", err};
    st_quote(item->string, c.name);
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(item)) return ENTRY_FAIL(&c, "%s", "entry is not an object");
    const cJSON *found[3] = {NULL, NULL, NULL};
    int rc = entry_keys(&c, item, found);
    if (!rc) rc = parse_dtype(&c, found[0], &out->t.dtype);
    if (!rc) rc = parse_shape(&c, found[1], &out->t);
    if (!rc) rc = parse_offsets(&c, found[2], out);
    if (!rc) rc = entry_size(&c, out, data_len);
    if (rc) return rc;
    out->t.name = strdup(item->string);
    if (!out->t.name) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", file);
    return VGEN_OK;
}

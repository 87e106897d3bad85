/* safetensors_dtype.c - the dtype names and sizes of the safetensors format. */
#include <string.h>

#include "safetensors.h"

typedef struct st_dtype_info {
    const char *name;
    size_t size;
} st_dtype_info;

/* Indexed by vgen_st_dtype; names exactly as the format spells them (case-sensitive). */
static const st_dtype_info ST_DTYPES[VGEN_ST_DTYPE_COUNT] = {
    [VGEN_ST_F64] = {"F64", 8},   [VGEN_ST_F32] = {"F32", 4},         [VGEN_ST_F16] = {"F16", 2},
    [VGEN_ST_BF16] = {"BF16", 2}, [VGEN_ST_I64] = {"I64", 8},         [VGEN_ST_I32] = {"I32", 4},
    [VGEN_ST_I16] = {"I16", 2},   [VGEN_ST_I8] = {"I8", 1},           [VGEN_ST_U8] = {"U8", 1},
    [VGEN_ST_BOOL] = {"BOOL", 1}, [VGEN_ST_F8_E4M3] = {"F8_E4M3", 1}, [VGEN_ST_F8_E5M2] = {"F8_E5M2", 1},
};

static int dtype_valid(vgen_st_dtype t) { return (int)t >= 0 && t < VGEN_ST_DTYPE_COUNT; }

const char *vgen_st_dtype_name(vgen_st_dtype t) { return dtype_valid(t) ? ST_DTYPES[t].name : "?"; }

size_t vgen_st_dtype_size(vgen_st_dtype t) { return dtype_valid(t) ? ST_DTYPES[t].size : 0; }

int vgen_st_dtype_from_name(const char *name, vgen_st_dtype *out) {
    for (int i = 0; name && i < VGEN_ST_DTYPE_COUNT; i++) {
        if (strcmp(name, ST_DTYPES[i].name) == 0) {
            if (out) *out = (vgen_st_dtype)i;
            return VGEN_OK;
        }
    }
    return VGEN_ERR_NOT_FOUND;
}

/* model_file.c - the public inspection API over safetensors sets (vgen info). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "layout.h"
#include "qfile.h" /* core */
#include "safetensors.h"

struct vgen_model_file {
    vgen_st_set *set;
    const char *layout;
};

vgen_status vgen_model_file_open(vgen_context *ctx, const char *path, vgen_model_file **out) {
    if (!ctx || !path || !out) return VGEN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    vgen_err_clear(&ctx->err);
    vgen_model_file *f = calloc(1, sizeof *f);
    if (!f) return vgen_ctx_fail(ctx, &(vgen_err){VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a model file"});
    int rc = vgen_st_open(path, &f->set, &ctx->err);
    if (rc) {
        free(f);
        return vgen_ctx_fail(ctx, &ctx->err);
    }
    f->layout = vgen_layout_detect(f->set);
    *out = f;
    return VGEN_OK;
}

void vgen_model_file_free(vgen_model_file **file) {
    if (!file || !*file) return;
    vgen_st_close(&(*file)->set);
    free(*file);
    *file = NULL;
}

size_t vgen_model_file_tensor_count(const vgen_model_file *file) { return file ? vgen_st_count(file->set) : 0; }

size_t vgen_model_file_shard_count(const vgen_model_file *file) { return file ? vgen_st_shard_count(file->set) : 0; }

uint64_t vgen_model_file_data_bytes(const vgen_model_file *file) {
    uint64_t total = 0;
    for (size_t i = 0; file && i < vgen_st_count(file->set); i++) total += vgen_st_at(file->set, i)->n_bytes;
    return total;
}

const char *vgen_model_file_layout(const vgen_model_file *file) { return file ? file->layout : "unknown"; }

vgen_status vgen_model_file_tensor(const vgen_model_file *file, size_t index, vgen_tensor_info *out) {
    if (!file || !out || index >= vgen_st_count(file->set)) return VGEN_ERR_INVALID_ARGUMENT;
    const vgen_st_tensor *t = vgen_st_at(file->set, index);
    memset(out, 0, sizeof *out);
    out->name = t->name;
    out->dtype = vgen_st_dtype_name(t->dtype);
    out->n_dims = t->n_dims;
    memcpy(out->shape, t->shape, sizeof t->shape);
    out->n_bytes = t->n_bytes;
    out->shard = vgen_st_shard_path(file->set, t->shard);
    const char *slash = out->shard ? strrchr(out->shard, '/') : NULL;
    if (slash) out->shard = slash + 1;
    out->quant_format = vgen_qfile_tensor_format(file->set, t->name);
    return VGEN_OK;
}

size_t vgen_model_file_metadata_count(const vgen_model_file *file) {
    return file ? vgen_st_metadata_count(file->set) : 0;
}

vgen_status vgen_model_file_metadata(const vgen_model_file *file, size_t index, const char **key,
                                     const char **value) {
    if (!file || !key || !value || index >= vgen_st_metadata_count(file->set)) return VGEN_ERR_INVALID_ARGUMENT;
    vgen_st_metadata_at(file->set, index, key, value);
    return VGEN_OK;
}

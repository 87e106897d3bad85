/* model_paths.c - which family a model is and where its components are, before any weight is read.
 *
 * A model folder is a diffusers folder (model_index.json naming the pipeline class, one sub-folder per component);
 * single files given one by one (ComfyUI) override the folder's components or stand without a folder. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mapped_file.h"
#include "model.h"

static int join(char *out, const char *dir, const char *name, vgen_err *err) {
    int n = snprintf(out, VGEN_MODEL_PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= VGEN_MODEL_PATH_MAX)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "path too long: %.200s/%s", dir, name);
    return VGEN_OK;
}

static int copy_path(char *out, const char *path, vgen_err *err) {
    if (strlen(path) >= VGEN_MODEL_PATH_MAX)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "path too long: %.200s...", path);
    memcpy(out, path, strlen(path) + 1);
    return VGEN_OK;
}

/* The pipeline class in dir/model_index.json; *cls = "" when the file does not exist. */
static int read_index_class(const char *dir, char *cls, size_t size, vgen_err *err) {
    char path[VGEN_MODEL_PATH_MAX];
    cls[0] = '\0';
    int rc = join(path, dir, "model_index.json", err);
    struct stat st;
    if (rc || stat(path, &st) != 0) return rc;
    vgen_mapped_file f;
    rc = vgen_mapped_file_open(path, NULL, &f, err);
    if (rc) return rc;
    cJSON *root = f.size <= (1u << 20) ? cJSON_ParseWithLength((const char *)f.data, f.size) : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "_class_name");
    if (!cJSON_IsString(c)) rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: not JSON with a \"_class_name\"", path);
    else snprintf(cls, size, "%s", c->valuestring);
    cJSON_Delete(root);
    vgen_mapped_file_close(&f);
    return rc;
}

static int pick_family(const vgen_model_params *p, vgen_model *m, vgen_err *err) {
    if (p->family) {
        m->family = vgen_family_find(p->family);
        return m->family ? VGEN_OK
                         : vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "unknown model family \"%.64s\" (known: wan21)",
                                        p->family);
    }
    char cls[128] = "";
    int rc = m->dir[0] ? read_index_class(m->dir, cls, sizeof cls, err) : VGEN_OK;
    if (rc) return rc;
    m->family = cls[0] ? vgen_family_by_class(cls) : &vgen_family_wan21;
    if (!m->family)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s/model_index.json: pipeline \"%.64s\" is not supported "
                            "(vgen runs WanPipeline, Wan2.1 text-to-video)", m->dir, cls);
    return VGEN_OK;
}

/* Bytes of a file, or of the regular files directly inside a folder. */
static uint64_t path_bytes(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return (uint64_t)st.st_size;
    uint64_t total = 0;
    DIR *d = opendir(path);
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        char f[VGEN_MODEL_PATH_MAX];
        int n = snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        if (n > 0 && n < (int)sizeof f && stat(f, &st) == 0 && S_ISREG(st.st_mode)) total += (uint64_t)st.st_size;
    }
    if (d) closedir(d);
    return total;
}

/* The path given for part k, if any. */
static const char *given(const vgen_model_params *p, vgen_part_kind k) {
    switch (k) {
    case VGEN_PART_TRANSFORMER: return p->transformer;
    case VGEN_PART_TEXT_ENCODER: return p->text_encoder;
    case VGEN_PART_TOKENIZER: return p->tokenizer;
    case VGEN_PART_VAE: return p->vae;
    case VGEN_PART_SCHEDULER: return p->scheduler;
    default: return NULL;
    }
}

static int resolve_part(const vgen_model_params *p, vgen_model *m, vgen_part_kind k, const vgen_logger *log,
                        vgen_err *err) {
    const char *name = vgen_part_name(k), *g = given(p, k);
    char *out = m->paths[k];
    struct stat st;
    if (g && g[0]) {
        int rc = copy_path(out, g, err);
        if (!rc && stat(out, &st) != 0)
            rc = vgen_err_set(err, VGEN_ERR_NOT_FOUND, "component %s: %s does not exist", name, out);
        return rc;
    }
    if (!m->dir[0]) {
        if (k == VGEN_PART_SCHEDULER) return VGEN_OK;
        return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "component %s: no model folder and no %s file given", name,
                            name);
    }
    int rc = join(out, m->dir, m->family->part_dirs[k], err);
    if (rc || stat(out, &st) == 0) return rc;
    if (k != VGEN_PART_SCHEDULER)
        return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "component %s not found: %s does not exist (give the %s "
                            "file separately, or fix the model folder)", name, out, name);
    VGEN_LOGI(log, "%s does not exist: the %s scheduler defaults (%s, shift %g)", out, m->family->name,
              vgen_sampler_kind_name((vgen_sampler_kind)m->family->defaults.sampler), m->family->defaults.shift);
    out[0] = '\0';
    return VGEN_OK;
}

static int check_dir(const char *dir, vgen_err *err) {
    struct stat st;
    if (stat(dir, &st) != 0) return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "model folder %s does not exist", dir);
    if (!S_ISDIR(st.st_mode))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "model folder %s is not a folder (give a single "
                            "transformer file with --transformer / vgen_model_params.transformer)", dir);
    return VGEN_OK;
}

int vgen_model_resolve(const vgen_model_params *p, vgen_model *m, const vgen_logger *log, vgen_err *err) {
    int rc = VGEN_OK;
    if (p->model_dir && p->model_dir[0]) {
        rc = copy_path(m->dir, p->model_dir, err);
        if (!rc) rc = check_dir(m->dir, err);
    }
    if (!rc) rc = pick_family(p, m, err);
    for (int k = 0; k < VGEN_PART_COUNT && !rc; k++) rc = resolve_part(p, m, (vgen_part_kind)k, log, err);
    for (int k = 0; k < VGEN_PART_COUNT && !rc; k++) m->bytes[k] = m->paths[k][0] ? path_bytes(m->paths[k]) : 0;
    if (!rc && p->embed_cache_dir) rc = copy_path(m->embed_cache_dir, p->embed_cache_dir, err);
    return rc;
}

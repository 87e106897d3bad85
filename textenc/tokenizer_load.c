/* tokenizer_load.c - finds and maps the tokenizer file(s) of a path and hands them to the right loader. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json_strict.h"
#include "mapped_file.h"
#include "tokenizer_impl.h"

enum { MAX_EXTRA_IDS_CONFIG = 10000 };

/* dir + "/" + name, malloc'd (NULL when out of memory). */
static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) snprintf(p, a + b + 2, "%s/%s", dir, name);
    return p;
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A tokenizer.json starts (after blanks) with '{'; a ModelProto cannot (0x7B would be field 15, wire type 3). */
static int looks_like_json(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n && vgen_json_is_space(p[i])) i++;
    return i < n && p[i] == '{';
}

/* "extra_ids" of a tokenizer_config.json next to spiece.model, else T5's default. */
static int config_extra_ids(const char *dir, int *extra_ids, vgen_err *err) {
    *extra_ids = VGEN_TOKENIZER_T5_EXTRA_IDS;
    char *path = join(dir, "tokenizer_config.json");
    if (!path) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory");
    vgen_mapped_file f = {0};
    int rc = is_file(path) ? vgen_mapped_file_open(path, NULL, &f, err) : VGEN_OK;
    vgen_json_error je = {0};
    cJSON *root = rc == VGEN_OK && f.size ? vgen_json_parse_strict(f.data, f.size, &je) : NULL;
    if (rc == VGEN_OK && f.size && !root)
        rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: not valid JSON at byte %zu", path, je.offset);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "extra_ids");
    if (rc == VGEN_OK && v) {
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(d >= 0 && d <= MAX_EXTRA_IDS_CONFIG) || d != (double)(int)d)
            rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: extra_ids must be an integer in [0, %d]", path,
                              MAX_EXTRA_IDS_CONFIG);
        else *extra_ids = (int)d;
    }
    cJSON_Delete(root);
    vgen_mapped_file_close(&f);
    free(path);
    return rc;
}

static int load_file(const char *path, int extra_ids, vgen_tokenizer **out, vgen_err *err) {
    vgen_mapped_file f = {0};
    int rc = vgen_mapped_file_open(path, NULL, &f, err);
    if (rc != VGEN_OK) return rc;
    if (looks_like_json(f.data, f.size)) rc = vgen_tok_load_json_named(f.data, f.size, path, out, err);
    else rc = vgen_tok_load_spm_named(f.data, f.size, extra_ids, path, out, err);
    vgen_mapped_file_close(&f);
    return rc;
}

static int load_dir(const char *dir, vgen_tokenizer **out, vgen_err *err) {
    char *json = join(dir, "tokenizer.json"), *spm = join(dir, "spiece.model");
    int rc = VGEN_OK, extra_ids = VGEN_TOKENIZER_T5_EXTRA_IDS;
    if (!json || !spm) rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory");
    else if (is_file(json)) rc = load_file(json, extra_ids, out, err);
    else if (!is_file(spm))
        rc = vgen_err_set(err, VGEN_ERR_NOT_FOUND, "%s: neither tokenizer.json nor spiece.model is there", dir);
    else if ((rc = config_extra_ids(dir, &extra_ids, err)) == VGEN_OK) rc = load_file(spm, extra_ids, out, err);
    free(json);
    free(spm);
    return rc;
}

int vgen_tokenizer_load(const char *path, vgen_tokenizer **out, vgen_err *err) {
    if (out) *out = NULL;
    if (!path || !out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_tokenizer_load: NULL argument");
    struct stat st;
    if (stat(path, &st) != 0)
        return vgen_err_set(err, errno == ENOENT ? VGEN_ERR_NOT_FOUND : VGEN_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return load_dir(path, out, err);
    return load_file(path, VGEN_TOKENIZER_T5_EXTRA_IDS, out, err);
}

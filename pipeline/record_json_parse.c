/* record_json_parse.c - the run record from JSON: strict text (core/json_strict.h), every known key type-checked
 * (messages name the key, e.g. "model.files[1].bytes"), unknown keys ignored, missing keys left zero / NULL. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_strict.h"
#include "record_json.h"

#define RECORD_MAX_EXACT (9007199254740992.0) /* 2^53 */

static int bad(vgen_err *err, const char *where, const char *key, const char *what) {
    return vgen_err_set(err, VGEN_ERR_MALFORMED, "run record: key \"%s%s%s\": %s", where, *where ? "." : "", key,
                        what);
}

/* A string or null (-> NULL); absent leaves *out. */
static int get_str(const cJSON *obj, const char *key, const char *where, const char **out, vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return VGEN_OK;
    if (cJSON_IsNull(v)) *out = NULL;
    else if (cJSON_IsString(v)) *out = v->valuestring;
    else return bad(err, where, key, "expected a string or null");
    return VGEN_OK;
}

/* An integral number in [0, max]. */
static int get_uint(const cJSON *obj, const char *key, const char *where, double max, double *out, vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return VGEN_OK;
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1.0;
    if (!(d >= 0.0 && d <= max && floor(d) == d)) return bad(err, where, key, "expected a non-negative integer");
    *out = d;
    return VGEN_OK;
}

static int get_int(const cJSON *obj, const char *key, const char *where, int *out, vgen_err *err) {
    double d = *out;
    int rc = get_uint(obj, key, where, (double)INT_MAX, &d, err);
    *out = (int)d;
    return rc;
}

static int get_double(const cJSON *obj, const char *key, double *out, vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return VGEN_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad(err, "", key, "expected a finite number");
    *out = v->valuedouble;
    return VGEN_OK;
}

/* A number up to 2^53 or a decimal string up to 2^64 - 1. */
static int get_seed(const cJSON *obj, uint64_t *out, vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "seed");
    if (!v) return VGEN_OK;
    if (cJSON_IsNumber(v)) {
        double d = 0;
        int rc = get_uint(obj, "seed", "", RECORD_MAX_EXACT, &d, err);
        *out = (uint64_t)d;
        return rc;
    }
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    size_t n = strlen(s);
    char *end = NULL;
    unsigned long long u = n && n <= 20 && strspn(s, "0123456789") == n ? strtoull(s, &end, 10) : 0;
    if (!end || *end || (u == ULLONG_MAX && strcmp(s, "18446744073709551615") != 0))
        return bad(err, "", "seed", "expected an integer in [0, 2^64) (a number, or a decimal string)");
    *out = (uint64_t)u;
    return VGEN_OK;
}

/* An array of at most max objects, or absent (*n = 0). */
static int get_list(const cJSON *obj, const char *key, const char *where, size_t max, const cJSON **arr, size_t *n,
                    vgen_err *err) {
    *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    *n = 0;
    if (!*arr) return VGEN_OK;
    if (!cJSON_IsArray(*arr)) return bad(err, where, key, "expected an array");
    *n = (size_t)cJSON_GetArraySize(*arr);
    if (*n > max) return bad(err, where, key, "too many entries");
    for (const cJSON *e = (*arr)->child; e; e = e->next)
        if (!cJSON_IsObject(e)) return bad(err, where, key, "expected an array of objects");
    return VGEN_OK;
}

static int read_file_entry(const cJSON *e, const char *where, vgen_record_file *f, vgen_err *err) {
    double bytes = 0;
    int rc = get_str(e, "component", where, &f->component, err);
    if (!rc) rc = get_str(e, "path", where, &f->path, err);
    if (!rc) rc = get_uint(e, "bytes", where, RECORD_MAX_EXACT, &bytes, err);
    if (!rc) rc = get_str(e, "sha256", where, &f->sha256, err);
    f->bytes = (uint64_t)bytes;
    return rc;
}

static int read_component(const cJSON *e, const char *where, vgen_record_component *c, vgen_err *err) {
    int rc = get_str(e, "name", where, &c->name, err);
    if (!rc) rc = get_str(e, "weights", where, &c->weights, err);
    if (!rc) rc = get_str(e, "compute", where, &c->compute, err);
    if (!rc) rc = get_str(e, "device", where, &c->device, err);
    return rc;
}

static int read_model(const cJSON *root, vgen_run_record *r, vgen_err *err) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model"), *arr = NULL;
    if (!model) return VGEN_OK;
    if (!cJSON_IsObject(model)) return bad(err, "", "model", "expected an object");
    char where[48];
    int rc = get_str(model, "family", "model", &r->model_family, err);
    if (!rc) rc = get_list(model, "files", "model", VGEN_RECORD_MAX_FILES, &arr, &r->n_files, err);
    size_t i = 0;
    for (const cJSON *e = arr ? arr->child : NULL; !rc && e; e = e->next, i++) {
        snprintf(where, sizeof where, "model.files[%zu]", i);
        rc = read_file_entry(e, where, &r->files[i], err);
    }
    if (!rc) rc = get_list(model, "components", "model", VGEN_RECORD_MAX_COMPONENTS, &arr, &r->n_components, err);
    i = 0;
    for (const cJSON *e = arr ? arr->child : NULL; !rc && e; e = e->next, i++) {
        snprintf(where, sizeof where, "model.components[%zu]", i);
        rc = read_component(e, where, &r->components[i], err);
    }
    return rc;
}

static int read_fps(const cJSON *root, vgen_run_record *r, vgen_err *err) {
    const cJSON *fps = cJSON_GetObjectItemCaseSensitive(root, "fps");
    if (!fps) return VGEN_OK;
    if (!cJSON_IsObject(fps)) return bad(err, "", "fps", "expected an object {\"num\": N, \"den\": D}");
    int rc = get_int(fps, "num", "fps", &r->fps_num, err);
    return rc ? rc : get_int(fps, "den", "fps", &r->fps_den, err);
}

static int read_timings(const cJSON *root, vgen_run_record *r, vgen_err *err) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "timings_s");
    if (!t) return VGEN_OK;
    if (!cJSON_IsObject(t)) return bad(err, "", "timings_s", "expected an object of numbers");
    for (const cJSON *e = t->child; e; e = e->next) {
        if (r->n_timings == VGEN_RECORD_MAX_PHASES) return bad(err, "", "timings_s", "too many entries");
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            return bad(err, "timings_s", e->string, "expected a finite number");
        r->timings[r->n_timings].name = e->string;
        r->timings[r->n_timings++].seconds = e->valuedouble;
    }
    return VGEN_OK;
}

static int read_generation(const cJSON *root, vgen_run_record *r, vgen_err *err) {
    int rc = get_str(root, "prompt", "", &r->prompt, err);
    if (!rc) rc = get_str(root, "negative_prompt", "", &r->negative_prompt, err);
    if (!rc) rc = get_seed(root, &r->seed, err);
    if (!rc) rc = get_int(root, "width", "", &r->width, err);
    if (!rc) rc = get_int(root, "height", "", &r->height, err);
    if (!rc) rc = get_int(root, "frames", "", &r->frames, err);
    if (!rc) rc = read_fps(root, r, err);
    if (!rc) rc = get_int(root, "steps", "", &r->steps, err);
    if (!rc) rc = get_str(root, "sampler", "", &r->sampler, err);
    if (!rc) rc = get_double(root, "shift", &r->shift, err);
    if (!rc) rc = get_double(root, "guidance", &r->guidance, err);
    if (!rc) rc = get_str(root, "preset", "", &r->preset, err);
    if (!rc) rc = read_timings(root, r, err);
    return rc;
}

static int read_record(const cJSON *root, vgen_run_record *r, vgen_err *err) {
    if (!cJSON_IsObject(root)) return vgen_err_set(err, VGEN_ERR_MALFORMED, "run record: not a JSON object");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
    if (!cJSON_IsString(schema)) return bad(err, "", "schema", "missing or not a string");
    if (strcmp(schema->valuestring, VGEN_RECORD_SCHEMA) != 0)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "run record: schema \"%.64s\" is not \"%s\"",
                            schema->valuestring, VGEN_RECORD_SCHEMA);
    r->vgen_version = NULL;
    int rc = get_str(root, "vgen_version", "", &r->vgen_version, err);
    if (!rc) rc = read_model(root, r, err);
    return rc ? rc : read_generation(root, r, err);
}

int vgen_run_record_from_json(const char *text, size_t n, vgen_run_record *out, vgen_err *err) {
    if (!out || (!text && n)) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_run_record_from_json: NULL");
    *out = vgen_run_record_init();
    vgen_json_error je = {VGEN_JSON_OK, 0, NULL};
    cJSON *root = vgen_json_parse_strict((const uint8_t *)(text ? text : ""), n, &je);
    if (!root)
        return vgen_err_set(err, je.kind == VGEN_JSON_NO_MEMORY ? VGEN_ERR_OUT_OF_MEMORY : VGEN_ERR_MALFORMED,
                            "run record: invalid JSON at byte %zu (%s)", je.offset, je.why ? je.why : "syntax");
    int rc = read_record(root, out, err);
    if (rc) {
        cJSON_Delete(root);
        *out = vgen_run_record_init();
        return rc;
    }
    out->owner_ = root;
    return VGEN_OK;
}

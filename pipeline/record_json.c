/* record_json.c - the run record to JSON (cJSON), written atomically; equality; release. Parsing back is in
 * record_json_parse.c. */
#include "record_json.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "atomic_file.h"
#include "json_strict.h"

#define RECORD_MAX_EXACT (UINT64_C(1) << 53)

vgen_run_record vgen_run_record_init(void) {
    vgen_run_record r;
    memset(&r, 0, sizeof r);
    r.vgen_version = vgen_version_string();
    r.fps_num = 16;
    r.fps_den = 1;
    return r;
}

void vgen_run_record_release(vgen_run_record *r) {
    if (!r) return;
    cJSON_Delete(r->owner_);
    *r = vgen_run_record_init();
}

/* ---- checks before writing ---------------------------------------------------------------------------- */

static int check_text(const char *s, const char *what, size_t index, vgen_err *err) {
    if (!s || vgen_utf8_validate((const uint8_t *)s, strlen(s), NULL, NULL)) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "run record: %s (entry %zu) is not valid UTF-8", what, index);
}

static int check_number(double v, const char *what, vgen_err *err) {
    return isfinite(v) ? VGEN_OK
                       : vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "run record: %s is not finite (%g)", what, v);
}

static int check_lists(const vgen_run_record *r, vgen_err *err) {
    if (r->n_files > VGEN_RECORD_MAX_FILES || r->n_components > VGEN_RECORD_MAX_COMPONENTS ||
        r->n_timings > VGEN_RECORD_MAX_PHASES)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "run record: %zu files, %zu components, %zu timings "
                            "exceed the limits %d, %d, %d", r->n_files, r->n_components, r->n_timings,
                            VGEN_RECORD_MAX_FILES, VGEN_RECORD_MAX_COMPONENTS, VGEN_RECORD_MAX_PHASES);
    int rc = VGEN_OK;
    for (size_t i = 0; !rc && i < r->n_files; i++) {
        const vgen_record_file *f = &r->files[i];
        rc = check_text(f->component, "files.component", i, err);
        if (!rc) rc = check_text(f->path, "files.path", i, err);
        if (!rc) rc = check_text(f->sha256, "files.sha256", i, err);
        if (!rc && f->bytes > RECORD_MAX_EXACT)
            rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "run record: file %zu: %llu bytes exceeds 2^53", i,
                              (unsigned long long)f->bytes);
    }
    for (size_t i = 0; !rc && i < r->n_components; i++) {
        const vgen_record_component *c = &r->components[i];
        const char *texts[4] = {c->name, c->weights, c->compute, c->device};
        for (int k = 0; !rc && k < 4; k++) rc = check_text(texts[k], "components", i, err);
    }
    for (size_t i = 0; !rc && i < r->n_timings; i++) {
        if (!r->timings[i].name)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "run record: timing %zu has no name", i);
        rc = check_text(r->timings[i].name, "timings name", i, err);
        if (!rc) rc = check_number(r->timings[i].seconds, "a timing", err);
    }
    return rc;
}

static int check_record(const vgen_run_record *r, vgen_err *err) {
    const char *texts[6] = {r->vgen_version, r->model_family, r->prompt, r->negative_prompt, r->sampler, r->preset};
    const char *names[6] = {"vgen_version", "model.family", "prompt", "negative_prompt", "sampler", "preset"};
    int rc = VGEN_OK;
    for (int k = 0; !rc && k < 6; k++) rc = check_text(texts[k], names[k], 0, err);
    const int ints[6] = {r->width, r->height, r->frames, r->fps_num, r->fps_den, r->steps};
    for (int k = 0; !rc && k < 6; k++)
        if (ints[k] < 0)
            rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "run record: width, height, frames, fps and steps must "
                              "not be negative (%d)", ints[k]);
    if (!rc) rc = check_number(r->shift, "shift", err);
    if (!rc) rc = check_number(r->guidance, "guidance", err);
    return rc ? rc : check_lists(r, err);
}

/* ---- building the tree -------------------------------------------------------------------------------- */

/* Each add reports failure through *ok (allocation failures only: the record was checked). */
static void add_str(cJSON *obj, const char *key, const char *s, int *ok) {
    if (*ok) *ok = (s ? cJSON_AddStringToObject(obj, key, s) : cJSON_AddNullToObject(obj, key)) != NULL;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as exactly v (cJSON's own printer compares with a
 * tolerance and loses the last digits, e.g. of 0.1 + 0.2 or 2^53), with a '.' whatever the locale. */
static void format_double(double v, char text[32]) {
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, 32, "%.*g", digits, v);
        if (strtod(text, NULL) == v) break;
    }
    const char *point = localeconv()->decimal_point;
    char *p = point && point[0] && point[0] != '.' ? strchr(text, point[0]) : NULL;
    if (p) *p = '.';
}

static void add_raw(cJSON *obj, const char *key, const char *text, int *ok) {
    if (*ok) *ok = cJSON_AddRawToObject(obj, key, text) != NULL;
}

static void add_num(cJSON *obj, const char *key, double v, int *ok) {
    char text[32];
    format_double(v, text);
    add_raw(obj, key, text, ok);
}

static void add_u64(cJSON *obj, const char *key, uint64_t v, int *ok) {
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    add_raw(obj, key, text, ok);
}

static cJSON *add_obj(cJSON *parent, const char *key, int *ok) {
    cJSON *o = NULL;
    if (*ok) {
        o = key ? cJSON_AddObjectToObject(parent, key) : cJSON_CreateObject();
        if (o && !key && !cJSON_AddItemToArray(parent, o)) {
            cJSON_Delete(o);
            o = NULL;
        }
        *ok = o != NULL;
    }
    return o;
}

static void add_model(cJSON *root, const vgen_run_record *r, int *ok) {
    cJSON *model = add_obj(root, "model", ok);
    add_str(model, "family", r->model_family, ok);
    cJSON *files = *ok ? cJSON_AddArrayToObject(model, "files") : NULL;
    *ok = *ok && files;
    for (size_t i = 0; *ok && i < r->n_files; i++) {
        cJSON *f = add_obj(files, NULL, ok);
        add_str(f, "component", r->files[i].component, ok);
        add_str(f, "path", r->files[i].path, ok);
        add_u64(f, "bytes", r->files[i].bytes, ok);
        add_str(f, "sha256", r->files[i].sha256, ok);
    }
    cJSON *comps = *ok ? cJSON_AddArrayToObject(model, "components") : NULL;
    *ok = *ok && comps;
    for (size_t i = 0; *ok && i < r->n_components; i++) {
        cJSON *c = add_obj(comps, NULL, ok);
        add_str(c, "name", r->components[i].name, ok);
        add_str(c, "weights", r->components[i].weights, ok);
        add_str(c, "compute", r->components[i].compute, ok);
        add_str(c, "device", r->components[i].device, ok);
    }
}

static void add_seed(cJSON *root, uint64_t seed, int *ok) {
    if (seed <= RECORD_MAX_EXACT) {
        add_u64(root, "seed", seed, ok);
        return;
    }
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    add_str(root, "seed", text, ok);
}

static void add_generation(cJSON *root, const vgen_run_record *r, int *ok) {
    add_str(root, "prompt", r->prompt, ok);
    add_str(root, "negative_prompt", r->negative_prompt, ok);
    add_seed(root, r->seed, ok);
    add_u64(root, "width", (uint64_t)r->width, ok);
    add_u64(root, "height", (uint64_t)r->height, ok);
    add_u64(root, "frames", (uint64_t)r->frames, ok);
    cJSON *fps = add_obj(root, "fps", ok);
    add_u64(fps, "num", (uint64_t)r->fps_num, ok);
    add_u64(fps, "den", (uint64_t)r->fps_den, ok);
    add_u64(root, "steps", (uint64_t)r->steps, ok);
    add_str(root, "sampler", r->sampler, ok);
    add_num(root, "shift", r->shift, ok);
    add_num(root, "guidance", r->guidance, ok);
    add_str(root, "preset", r->preset, ok);
    cJSON *t = add_obj(root, "timings_s", ok);
    for (size_t i = 0; *ok && i < r->n_timings; i++)
        add_num(t, r->timings[i].name, r->timings[i].seconds, ok);
}

int vgen_run_record_to_json(const vgen_run_record *r, char **out, vgen_err *err) {
    if (!r || !out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_run_record_to_json: NULL argument");
    *out = NULL;
    int rc = check_record(r, err);
    if (rc) return rc;
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    add_str(root, "schema", VGEN_RECORD_SCHEMA, &ok);
    add_str(root, "vgen_version", r->vgen_version, &ok);
    add_model(root, r, &ok);
    add_generation(root, r, &ok);
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (text) *out = strdup(text);
    cJSON_free(text);
    return *out ? VGEN_OK : vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "run record: out of memory building the JSON");
}

int vgen_run_record_write(const vgen_run_record *r, const char *path, vgen_err *err) {
    char *text = NULL;
    int rc = vgen_run_record_to_json(r, &text, err);
    if (rc) return rc;
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", path ? path : "run record");
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    rc = path ? vgen_atomic_write_file(path, line, n + 1, err)
              : vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_run_record_write: NULL path");
    free(line);
    return rc;
}

/* ---- equality ----------------------------------------------------------------------------------------- */

static int str_eq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static int files_eq(const vgen_record_file *a, const vgen_record_file *b) {
    return str_eq(a->component, b->component) && str_eq(a->path, b->path) && a->bytes == b->bytes &&
           str_eq(a->sha256, b->sha256);
}

static int components_eq(const vgen_record_component *a, const vgen_record_component *b) {
    return str_eq(a->name, b->name) && str_eq(a->weights, b->weights) && str_eq(a->compute, b->compute) &&
           str_eq(a->device, b->device);
}

static int lists_eq(const vgen_run_record *a, const vgen_run_record *b) {
    if (a->n_files != b->n_files || a->n_components != b->n_components || a->n_timings != b->n_timings) return 0;
    for (size_t i = 0; i < a->n_files; i++)
        if (!files_eq(&a->files[i], &b->files[i])) return 0;
    for (size_t i = 0; i < a->n_components; i++)
        if (!components_eq(&a->components[i], &b->components[i])) return 0;
    for (size_t i = 0; i < a->n_timings; i++)
        if (!str_eq(a->timings[i].name, b->timings[i].name) || a->timings[i].seconds != b->timings[i].seconds)
            return 0;
    return 1;
}

int vgen_run_record_equal(const vgen_run_record *a, const vgen_run_record *b) {
    if (!a || !b) return a == b;
    return str_eq(a->vgen_version, b->vgen_version) && str_eq(a->model_family, b->model_family) &&
           str_eq(a->prompt, b->prompt) && str_eq(a->negative_prompt, b->negative_prompt) && a->seed == b->seed &&
           a->width == b->width && a->height == b->height && a->frames == b->frames && a->fps_num == b->fps_num &&
           a->fps_den == b->fps_den && a->steps == b->steps && str_eq(a->sampler, b->sampler) &&
           a->shift == b->shift && a->guidance == b->guidance && str_eq(a->preset, b->preset) && lists_eq(a, b);
}

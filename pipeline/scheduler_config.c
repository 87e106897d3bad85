/* scheduler_config.c - reading scheduler_config.json (see scheduler_config.h). */
#include "scheduler_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mapped_file.h"

#define SCHED_MAX_BYTES (1 << 20)

typedef struct sched_ctx {
    const cJSON *root;
    const char *display;
    vgen_err *err;
} sched_ctx;

/* A boolean key that, when present, must be `want`. */
static int need_bool(const sched_ctx *c, const char *key, int want) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
    if (!v || cJSON_IsNull(v)) return VGEN_OK;
    if (!cJSON_IsBool(v))
        return vgen_err_set(c->err, VGEN_ERR_MALFORMED, "%s: \"%s\" must be true or false", c->display, key);
    if (cJSON_IsTrue(v) != want)
        return vgen_err_set(c->err, VGEN_ERR_UNSUPPORTED, "%s: \"%s\" is %s; vgen runs only %s", c->display, key,
                            want ? "false" : "true", want ? "true" : "false");
    return VGEN_OK;
}

/* A string key that, when present, must be `want`. */
static int need_string(const sched_ctx *c, const char *key, const char *want) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
    if (!v || cJSON_IsNull(v)) return VGEN_OK;
    if (!cJSON_IsString(v))
        return vgen_err_set(c->err, VGEN_ERR_MALFORMED, "%s: \"%s\" must be a string", c->display, key);
    if (strcmp(v->valuestring, want) != 0)
        return vgen_err_set(c->err, VGEN_ERR_UNSUPPORTED, "%s: \"%s\" is \"%.64s\"; vgen runs only \"%s\"",
                            c->display, key, v->valuestring, want);
    return VGEN_OK;
}

/* A number key that, when present, must equal `want`. */
static int need_number(const sched_ctx *c, const char *key, double want) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
    if (!v || cJSON_IsNull(v)) return VGEN_OK;
    if (!cJSON_IsNumber(v))
        return vgen_err_set(c->err, VGEN_ERR_MALFORMED, "%s: \"%s\" must be a number", c->display, key);
    if (v->valuedouble != want)
        return vgen_err_set(c->err, VGEN_ERR_UNSUPPORTED, "%s: \"%s\" is %g; vgen runs only %g", c->display, key,
                            v->valuedouble, want);
    return VGEN_OK;
}

/* The shift under key (absent: 1.0, diffusers' default). */
static int read_shift(const sched_ctx *c, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
    *out = 1.0;
    if (!v || cJSON_IsNull(v)) return VGEN_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0.0)
        return vgen_err_set(c->err, VGEN_ERR_MALFORMED, "%s: \"%s\" must be a positive number", c->display, key);
    *out = v->valuedouble;
    return VGEN_OK;
}

static int check_common(const sched_ctx *c) {
    int rc = need_number(c, "num_train_timesteps", 1000);
    if (!rc) rc = need_bool(c, "thresholding", 0);
    if (!rc) rc = need_bool(c, "use_karras_sigmas", 0);
    if (!rc) rc = need_bool(c, "use_exponential_sigmas", 0);
    if (!rc) rc = need_bool(c, "use_beta_sigmas", 0);
    if (!rc) rc = need_bool(c, "use_dynamic_shifting", 0);
    return rc;
}

static int parse_unipc(const sched_ctx *c, vgen_sched_config *out) {
    int rc = need_bool(c, "use_flow_sigmas", 1);
    if (!rc && !cJSON_GetObjectItemCaseSensitive(c->root, "use_flow_sigmas"))
        rc = vgen_err_set(c->err, VGEN_ERR_UNSUPPORTED, "%s: \"use_flow_sigmas\" is missing; vgen runs UniPC only "
                          "with flow sigmas", c->display);
    if (!rc) rc = need_string(c, "prediction_type", "flow_prediction");
    if (!rc) rc = need_number(c, "solver_order", 2);
    if (!rc) rc = need_string(c, "solver_type", "bh2");
    if (!rc) rc = need_bool(c, "predict_x0", 1);
    if (!rc) rc = need_bool(c, "lower_order_final", 1);
    if (!rc) rc = need_string(c, "final_sigmas_type", "zero");
    const cJSON *dc = cJSON_GetObjectItemCaseSensitive(c->root, "disable_corrector");
    if (!rc && dc && !cJSON_IsNull(dc) && !(cJSON_IsArray(dc) && cJSON_GetArraySize(dc) == 0))
        rc = vgen_err_set(c->err, VGEN_ERR_UNSUPPORTED, "%s: \"disable_corrector\" must be an empty list",
                          c->display);
    out->kind = VGEN_SAMPLER_UNIPC;
    if (!rc) rc = read_shift(c, "flow_shift", &out->shift);
    return rc;
}

static int parse_euler(const sched_ctx *c, vgen_sched_config *out) {
    int rc = need_bool(c, "invert_sigmas", 0);
    if (!rc) rc = need_bool(c, "stochastic_sampling", 0);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(c->root, "shift_terminal");
    if (!rc && st && !cJSON_IsNull(st))
        rc = vgen_err_set(c->err, VGEN_ERR_UNSUPPORTED, "%s: \"shift_terminal\" must be null", c->display);
    out->kind = VGEN_SAMPLER_EULER;
    if (!rc) rc = read_shift(c, "shift", &out->shift);
    return rc;
}

int vgen_sched_config_parse(const char *json, size_t n, const char *display, vgen_sched_config *out, vgen_err *err) {
    cJSON *root = cJSON_ParseWithLength(json, n);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: not a JSON object", display);
    }
    const sched_ctx c = {root, display, err};
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(root, "_class_name");
    int rc = cJSON_IsString(cls) ? check_common(&c)
                                 : vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: \"_class_name\" is missing", display);
    if (!rc && strcmp(cls->valuestring, "UniPCMultistepScheduler") == 0) rc = parse_unipc(&c, out);
    else if (!rc && strcmp(cls->valuestring, "FlowMatchEulerDiscreteScheduler") == 0) rc = parse_euler(&c, out);
    else if (!rc)
        rc = vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: scheduler \"%.64s\" is not supported (UniPCMultistep"
                          "Scheduler or FlowMatchEulerDiscreteScheduler)", display, cls->valuestring);
    cJSON_Delete(root);
    return rc;
}

int vgen_sched_config_read(const char *path, vgen_sched_config *out, vgen_err *err) {
    char file[4096];
    struct stat st;
    int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    int n = snprintf(file, sizeof file, is_dir ? "%s/scheduler_config.json" : "%s", path);
    if (n < 0 || (size_t)n >= sizeof file)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "scheduler config path too long: %.200s", path);
    vgen_mapped_file f;
    int rc = vgen_mapped_file_open(file, NULL, &f, err);
    if (rc) return rc;
    if (f.size > SCHED_MAX_BYTES) rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: larger than 1 MiB", file);
    else rc = vgen_sched_config_parse((const char *)f.data, f.size, file, out, err);
    vgen_mapped_file_close(&f);
    return rc;
}

/* preset.c - reading and strictly validating presets (schema in preset.h). */
#include "preset.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "quant_rules.h"

#define PRESET_MAX_BYTES (1 << 20)

static const char *const k_components[VGEN_COMPONENT_COUNT] = {"text_encoder", "dit", "vae"};

const char *vgen_component_name(vgen_component c) {
    return (c >= 0 && c < VGEN_COMPONENT_COUNT) ? k_components[c] : "?";
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_keys(const cJSON *obj, const char *const *allowed, const char *where, const char *path,
                      vgen_err *err) {
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(it->string, *a) == 0;
        if (!ok) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: unknown key \"%s%s\"", path, where, it->string);
    }
    return VGEN_OK;
}

static const cJSON *get(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }

static int need_string(const cJSON *obj, const char *key, const char *where, const char *path, const char **out,
                       vgen_err *err) {
    const cJSON *v = get(obj, key);
    if (!v) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: missing key \"%s%s\"", path, where, key);
    if (!cJSON_IsString(v))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%s%s\" must be a string", path, where, key);
    *out = v->valuestring;
    return VGEN_OK;
}

static int pick(const char *value, const char *const *choices, const char *key, const char *path, int *out,
                vgen_err *err) {
    char list[160] = "";
    for (int i = 0; choices[i]; i++) {
        if (strcmp(value, choices[i]) == 0) {
            *out = i;
            return VGEN_OK;
        }
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", choices[i]);
    }
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%s\" is \"%s\", expected one of %s", path, key, value,
                        list);
}

static int parse_name(const cJSON *root, const char *path, vgen_preset *p, vgen_err *err) {
    const char *name = NULL;
    int rc = need_string(root, "name", "", path, &name, err);
    if (rc) return rc;
    size_t n = strlen(name);
    int ok = n >= 1 && n <= 32;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-';
    if (!ok)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"name\" must be 1-32 of [a-z0-9_-], got \"%.40s\"",
                            path, name);
    memcpy(p->name, name, n + 1);
    const cJSON *d = get(root, "description");
    if (d && !cJSON_IsString(d))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"description\" must be a string", path);
    if (d) snprintf(p->description, sizeof p->description, "%s", d->valuestring);
    return VGEN_OK;
}

static int positive_number(const cJSON *obj, const char *key, const char *where, const char *path, double *out,
                           int required, vgen_err *err) {
    const cJSON *v = get(obj, key);
    if (!v && !required) return VGEN_OK;
    if (!v) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: missing key \"%s%s\"", path, where, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0 || v->valuedouble > 1e6)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%s%s\" must be a positive number of GB", path,
                            where, key);
    *out = v->valuedouble;
    return VGEN_OK;
}

static int parse_cc(const cJSON *target, const char *path, vgen_preset *p, vgen_err *err) {
    const cJSON *v = get(target, "compute_capability");
    if (!v) return VGEN_OK;
    int major, minor;
    char tail;
    if (!cJSON_IsString(v) || sscanf(v->valuestring, "%d.%d%c", &major, &minor, &tail) != 2 || major < 5 ||
        major > 20 || minor < 0 || minor > 9)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                            "%s: \"target.compute_capability\" must be a string like \"8.9\"", path);
    if (p->device != VGEN_DEVICE_CUDA)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"target.compute_capability\" needs device cuda", path);
    p->cc_major = major;
    p->cc_minor = minor;
    return VGEN_OK;
}

static int parse_fp8_activations(const cJSON *target, const char *path, vgen_preset *p, vgen_err *err) {
    const cJSON *v = get(target, "fp8_activations");
    if (!v) return VGEN_OK;
    if (!cJSON_IsBool(v))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"target.fp8_activations\" must be true or false",
                            path);
    if (p->device != VGEN_DEVICE_CUDA)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"target.fp8_activations\" needs device cuda", path);
    p->fp8_activations = cJSON_IsTrue(v);
    return VGEN_OK;
}

static int parse_target(const cJSON *root, const char *path, vgen_preset *p, vgen_err *err) {
    static const char *const keys[] = {"device", "memory_budget_gb", "host_memory_gb", "compute_capability",
                                       "fp8_activations", NULL};
    static const char *const devices[] = {"cpu", "cuda", NULL};
    const cJSON *t = get(root, "target");
    if (!cJSON_IsObject(t)) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"target\" must be an object", path);
    int rc = check_keys(t, keys, "target.", path, err);
    const char *dev = NULL;
    int d = 0;
    if (!rc) rc = need_string(t, "device", "target.", path, &dev, err);
    if (!rc) rc = pick(dev, devices, "target.device", path, &d, err);
    p->device = (vgen_device)d;
    if (!rc) rc = positive_number(t, "memory_budget_gb", "target.", path, &p->memory_budget_gb, 1, err);
    if (!rc) rc = positive_number(t, "host_memory_gb", "target.", path, &p->host_memory_gb, 0, err);
    if (!rc) rc = parse_cc(t, path, p, err);
    if (!rc) rc = parse_fp8_activations(t, path, p, err);
    return rc;
}

static int parse_weights(const char *s, const char *where, const char *path, vgen_wformat *out, vgen_err *err) {
    if (strcmp(s, "f32") == 0) {
        *out = VGEN_WF_F32;
        return VGEN_OK;
    }
    if (vgen_quant_parse_format(s, out, err) == VGEN_OK) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%sweights\" is \"%s\", not a weight format (f32, bf16, "
                        "f16, int8, fp8, fp8-tensor, int4, int4-g64, int4-g128, int4-zp, ...)", path, where, s);
}

static int parse_tile(const cJSON *c, const char *where, const char *path, vgen_component_plan *cp, vgen_err *err) {
    const cJSON *t = get(c, "tile");
    if (!t) return VGEN_OK;
    if (cJSON_IsString(t) && strcmp(t->valuestring, "auto") == 0) {
        cp->tile_auto = 1;
        return VGEN_OK;
    }
    if (cJSON_IsString(t) && strcmp(t->valuestring, "none") == 0) return VGEN_OK;
    const cJSON *w = cJSON_GetArrayItem(t, 0), *h = cJSON_GetArrayItem(t, 1);
    if (cJSON_IsArray(t) && cJSON_GetArraySize(t) == 2 && cJSON_IsNumber(w) && cJSON_IsNumber(h) &&
        w->valuedouble >= 64 && h->valuedouble >= 64 && w->valuedouble <= 8192 && h->valuedouble <= 8192 &&
        w->valuedouble == (int)w->valuedouble && h->valuedouble == (int)h->valuedouble &&
        (int)w->valuedouble % 16 == 0 && (int)h->valuedouble % 16 == 0) {
        cp->tile_w = (int)w->valuedouble;
        cp->tile_h = (int)h->valuedouble;
        return VGEN_OK;
    }
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%stile\" must be \"auto\", \"none\" or [W, H] with "
                        "multiples of 16 in 64..8192", path, where);
}

static int parse_offload(const cJSON *c, const char *where, const char *path, vgen_component comp,
                         vgen_component_plan *cp, vgen_err *err) {
    static const char *const offloads[] = {"keep", "free_after_use", "stream", NULL};
    const char *s = NULL;
    int o = 0;
    int rc = need_string(c, "offload", where, path, &s, err);
    if (!rc) rc = pick(s, offloads, "offload", path, &o, err);
    if (rc) return rc;
    cp->offload = (vgen_offload)o;
    const cJSON *rb = get(c, "resident_blocks");
    if (cp->offload == VGEN_OFFLOAD_STREAM && comp == VGEN_COMPONENT_VAE)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%soffload\": the vae cannot stream blocks", path, where);
    if (cp->offload != VGEN_OFFLOAD_STREAM && rb)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%sresident_blocks\" needs offload \"stream\"", path,
                            where);
    if (cp->offload == VGEN_OFFLOAD_STREAM) {
        if (!cJSON_IsNumber(rb) || rb->valuedouble < 1 || rb->valuedouble > 1000 ||
            rb->valuedouble != (int)rb->valuedouble)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%sresident_blocks\" must be an integer 1..1000 "
                                "with offload \"stream\"", path, where);
        cp->resident_blocks = (int)rb->valuedouble;
    }
    return VGEN_OK;
}

static int parse_component(const cJSON *comps, vgen_component comp, const char *path, vgen_preset *p, vgen_err *err) {
    static const char *const keys[] = {"weights", "compute", "device", "offload", "resident_blocks", "tile", NULL};
    static const char *const computes[] = {"f32", "bf16", NULL};
    static const char *const devices[] = {"cpu", "cuda", NULL};
    char where[48];
    snprintf(where, sizeof where, "components.%s.", k_components[comp]);
    const cJSON *c = get(comps, k_components[comp]);
    if (!cJSON_IsObject(c))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"components.%s\" is missing or not an object", path,
                            k_components[comp]);
    vgen_component_plan *cp = &p->components[comp];
    int rc = check_keys(c, keys, where, path, err);
    const char *s = NULL;
    int v = 0;
    if (!rc) rc = need_string(c, "weights", where, path, &s, err);
    if (!rc) rc = parse_weights(s, where, path, &cp->weights, err);
    if (!rc) rc = need_string(c, "compute", where, path, &s, err);
    if (!rc) rc = pick(s, computes, "compute", path, &v, err);
    cp->compute = v ? VGEN_DTYPE_BF16 : VGEN_DTYPE_F32;
    if (!rc) rc = need_string(c, "device", where, path, &s, err);
    if (!rc) rc = pick(s, devices, "device", path, &v, err);
    cp->device = (vgen_device)v;
    if (!rc && cp->device == VGEN_DEVICE_CUDA && p->device != VGEN_DEVICE_CUDA)
        rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%sdevice\" is cuda but target.device is cpu", path, where);
    if (!rc) rc = parse_offload(c, where, path, comp, cp, err);
    if (!rc && comp != VGEN_COMPONENT_VAE && get(c, "tile"))
        rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"%stile\" applies to the vae only", path, where);
    if (!rc) rc = parse_tile(c, where, path, cp, err);
    return rc;
}

static int parse_root(const cJSON *root, const char *path, vgen_preset *p, vgen_err *err) {
    static const char *const keys[] = {"name", "description", "target", "components", NULL};
    static const char *const comp_keys[] = {"text_encoder", "dit", "vae", NULL};
    if (!cJSON_IsObject(root)) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: not a JSON object", path);
    int rc = check_keys(root, keys, "", path, err);
    if (!rc) rc = parse_name(root, path, p, err);
    if (!rc) rc = parse_target(root, path, p, err);
    const cJSON *comps = get(root, "components");
    if (!rc && !cJSON_IsObject(comps))
        rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: \"components\" is missing or not an object", path);
    if (!rc) rc = check_keys(comps, comp_keys, "components.", path, err);
    for (int c = 0; !rc && c < VGEN_COMPONENT_COUNT; c++) rc = parse_component(comps, (vgen_component)c, path, p, err);
    return rc;
}

int vgen_preset_parse(const char *json, size_t len, const char *path, vgen_preset *out, vgen_err *err) {
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", path);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = end && end >= json ? (size_t)(end - json) : 0;
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: not valid JSON (near byte %zu)", path, at);
    }
    int rc = parse_root(root, path, out, err);
    cJSON_Delete(root);
    return rc;
}

int vgen_preset_read(const char *path, vgen_preset *out, vgen_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return vgen_err_set(err, errno == ENOENT ? VGEN_ERR_NOT_FOUND : VGEN_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = malloc(PRESET_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, PRESET_MAX_BYTES + 1, f) : 0;
    int rd_err = ferror(f);
    fclose(f);
    int rc;
    if (!buf) rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: cannot allocate a read buffer", path);
    else if (rd_err) rc = vgen_err_set(err, VGEN_ERR_IO, "%s: read error", path);
    else if (n > PRESET_MAX_BYTES) rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: larger than 1 MiB", path);
    else rc = vgen_preset_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}

static int looks_like_path(const char *s) {
    size_t n = strlen(s);
    return strchr(s, '/') != NULL || (n > 5 && strcmp(s + n - 5, ".json") == 0);
}

int vgen_preset_find(const char *name_or_path, const char *const *dirs, size_t n_dirs, vgen_preset *out,
                     vgen_err *err) {
    if (!name_or_path || !*name_or_path) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "empty preset name");
    if (looks_like_path(name_or_path)) return vgen_preset_read(name_or_path, out, err);
    for (size_t i = 0; i < n_dirs; i++) {
        char path[1024];
        if (snprintf(path, sizeof path, "%s/%s.json", dirs[i], name_or_path) >= (int)sizeof path) continue;
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        fclose(f);
        return vgen_preset_read(path, out, err);
    }
    return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "no preset named \"%s\" (looked in %zu director%s; `vgen presets` "
                        "lists them)", name_or_path, n_dirs, n_dirs == 1 ? "y" : "ies");
}

/* ---- public API ---- */

vgen_status vgen_preset_load(vgen_context *ctx, const char *name_or_path, const char *const *search_dirs,
                             size_t n_dirs, vgen_preset **out) {
    if (!ctx || !out) return VGEN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    vgen_err_clear(&ctx->err);
    vgen_preset *p = calloc(1, sizeof *p);
    if (!p) return vgen_ctx_fail(ctx, &(vgen_err){VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a preset"});
    int rc = vgen_preset_find(name_or_path, search_dirs, n_dirs, p, &ctx->err);
    if (rc) {
        free(p);
        return vgen_ctx_fail(ctx, &ctx->err);
    }
    *out = p;
    return VGEN_OK;
}

void vgen_preset_free(vgen_preset **p) {
    if (!p) return;
    free(*p);
    *p = NULL;
}

const char *vgen_preset_name(const vgen_preset *p) { return p ? p->name : ""; }
const char *vgen_preset_description(const vgen_preset *p) { return p ? p->description : ""; }
const char *vgen_preset_path(const vgen_preset *p) { return p ? p->path : ""; }

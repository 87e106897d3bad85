/* wan_config.c - the DiT configuration: diffusers' config.json (table-driven), defaults, and validation. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_strict.h"
#include "mapped_file.h"
#include "wan_dit.h"

void vgen_wan_config_defaults(vgen_wan_config *c) {
    *c = (vgen_wan_config){.heads = 40, .head_dim = 128, .layers = 40, .ffn_dim = 13824, .text_dim = 4096,
                           .freq_dim = 256, .in_channels = 16, .out_channels = 16, .patch = {1, 2, 2},
                           .eps = 1e-6f, .rope_max_seq_len = 1024};
    c->dim = c->heads * c->head_dim;
}

/* Integer keys: name, field, inclusive range. */
typedef struct int_key {
    const char *key;
    size_t offset;
    int64_t min, max;
    int null_means_in; /* null is allowed and means "same as in_channels" (out_channels) */
} int_key;

static const int_key k_int_keys[] = {
    {"num_attention_heads", offsetof(vgen_wan_config, heads), 1, 1024, 0},
    {"attention_head_dim", offsetof(vgen_wan_config, head_dim), 6, 1024, 0},
    {"num_layers", offsetof(vgen_wan_config, layers), 1, 1000, 0},
    {"ffn_dim", offsetof(vgen_wan_config, ffn_dim), 1, 1 << 20, 0},
    {"text_dim", offsetof(vgen_wan_config, text_dim), 1, 1 << 20, 0},
    {"freq_dim", offsetof(vgen_wan_config, freq_dim), 2, 1 << 16, 0},
    {"in_channels", offsetof(vgen_wan_config, in_channels), 1, 1 << 12, 0},
    {"out_channels", offsetof(vgen_wan_config, out_channels), 1, 1 << 12, 1},
    {"rope_max_seq_len", offsetof(vgen_wan_config, rope_max_seq_len), 1, 1 << 20, 0},
};

/* Keys whose only supported value is null (or absence): they switch on I2V / Wan2.2 parts vgen does not run. */
static const char *const k_null_keys[] = {"image_dim", "added_kv_proj_dim", "pos_embed_seq_len"};

static const char *k_all_keys[] = {"num_attention_heads", "attention_head_dim", "num_layers", "ffn_dim", "text_dim",
                                   "freq_dim", "in_channels", "out_channels", "rope_max_seq_len", "image_dim",
                                   "added_kv_proj_dim", "pos_embed_seq_len", "patch_size", "eps", "qk_norm",
                                   "cross_attn_norm", "_class_name"};

static void value_str(const cJSON *v, char *buf, size_t size) {
    char *s = cJSON_PrintUnformatted(v);
    snprintf(buf, size, "%.60s", s ? s : "?");
    cJSON_free(s);
}

static int bad_value(const char *display, const cJSON *v, const char *key, int code, const char *want,
                     vgen_err *err) {
    char got[64];
    value_str(v, got, sizeof got);
    return vgen_err_set(err, code, "%s: \"%s\" is %s, expected %s", display, key, got, want);
}

static int as_integer(const cJSON *v, int64_t min, int64_t max, int64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d == floor(d)) || d < (double)min || d > (double)max) return 0;
    *out = (int64_t)d;
    return 1;
}

static int parse_ints(const cJSON *root, const char *display, vgen_wan_config *c, int *out_is_null, vgen_err *err) {
    for (size_t i = 0; i < sizeof k_int_keys / sizeof k_int_keys[0]; i++) {
        const int_key *k = &k_int_keys[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, k->key);
        if (!v) continue;
        if (k->null_means_in && cJSON_IsNull(v)) {
            *out_is_null = 1;
            continue;
        }
        int64_t val;
        if (!as_integer(v, k->min, k->max, &val)) {
            char want[96];
            snprintf(want, sizeof want, "an integer in [%lld, %lld]", (long long)k->min, (long long)k->max);
            return bad_value(display, v, k->key, VGEN_ERR_MALFORMED, want, err);
        }
        *(int64_t *)(void *)((char *)c + k->offset) = val;
        if (k->null_means_in) *out_is_null = 0;
    }
    return VGEN_OK;
}

static int parse_null_keys(const cJSON *root, const char *display, vgen_err *err) {
    for (size_t i = 0; i < sizeof k_null_keys / sizeof k_null_keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, k_null_keys[i]);
        if (v && !cJSON_IsNull(v))
            return bad_value(display, v, k_null_keys[i], VGEN_ERR_UNSUPPORTED,
                             "null (image conditioning / Wan2.2 parts are not supported)", err);
    }
    return VGEN_OK;
}

static int parse_patch(const cJSON *root, const char *display, vgen_wan_config *c, vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "patch_size");
    if (!v) return VGEN_OK;
    int64_t p[3];
    int ok = cJSON_IsArray(v) && cJSON_GetArraySize(v) == 3;
    for (int i = 0; ok && i < 3; i++) ok = as_integer(cJSON_GetArrayItem(v, i), 1, 64, &p[i]);
    if (!ok) return bad_value(display, v, "patch_size", VGEN_ERR_MALFORMED, "an array of 3 positive integers", err);
    if (p[0] != 1 || p[1] != 2 || p[2] != 2)
        return bad_value(display, v, "patch_size", VGEN_ERR_UNSUPPORTED, "[1, 2, 2]", err);
    memcpy(c->patch, p, sizeof p);
    return VGEN_OK;
}

static int parse_misc(const cJSON *root, const char *display, vgen_wan_config *c, vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "eps");
    if (v) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble < 1))
            return bad_value(display, v, "eps", VGEN_ERR_MALFORMED, "a number in (0, 1)", err);
        c->eps = (float)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "qk_norm");
    if (v && !(cJSON_IsString(v) && strcmp(v->valuestring, "rms_norm_across_heads") == 0))
        return bad_value(display, v, "qk_norm", cJSON_IsString(v) || cJSON_IsNull(v) ? VGEN_ERR_UNSUPPORTED
                                                                                       : VGEN_ERR_MALFORMED,
                         "\"rms_norm_across_heads\"", err);
    v = cJSON_GetObjectItemCaseSensitive(root, "cross_attn_norm");
    if (v && !cJSON_IsTrue(v))
        return bad_value(display, v, "cross_attn_norm", cJSON_IsBool(v) ? VGEN_ERR_UNSUPPORTED : VGEN_ERR_MALFORMED,
                         "true", err);
    v = cJSON_GetObjectItemCaseSensitive(root, "_class_name");
    if (v && !(cJSON_IsString(v) && strcmp(v->valuestring, "WanTransformer3DModel") == 0))
        return bad_value(display, v, "_class_name", VGEN_ERR_UNSUPPORTED, "\"WanTransformer3DModel\"", err);
    return VGEN_OK;
}

/* json_strict does not refuse duplicate keys; a config with two values for one key is ambiguous. */
static int check_duplicates(const cJSON *root, const char *display, vgen_err *err) {
    for (size_t i = 0; i < sizeof k_all_keys / sizeof k_all_keys[0]; i++) {
        int n = 0;
        for (const cJSON *it = root->child; it; it = it->next) n += it->string && !strcmp(it->string, k_all_keys[i]);
        if (n > 1) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: key \"%s\" appears %d times", display,
                                       k_all_keys[i], n);
    }
    return VGEN_OK;
}

static int parse_root(const cJSON *root, const char *display, vgen_wan_config *c, vgen_err *err) {
    int out_null = 0;
    int rc = check_duplicates(root, display, err);
    if (!rc) rc = parse_ints(root, display, c, &out_null, err);
    if (!rc) rc = parse_null_keys(root, display, err);
    if (!rc) rc = parse_patch(root, display, c, err);
    if (!rc) rc = parse_misc(root, display, c, err);
    if (rc) return rc;
    if (out_null) c->out_channels = c->in_channels;
    if (c->head_dim % 2)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: \"attention_head_dim\" is %lld, expected an even number",
                            display, (long long)c->head_dim);
    if (c->freq_dim % 2)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: \"freq_dim\" is %lld, expected an even number", display,
                            (long long)c->freq_dim);
    c->dim = c->heads * c->head_dim;
    return VGEN_OK;
}

int vgen_wan_config_parse(const char *text, size_t n, const char *display, vgen_wan_config *c, vgen_err *err) {
    if (!display) display = "config.json";
    vgen_wan_config_defaults(c);
    vgen_json_error je = {0};
    cJSON *root = vgen_json_parse_strict((const uint8_t *)text, n, &je);
    if (!root)
        return vgen_err_set(err, je.kind == VGEN_JSON_NO_MEMORY ? VGEN_ERR_OUT_OF_MEMORY : VGEN_ERR_MALFORMED,
                            "%s: invalid JSON at byte %zu (%s)", display, je.offset, je.why ? je.why : "syntax");
    int rc = cJSON_IsObject(root) ? parse_root(root, display, c, err)
                                  : vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: not a JSON object", display);
    cJSON_Delete(root);
    return rc;
}

int vgen_wan_config_read(const char *path, vgen_wan_config *c, vgen_err *err) {
    vgen_mapped_file f = {0};
    int rc = vgen_mapped_file_open(path, NULL, &f, err);
    if (rc) return rc;
    rc = vgen_wan_config_parse((const char *)f.data, f.size, path, c, err);
    vgen_mapped_file_close(&f);
    return rc;
}

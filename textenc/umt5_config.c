/* umt5_config.c - the UMT5 configuration: transformers' config.json (table-driven), defaults and validation. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_strict.h"
#include "mapped_file.h"
#include "umt5.h"

void vgen_umt5_config_defaults(vgen_umt5_config *c) {
    *c = (vgen_umt5_config){.vocab = 256384, .d_model = 4096, .d_kv = 64, .heads = 64, .layers = 24, .d_ff = 10240,
                            .buckets = 32, .max_distance = 128, .eps = 1e-6f};
}

typedef struct int_key {
    const char *key;
    size_t offset;
    int64_t min, max;
} int_key;

static const int_key k_int_keys[] = {
    {"vocab_size", offsetof(vgen_umt5_config, vocab), 1, INT64_C(1) << 24},
    {"d_model", offsetof(vgen_umt5_config, d_model), 1, 1 << 16},
    {"d_kv", offsetof(vgen_umt5_config, d_kv), 1, 1 << 12},
    {"num_heads", offsetof(vgen_umt5_config, heads), 1, 1 << 10},
    {"num_layers", offsetof(vgen_umt5_config, layers), 1, 1000},
    {"d_ff", offsetof(vgen_umt5_config, d_ff), 1, 1 << 20},
    {"relative_attention_num_buckets", offsetof(vgen_umt5_config, buckets), 2, 1 << 12},
    {"relative_attention_max_distance", offsetof(vgen_umt5_config, max_distance), 1, 1 << 20},
};

static const char *const k_all_keys[] = {"vocab_size", "d_model", "d_kv", "num_heads", "num_layers", "d_ff",
                                         "relative_attention_num_buckets", "relative_attention_max_distance",
                                         "layer_norm_epsilon", "feed_forward_proj"};

/* feed_forward_proj values whose activation is the tanh GELU (transformers maps "gated-gelu" to gelu_new). */
static const char *const k_gated_gelu[] = {"gated-gelu", "gated-gelu_new", "gated-gelu_pytorch_tanh"};

static int bad_value(const char *display, const cJSON *v, const char *key, int code, const char *want,
                     vgen_err *err) {
    char *s = cJSON_PrintUnformatted(v);
    vgen_err_set(err, code, "%s: \"%s\" is %.60s, expected %s", display, key, s ? s : "?", want);
    cJSON_free(s);
    return code;
}

static int as_integer(const cJSON *v, int64_t min, int64_t max, int64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d == floor(d)) || d < (double)min || d > (double)max) return 0;
    *out = (int64_t)d;
    return 1;
}

static int parse_ints(const cJSON *root, const char *display, vgen_umt5_config *c, vgen_err *err) {
    for (size_t i = 0; i < sizeof k_int_keys / sizeof k_int_keys[0]; i++) {
        const int_key *k = &k_int_keys[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, k->key);
        int64_t val;
        if (!v) continue;
        if (!as_integer(v, k->min, k->max, &val)) {
            char want[96];
            snprintf(want, sizeof want, "an integer in [%lld, %lld]", (long long)k->min, (long long)k->max);
            return bad_value(display, v, k->key, VGEN_ERR_MALFORMED, want, err);
        }
        *(int64_t *)(void *)((char *)c + k->offset) = val;
    }
    return VGEN_OK;
}

static int parse_misc(const cJSON *root, const char *display, vgen_umt5_config *c, vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
    if (v) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble < 1))
            return bad_value(display, v, "layer_norm_epsilon", VGEN_ERR_MALFORMED, "a number in (0, 1)", err);
        c->eps = (float)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "feed_forward_proj");
    if (!v) return VGEN_OK;
    if (!cJSON_IsString(v)) return bad_value(display, v, "feed_forward_proj", VGEN_ERR_MALFORMED, "a string", err);
    for (size_t i = 0; i < sizeof k_gated_gelu / sizeof k_gated_gelu[0]; i++)
        if (strcmp(v->valuestring, k_gated_gelu[i]) == 0) return VGEN_OK;
    return bad_value(display, v, "feed_forward_proj", VGEN_ERR_UNSUPPORTED,
                     "\"gated-gelu\" (the gated tanh-GELU FFN of UMT5)", err);
}

/* json_strict does not refuse duplicate keys; a config with two values for one key is ambiguous. */
static int check_duplicates(const cJSON *root, const char *display, vgen_err *err) {
    for (size_t i = 0; i < sizeof k_all_keys / sizeof k_all_keys[0]; i++) {
        int n = 0;
        for (const cJSON *it = root->child; it; it = it->next) n += it->string && !strcmp(it->string, k_all_keys[i]);
        if (n > 1)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: key \"%s\" appears %d times", display, k_all_keys[i],
                                n);
    }
    return VGEN_OK;
}

static int parse_root(const cJSON *root, const char *display, vgen_umt5_config *c, vgen_err *err) {
    int rc = check_duplicates(root, display, err);
    if (!rc) rc = parse_ints(root, display, c, err);
    if (!rc) rc = parse_misc(root, display, c, err);
    if (rc) return rc;
    if (c->buckets % 2)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: \"relative_attention_num_buckets\" is %lld, expected an "
                            "even number (half per direction)", display, (long long)c->buckets);
    return VGEN_OK;
}

int vgen_umt5_config_parse(const char *text, size_t n, const char *display, vgen_umt5_config *c, vgen_err *err) {
    if (!display) display = "config.json";
    vgen_umt5_config_defaults(c);
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

int vgen_umt5_config_read(const char *path, vgen_umt5_config *c, vgen_err *err) {
    vgen_mapped_file f = {0};
    int rc = vgen_mapped_file_open(path, NULL, &f, err);
    if (rc) return rc;
    rc = vgen_umt5_config_parse((const char *)f.data, f.size, path, c, err);
    vgen_mapped_file_close(&f);
    return rc;
}

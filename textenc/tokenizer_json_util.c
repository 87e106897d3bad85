/* tokenizer_json_util.c - cJSON accessors and base64 for the tokenizer.json loader. */
#include "tokenizer_json_util.h"

#include <math.h>
#include <stdio.h>

int vgen_json_req_string(const cJSON *obj, const char *key, const char *what, const char *ctx, const char **out,
                         vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v) || !v->valuestring)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: %s.%s must be a string", what, ctx, key);
    *out = v->valuestring;
    return VGEN_OK;
}

int vgen_json_opt_bool(const cJSON *obj, const char *key, int dflt, const char *what, const char *ctx, int *out,
                       vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) {
        *out = dflt;
        return VGEN_OK;
    }
    if (!cJSON_IsBool(v)) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: %s.%s must be a boolean", what, ctx, key);
    *out = cJSON_IsTrue(v);
    return VGEN_OK;
}

int vgen_json_int(const cJSON *item, int64_t lo, int64_t hi, const char *what, const char *ctx, int64_t *out,
                  vgen_err *err) {
    double d = cJSON_IsNumber(item) ? item->valuedouble : NAN;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: %s must be an integer in [%lld, %lld]", what, ctx,
                            (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return VGEN_OK;
}

const char *vgen_json_printable(const char *s, char *buf, size_t size) {
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F) o += (size_t)snprintf(buf + o, size - o, "\\x%02X", c);
        else buf[o++] = (char)c;
        if (s[i + 1] && o + 8 >= size) o += (size_t)snprintf(buf + o, size - o, "...");
    }
    buf[o < size ? o : size - 1] = 0;
    return buf;
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* One group of four characters; pad is how many '=' end it (only in the last group). */
static int b64_group(const char *g, int pad, vgen_bytes *out) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int x = k < 4 - pad ? b64_value(g[k]) : 0;
        if (x < 0) return 0;
        v = v << 6 | (uint32_t)x;
    }
    if ((pad == 1 && (v & 0xFF)) || (pad == 2 && (v & 0xFFFF))) return 0; /* non-canonical trailing bits */
    uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return vgen_bytes_append(out, b, (size_t)(3 - pad)) == VGEN_OK ? 1 : -1;
}

int vgen_base64_decode(const char *s, size_t n, const char *what, vgen_bytes *out, vgen_err *err) {
    if (n % 4 != 0) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: base64 length %zu is not a multiple of 4", what, n);
    for (size_t i = 0; i < n; i += 4) {
        int pad = 0;
        if (i + 4 == n) pad = s[i + 3] == '=' ? (s[i + 2] == '=' ? 2 : 1) : 0;
        int ok = b64_group(s + i, pad, out);
        if (ok < 0) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory decoding base64", what);
        if (!ok) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: invalid base64 at character %zu", what, i);
    }
    return VGEN_OK;
}

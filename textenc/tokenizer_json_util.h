/* tokenizer_json_util.h - small checked accessors for reading tokenizer.json with cJSON, and base64. */
#ifndef VGEN_TEXTENC_TOKENIZER_JSON_UTIL_H
#define VGEN_TEXTENC_TOKENIZER_JSON_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "utf8.h"

/* Each returns VGEN_OK or VGEN_ERR_MALFORMED "<what>: <ctx>.<key> ..." on a missing key or a wrong type. */

/* The string member key of obj (required). */
int vgen_json_req_string(const cJSON *obj, const char *key, const char *what, const char *ctx, const char **out,
                         vgen_err *err);

/* The boolean member key of obj, or dflt when absent or null. */
int vgen_json_opt_bool(const cJSON *obj, const char *key, int dflt, const char *what, const char *ctx, int *out,
                       vgen_err *err);

/* An integer-valued number in [lo, hi]. */
int vgen_json_int(const cJSON *item, int64_t lo, int64_t hi, const char *what, const char *ctx, int64_t *out,
                  vgen_err *err);

/* s made fit for a one-line message: control bytes become \xNN, and it is cut to fit buf[size] ("..."). */
const char *vgen_json_printable(const char *s, char *buf, size_t size);

/* Decodes standard base64 with padding (canonical: unused bits zero), as the Rust base64 crate's STANDARD
 * engine requires, appending to *out. VGEN_ERR_MALFORMED on anything else. */
int vgen_base64_decode(const char *s, size_t n, const char *what, vgen_bytes *out, vgen_err *err);

#endif

/* st_build.h - builds safetensors byte strings for tests: files from a header text, and one malformed file per
 * parser rule (STB_MALFORMED, with the status and message substring the reader must give), so the unit test,
 * the fuzz corpus and CLI checks (`vgen info malformed_<rule>.safetensors`) share one list.
 * Header-only helpers: everything is static. */
#ifndef VGEN_TESTS_ST_BUILD_H
#define VGEN_TESTS_ST_BUILD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgen.h"

typedef struct stb_bytes {
    uint8_t *p;
    size_t n;
} stb_bytes;

static inline void stb_free(stb_bytes *b) {
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* [u64 LE declared_len][header_len bytes of header][data_len bytes: 0, 1, 2, ...]. p is NULL if out of memory. */
static inline stb_bytes stb_file_raw(uint64_t declared_len, const char *header, size_t header_len, size_t data_len) {
    stb_bytes b = {NULL, 8 + header_len + data_len};
    b.p = malloc(b.n ? b.n : 1);
    if (!b.p) return b;
    for (int i = 0; i < 8; i++) b.p[i] = (uint8_t)(declared_len >> (8 * i));
    if (header_len) memcpy(b.p + 8, header, header_len);
    for (size_t i = 0; i < data_len; i++) b.p[8 + header_len + i] = (uint8_t)i;
    return b;
}

/* A file whose length field is the header's true length. */
static inline stb_bytes stb_file(const char *header, size_t data_len) {
    return stb_file_raw(strlen(header), header, strlen(header), data_len);
}

/* Writes n bytes to path; 0 on success. */
static inline int stb_write(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = n ? fwrite(p, 1, n, f) : 0;
    return (fclose(f) == 0 && put == n) ? 0 : -1;
}

/* Writes stb_file(header, data_len) to path; 0 on success. */
static inline int stb_write_st(const char *path, const char *header, size_t data_len) {
    stb_bytes b = stb_file(header, data_len);
    int rc = b.p ? stb_write(path, b.p, b.n) : -1;
    stb_free(&b);
    return rc;
}

/* One malformed file: the file is raw[0..raw_len) if raw is set, else
 * [declared (or strlen(header) when !use_declared)][header][data_len pattern bytes]. */
typedef struct stb_case {
    const char *rule;      /* written as malformed_<rule>.safetensors */
    const char *header;
    int use_declared;
    uint64_t declared;
    size_t data_len;
    const char *raw;
    size_t raw_len;
    int code;              /* status the reader must return */
    const char *expect;    /* substring its message must contain */
} stb_case;

#define STB_T(body) "{\"a\":{" body "}}"
#define STB_A8 "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
#define STB_HDR(rule, header, data, expect) {rule, header, 0, 0, data, NULL, 0, VGEN_ERR_MALFORMED, expect}
#define STB_LEN(rule, declared, header, data, expect) \
    {rule, header, 1, declared, data, NULL, 0, VGEN_ERR_MALFORMED, expect}
#define STB_RAW(rule, raw, expect) {rule, NULL, 0, 0, 0, raw, sizeof(raw) - 1, VGEN_ERR_MALFORMED, expect}

static const stb_case STB_MALFORMED[] = {
    /* length field */
    STB_RAW("short_file", "abc", "file is 3 bytes, shorter than the 8-byte header length"),
    STB_RAW("empty_file", "", "file is 0 bytes, shorter than the 8-byte header length"),
    STB_LEN("header_too_large", 100000001ull, "{}", 0, "header length 100000001 exceeds the maximum 100000000"),
    STB_LEN("header_exceeds_file", 100, "{}", 0, "header length 100 does not fit in the file (10 bytes)"),
    STB_LEN("header_len_overflow", 0xFFFFFFFFFFFFFFFFull, "{}", 0,
            "header length 18446744073709551615 exceeds the maximum"),
    STB_RAW("torch_zip", "PK\x03\x04\x14\x00\x00\x00\x08\x00" "archive/data.pkl", "looks like a PyTorch checkpoint"),
    /* header text */
    STB_HDR("utf8_overlong", "{\"\xC0\xAF\":1}", 0, "header is not valid UTF-8 (overlong encoding at header byte 2)"),
    STB_HDR("utf8_overlong3", "{\"\xE0\x80\xAF\":1}", 0, "header is not valid UTF-8 (overlong encoding"),
    STB_HDR("utf8_surrogate", "{\"\xED\xA0\x80\":1}", 0, "header is not valid UTF-8 (UTF-16 surrogate"),
    STB_HDR("utf8_above_max", "{\"\xF4\x90\x80\x80\":1}", 0, "header is not valid UTF-8 (code point above U+10FFFF"),
    STB_HDR("utf8_bad_lead", "{\"\xF8\x88\x80\x80\x80\":1}", 0, "header is not valid UTF-8 (invalid byte"),
    STB_HDR("utf8_stray_continuation", "{\"\x80\":1}", 0, "header is not valid UTF-8 (unexpected continuation byte"),
    STB_HDR("utf8_bad_continuation", "{\"\xC3\x28\":1}", 0, "header is not valid UTF-8 (invalid continuation byte"),
    STB_HDR("utf8_truncated", "{}  \xE2\x82", 0, "header is not valid UTF-8 (truncated sequence at header byte 4)"),
    STB_HDR("not_json", "{\"a\": }", 0, "header is not valid JSON (syntax error"),
    STB_HDR("not_json_token", "{\"a\": tru}", 0, "header is not valid JSON (unexpected character at header byte 6)"),
    STB_HDR("json_leading_zero", "{\"a\": [01]}", 0, "header is not valid JSON (invalid number at header byte 7)"),
    STB_HDR("json_control_char", "{\"a\x01\": 1}", 0, "header is not valid JSON (control character in string"),
    STB_HDR("json_bad_escape", "{\"a\\q\": 1}", 0, "header is not valid JSON (invalid escape in string"),
    STB_HDR("json_nul_escape", "{\"a\\u0000b\": 1}", 0, "\\u0000 (NUL) in string is not supported"),
    STB_HDR("json_lone_surrogate", "{\"a\\ud800\": 1}", 0, "header is not valid JSON (syntax error"),
    STB_HDR("json_bom", "\xEF\xBB\xBF{}", 0, "header is not valid JSON (unexpected character at header byte 0)"),
    STB_LEN("header_empty", 0, "", 0, "header is not valid JSON (it is empty)"),
    STB_HDR("header_blank", "        ", 0, "header is not valid JSON (it is empty)"),
    STB_HDR("not_object", "[1, 2]", 0, "header is not a JSON object (it is an array)"),
    STB_HDR("trailing_garbage", "{} {}", 0, "header has trailing data after the JSON value (at header byte 3)"),
    /* one entry */
    STB_HDR("entry_not_object", "{\"a\": [1]}", 0, "tensor \"a\": entry is not an object"),
    STB_HDR("missing_dtype", STB_T("\"shape\":[2],\"data_offsets\":[0,8]"), 8, "tensor \"a\": missing key \"dtype\""),
    STB_HDR("missing_shape", STB_T("\"dtype\":\"F32\",\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": missing key \"shape\""),
    STB_HDR("missing_data_offsets", STB_T("\"dtype\":\"F32\",\"shape\":[2]"), 8,
            "tensor \"a\": missing key \"data_offsets\""),
    STB_HDR("extra_key", STB_T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"foo\":1"), 8,
            "tensor \"a\": unexpected key \"foo\""),
    STB_HDR("duplicate_key", STB_T("\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": duplicate key \"dtype\""),
    STB_HDR("unknown_dtype", STB_T("\"dtype\":\"F128\",\"shape\":[2],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": unknown dtype \"F128\""),
    STB_HDR("dtype_lowercase", STB_T("\"dtype\":\"bf16\",\"shape\":[4],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": unknown dtype \"bf16\""),
    STB_HDR("dtype_not_string", STB_T("\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": dtype is not a string"),
    STB_HDR("shape_not_array", STB_T("\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": shape is not an array"),
    STB_HDR("shape_negative", STB_T("\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": shape[0] is negative (-2)"),
    STB_HDR("shape_fractional", STB_T("\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": shape[0] is not an integer (2.5)"),
    STB_HDR("shape_fractional_exp", STB_T("\"dtype\":\"F32\",\"shape\":[25e-1],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": shape[0] is not an integer (2.5)"),
    STB_HDR("shape_not_number", STB_T("\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": shape[0] is not a number"),
    STB_HDR("shape_above_2p53", STB_T("\"dtype\":\"F32\",\"shape\":[0,9007199254740993],\"data_offsets\":[0,0]"), 0,
            "tensor \"a\": shape[1] exceeds 2^53 - 1"),
    STB_HDR("shape_huge_exp", STB_T("\"dtype\":\"F32\",\"shape\":[0,1e400],\"data_offsets\":[0,0]"), 0,
            "tensor \"a\": shape[1] exceeds 2^53 - 1"),
    STB_HDR("shape_rank9", STB_T("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": shape has rank 9, more than 8"),
    STB_HDR("shape_numel_overflow",
            STB_T("\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": element count of shape [4294967296, 4294967296] overflows 64 bits"),
    STB_HDR("shape_bytes_overflow",
            STB_T("\"dtype\":\"F32\",\"shape\":[4294967296,1073741824],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": byte size of shape [4294967296, 1073741824] of F32 overflows 64 bits"),
    STB_HDR("size_mismatch", STB_T("\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]"), 8,
            "tensor \"a\": shape [3] of F32 is 12 bytes but data_offsets span 8 bytes"),
    STB_HDR("offsets_one", STB_T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]"), 8,
            "tensor \"a\": data_offsets is not an array of 2 integers"),
    STB_HDR("offsets_three", STB_T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]"), 8,
            "tensor \"a\": data_offsets is not an array of 2 integers"),
    STB_HDR("offsets_not_array", STB_T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0,8\""), 8,
            "tensor \"a\": data_offsets is not an array of 2 integers"),
    STB_HDR("offsets_negative", STB_T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]"), 8,
            "tensor \"a\": data_offsets[0] is negative (-8)"),
    STB_HDR("offsets_fractional", STB_T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.5]"), 8,
            "tensor \"a\": data_offsets[1] is not an integer (8.5)"),
    STB_HDR("offsets_begin_after_end", STB_T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]"), 8,
            "tensor \"a\": data_offsets begin 8 > end 0"),
    STB_HDR("offsets_beyond_eof", STB_T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"), 4,
            "tensor \"a\": data_offsets end 8 is beyond the end of the file (the data buffer holds 4 bytes)"),
    /* layout */
    STB_HDR("gap_at_start", STB_T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]"), 12,
            "tensor \"a\": data starts at 4, leaving a gap at the start of the data buffer"),
    STB_HDR("gap_between", "{" STB_A8 ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20,
            "tensor \"b\": begins at 12, leaving a gap of 4 bytes after tensor \"a\" (which ends at 8)"),
    STB_HDR("overlap", "{" STB_A8 ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
            "tensor \"b\": begins at 4, overlapping tensor \"a\" (which ends at 8)"),
    STB_HDR("overlap_same_range", "{" STB_A8 ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
            "tensor \"b\": begins at 0, overlapping tensor \"a\" (which ends at 8)"),
    STB_HDR("trailing_bytes", "{" STB_A8 "}", 12,
            "4 trailing bytes of the data buffer (from offset 8 to 12) are not covered by any tensor"),
    STB_HDR("data_without_tensors", "{}", 4,
            "4 trailing bytes of the data buffer (from offset 0 to 4) are not covered"),
    STB_HDR("duplicate_name", "{" STB_A8 "," STB_A8 "}", 8, "tensor \"a\" appears more than once in the header"),
    /* metadata */
    STB_HDR("metadata_not_object", "{\"__metadata__\":[\"x\"]}", 0, "__metadata__ is not an object"),
    STB_HDR("metadata_not_string", "{\"__metadata__\":{\"k\":1}}", 0,
            "__metadata__ value of key \"k\" is not a string"),
    STB_HDR("metadata_duplicate_key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0,
            "__metadata__ key \"k\" appears more than once"),
    STB_HDR("metadata_twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears more than once"),
};

#define STB_N_MALFORMED (sizeof STB_MALFORMED / sizeof STB_MALFORMED[0])

/* The bytes of a case. p is NULL if out of memory. */
static inline stb_bytes stb_case_bytes(const stb_case *c) {
    if (!c->header) {
        stb_bytes b = {malloc(c->raw_len ? c->raw_len : 1), c->raw_len};
        if (b.p && c->raw_len) memcpy(b.p, c->raw, c->raw_len);
        return b;
    }
    size_t len = strlen(c->header);
    return stb_file_raw(c->use_declared ? c->declared : len, c->header, len, c->data_len);
}

#endif

/* json_strict.h - strict JSON reading on top of cJSON, for untrusted file headers.
 *
 * cJSON is lenient: it treats every byte <= 0x20 as whitespace, accepts "01" and "1.", raw control characters in
 * strings, a leading UTF-8 byte order mark, and does not check UTF-8. vgen_json_parse_strict first checks that the
 * bytes are valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) and that every token follows
 * the RFC 8259 grammar, then lets cJSON build the tree from a NUL-terminated copy bounded to n bytes, and finally
 * requires that only JSON whitespace follows the value. Duplicate object keys are NOT detected here (callers do).
 * The escape \u0000 is refused: names and values are handed out as C strings, which cannot hold it.
 */
#ifndef VGEN_CORE_JSON_STRICT_H
#define VGEN_CORE_JSON_STRICT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef enum vgen_json_fail {
    VGEN_JSON_OK = 0,
    VGEN_JSON_BAD_UTF8,   /* why: "overlong encoding", "UTF-16 surrogate", ... */
    VGEN_JSON_BAD_TOKEN,  /* why: "invalid number", "control character in string", ... */
    VGEN_JSON_EMPTY,      /* nothing but whitespace */
    VGEN_JSON_SYNTAX,     /* tokens are fine but their arrangement is not (cJSON refused it) */
    VGEN_JSON_TRAILING,   /* something follows the first value */
    VGEN_JSON_NO_MEMORY
} vgen_json_fail;

typedef struct vgen_json_error {
    vgen_json_fail kind;
    size_t offset;   /* byte offset of the problem within the parsed range */
    const char *why; /* static text */
} vgen_json_error;

/* 1 if s[0..n) is valid UTF-8; else 0 with the offending offset and reason. */
int vgen_utf8_validate(const uint8_t *s, size_t n, size_t *bad_offset, const char **why);

/* 1 if s[0..n) is a sequence of valid JSON tokens and whitespace (and valid UTF-8); else 0 with *e filled. */
int vgen_json_lex_check(const uint8_t *s, size_t n, vgen_json_error *e);

/* Parses s[0..n) strictly. Returns the tree (cJSON_Delete it) or NULL with *e filled. */
cJSON *vgen_json_parse_strict(const uint8_t *s, size_t n, vgen_json_error *e);

/* 1 for the four JSON whitespace bytes: space, tab, line feed, carriage return. */
static inline int vgen_json_is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

#endif

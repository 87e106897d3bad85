/* json_strict.c - UTF-8 validation, a JSON lexical checker, and a bounded strict parse over cJSON. */
#include "json_strict.h"

#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 (Unicode 15, table 3-7) --------------------------------------------------------------- */

/* Length of the sequence a lead byte starts (1..4), or 0 for a byte that cannot start one. */
static int utf8_seq_len(uint8_t b) {
    if (b < 0x80) return 1;
    if (b < 0xC0) return 0; /* continuation byte */
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 3;
    if (b < 0xF8) return 4;
    return 0;
}

/* Decodes the sequence at s[0..len) (len >= 2, all bytes present). Returns NULL if valid, else the reason. */
static const char *utf8_check_seq(const uint8_t *s, int len) {
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t cp = s[0] & (0x7Fu >> len);
    for (int k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return "invalid continuation byte";
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    if (cp < min_cp[len]) return "overlong encoding";
    if (cp >= 0xD800 && cp <= 0xDFFF) return "UTF-16 surrogate";
    if (cp > 0x10FFFF) return "code point above U+10FFFF";
    return NULL;
}

int vgen_utf8_validate(const uint8_t *s, size_t n, size_t *bad_offset, const char **why) {
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) { i++; continue; }
        int len = utf8_seq_len(s[i]);
        const char *bad = NULL;
        if (len == 0) bad = s[i] < 0xC0 ? "unexpected continuation byte" : "invalid byte";
        else if ((size_t)len > n - i) bad = "truncated sequence";
        else bad = utf8_check_seq(s + i, len);
        if (bad) {
            if (bad_offset) *bad_offset = i;
            if (why) *why = bad;
            return 0;
        }
        i += (size_t)len;
    }
    return 1;
}

/* ---- lexical check (RFC 8259 tokens) ------------------------------------------------------------- */

static int lex_fail(vgen_json_error *e, size_t at, const char *why) {
    e->kind = VGEN_JSON_BAD_TOKEN;
    e->offset = at;
    e->why = why;
    return 0;
}

static int is_hex(uint8_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* After a number or literal the next byte must end the token. */
static int lex_delimited(const uint8_t *s, size_t n, size_t i) {
    return i == n || vgen_json_is_space(s[i]) || s[i] == ',' || s[i] == ']' || s[i] == '}' || s[i] == ':';
}

/* s[*i] is the backslash of an escape inside a string; advances *i past it. */
static int lex_escape(const uint8_t *s, size_t n, size_t *i, vgen_json_error *e) {
    size_t at = *i;
    if (at + 1 >= n) return lex_fail(e, at, "unterminated string");
    uint8_t c = s[at + 1];
    if (c != 'u') {
        if (c == 0 || !strchr("\"\\/bfnrt", c)) return lex_fail(e, at, "invalid escape in string");
        *i = at + 2;
        return 1;
    }
    if (n - at < 6) return lex_fail(e, at, "truncated \\u escape in string");
    for (size_t k = 2; k < 6; k++)
        if (!is_hex(s[at + k])) return lex_fail(e, at, "invalid \\u escape in string");
    if (memcmp(s + at + 2, "0000", 4) == 0) return lex_fail(e, at, "\\u0000 (NUL) in string is not supported");
    *i = at + 6;
    return 1;
}

/* s[*i] is an opening quote; advances *i past the closing quote. */
static int lex_string(const uint8_t *s, size_t n, size_t *i, vgen_json_error *e) {
    size_t start = *i, k = start + 1;
    while (k < n) {
        uint8_t c = s[k];
        if (c == '"') { *i = k + 1; return 1; }
        if (c < 0x20) return lex_fail(e, k, "control character in string");
        if (c == '\\') {
            if (!lex_escape(s, n, &k, e)) return 0;
            continue;
        }
        k++;
    }
    return lex_fail(e, start, "unterminated string");
}

static size_t lex_digits(const uint8_t *s, size_t n, size_t k) {
    while (k < n && is_digit(s[k])) k++;
    return k;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? followed by a delimiter. */
static int lex_number(const uint8_t *s, size_t n, size_t *i, vgen_json_error *e) {
    size_t start = *i, k = start;
    if (s[k] == '-') k++;
    if (k == n || !is_digit(s[k])) return lex_fail(e, start, "invalid number");
    k = s[k] == '0' ? k + 1 : lex_digits(s, n, k);
    if (k < n && s[k] == '.') {
        size_t f = lex_digits(s, n, k + 1);
        if (f == k + 1) return lex_fail(e, start, "invalid number");
        k = f;
    }
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
        k++;
        if (k < n && (s[k] == '+' || s[k] == '-')) k++;
        size_t x = lex_digits(s, n, k);
        if (x == k) return lex_fail(e, start, "invalid number");
        k = x;
    }
    if (!lex_delimited(s, n, k)) return lex_fail(e, start, "invalid number");
    *i = k;
    return 1;
}

static int lex_literal(const uint8_t *s, size_t n, size_t *i, vgen_json_error *e) {
    static const char *const words[3] = {"true", "false", "null"};
    for (int w = 0; w < 3; w++) {
        size_t len = strlen(words[w]);
        if (n - *i >= len && memcmp(s + *i, words[w], len) == 0 && lex_delimited(s, n, *i + len)) {
            *i += len;
            return 1;
        }
    }
    return lex_fail(e, *i, "unexpected character");
}

int vgen_json_lex_check(const uint8_t *s, size_t n, vgen_json_error *e) {
    size_t bad = 0;
    const char *why = NULL;
    if (!vgen_utf8_validate(s, n, &bad, &why)) {
        e->kind = VGEN_JSON_BAD_UTF8;
        e->offset = bad;
        e->why = why;
        return 0;
    }
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        int ok;
        if (vgen_json_is_space(c) || (c != 0 && strchr("{}[]:,", c) != NULL)) {
            i++;
            continue;
        }
        if (c == '"') ok = lex_string(s, n, &i, e);
        else if (c == '-' || is_digit(c)) ok = lex_number(s, n, &i, e);
        else if (c == 't' || c == 'f' || c == 'n') ok = lex_literal(s, n, &i, e);
        else ok = lex_fail(e, i, c < 0x20 ? "control character" : "unexpected character");
        if (!ok) return 0;
    }
    return 1;
}

/* ---- strict parse ---------------------------------------------------------------------------------- */

static size_t skip_space(const uint8_t *s, size_t n, size_t i) {
    while (i < n && vgen_json_is_space(s[i])) i++;
    return i;
}

static cJSON *parse_fail(vgen_json_error *e, vgen_json_fail kind, size_t at, const char *why) {
    e->kind = kind;
    e->offset = at;
    e->why = why;
    return NULL;
}

cJSON *vgen_json_parse_strict(const uint8_t *s, size_t n, vgen_json_error *e) {
    e->kind = VGEN_JSON_OK;
    e->offset = 0;
    e->why = "";
    if (!vgen_json_lex_check(s, n, e)) return NULL;
    if (skip_space(s, n, 0) == n) return parse_fail(e, VGEN_JSON_EMPTY, 0, "no JSON value");
    /* A NUL-terminated copy: cJSON never sees bytes past n, even if it were to scan ahead. */
    char *copy = malloc(n + 1);
    if (!copy) return parse_fail(e, VGEN_JSON_NO_MEMORY, 0, "out of memory");
    memcpy(copy, s, n);
    copy[n] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(copy, n, &end, 0);
    size_t at = (end && end >= copy && end <= copy + n) ? (size_t)(end - copy) : 0;
    free(copy);
    if (!root) return parse_fail(e, VGEN_JSON_SYNTAX, at, "syntax error");
    size_t rest = skip_space(s, n, at);
    if (rest != n) {
        cJSON_Delete(root);
        return parse_fail(e, VGEN_JSON_TRAILING, rest, "trailing data after the JSON value");
    }
    return root;
}

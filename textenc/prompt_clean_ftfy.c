/* prompt_clean_ftfy.c - ftfy.fix_text without the mojibake repair (see prompt_clean_ftfy.h). */
#include "prompt_clean_ftfy.h"

#include <string.h>

#include "html_unescape.h"
#include "prompt_clean_tables.h"
#include "utf8_nfc.h"

enum { MAX_DECODE_LENGTH = 1000000 };

typedef int (*fixer_fn)(const vgen_u32s *in, vgen_u32s *out);

/* Maps every code point through table (unlisted ones pass). */
static int translate(const vgen_u32s *in, vgen_u32s *out, const vgen_cp_map *t, size_t count) {
    for (size_t i = 0; i < in->n; i++) {
        const vgen_cp_map *m = vgen_cp_map_find(t, count, in->p[i]);
        int rc = m ? vgen_u32s_append(out, m->to, m->n) : vgen_u32s_push(out, in->p[i]);
        if (rc != VGEN_OK) return rc;
    }
    return VGEN_OK;
}

static int fix_unescape_html(const vgen_u32s *in, vgen_u32s *out) {
    return vgen_ftfy_unescape_html(in->p, in->n, out);
}

static int fix_c1_controls(const vgen_u32s *in, vgen_u32s *out) {
    return translate(in, out, vgen_ftfy_c1_map, vgen_ftfy_c1_map_count);
}

static int fix_latin_ligatures(const vgen_u32s *in, vgen_u32s *out) {
    return translate(in, out, vgen_ftfy_ligatures, vgen_ftfy_ligatures_count);
}

static int fix_character_width(const vgen_u32s *in, vgen_u32s *out) {
    return translate(in, out, vgen_ftfy_width_map, vgen_ftfy_width_map_count);
}

/* DOUBLE_QUOTE_RE [\u201c-\u201f] -> '"', then SINGLE_QUOTE_RE [\u02bc\u2018-\u201b] -> '\''. */
static int uncurl_quotes(const vgen_u32s *in, vgen_u32s *out) {
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->p[i];
        if (c >= 0x201C && c <= 0x201F) c = '"';
        else if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
        int rc = vgen_u32s_push(out, c);
        if (rc != VGEN_OK) return rc;
    }
    return VGEN_OK;
}

/* "\r\n", "\r", U+2028, U+2029 and U+0085 -> "\n" (the same as ftfy's chain of str.replace calls). */
static int fix_line_breaks(const vgen_u32s *in, vgen_u32s *out) {
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->p[i];
        if (c == '\r' && i + 1 < in->n && in->p[i + 1] == '\n') i++;
        if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) c = '\n';
        int rc = vgen_u32s_push(out, c);
        if (rc != VGEN_OK) return rc;
    }
    return VGEN_OK;
}

/* Length of a match of ANSI_RE "\033\[((?:\d|;)*)([a-zA-Z])" at p[i], or 0 (\d is Unicode Nd, as in re). */
static size_t ansi_escape_len(const uint32_t *p, size_t n, size_t i) {
    if (p[i] != 0x1B || i + 1 >= n || p[i + 1] != '[') return 0;
    size_t k = i + 2;
    while (k < n && (p[k] == ';' || vgen_py_re_digit(p[k]))) k++;
    if (k >= n || !((p[k] | 0x20) >= 'a' && (p[k] | 0x20) <= 'z')) return 0;
    return k + 1 - i;
}

static int remove_terminal_escapes(const vgen_u32s *in, vgen_u32s *out) {
    for (size_t i = 0; i < in->n;) {
        size_t skip = ansi_escape_len(in->p, in->n, i);
        if (skip) {
            i += skip;
            continue;
        }
        int rc = vgen_u32s_push(out, in->p[i++]);
        if (rc != VGEN_OK) return rc;
    }
    return VGEN_OK;
}

static int remove_control_chars(const vgen_u32s *in, vgen_u32s *out) {
    for (size_t i = 0; i < in->n; i++) {
        if (vgen_cp_sorted_contains(vgen_ftfy_control_chars, vgen_ftfy_control_chars_count, in->p[i])) continue;
        int rc = vgen_u32s_push(out, in->p[i]);
        if (rc != VGEN_OK) return rc;
    }
    return VGEN_OK;
}

static int normalize_nfc(const vgen_u32s *in, vgen_u32s *out) {
    int rc = vgen_u32s_append(out, in->p, in->n);
    return rc != VGEN_OK ? rc : vgen_nfc(out);
}

/* Applies fn to *text, replacing it. */
static int apply(fixer_fn fn, vgen_u32s *text) {
    vgen_u32s out = {0};
    int rc = fn(text, &out);
    if (rc != VGEN_OK) {
        vgen_u32s_free(&out);
        return rc;
    }
    vgen_u32s_free(text);
    *text = out;
    return VGEN_OK;
}

static int same(const vgen_u32s *a, const vgen_u32s *b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n * sizeof(uint32_t)) == 0);
}

/* ftfy's fix_and_explain for one segment: all fixers, repeated until the text stops changing. */
static int fix_segment(vgen_u32s *text, int unescape) {
    static const fixer_fn fixers[] = {fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes,
                                      fix_line_breaks, remove_terminal_escapes, remove_control_chars, normalize_nfc};
    for (;;) {
        vgen_u32s orig = {0};
        int rc = vgen_u32s_append(&orig, text->p, text->n);
        if (rc == VGEN_OK && unescape) rc = apply(fix_unescape_html, text);
        for (size_t f = 0; rc == VGEN_OK && f < sizeof fixers / sizeof fixers[0]; f++) rc = apply(fixers[f], text);
        int done = rc != VGEN_OK || same(&orig, text);
        vgen_u32s_free(&orig);
        if (done) return rc;
    }
}

/* End of the segment starting at pos: just past the next '\n', capped at MAX_DECODE_LENGTH code points. */
static size_t segment_end(const uint32_t *s, size_t n, size_t pos) {
    size_t end = pos;
    while (end < n && s[end] != '\n') end++;
    end = end < n ? end + 1 : n;
    return end - pos > MAX_DECODE_LENGTH ? pos + MAX_DECODE_LENGTH : end;
}

int vgen_ftfy_fix_text(const uint32_t *s, size_t n, vgen_u32s *out) {
    int unescape = 1;
    for (size_t pos = 0; pos < n;) {
        size_t end = segment_end(s, n, pos);
        for (size_t i = pos; i < end && unescape; i++) unescape = s[i] != '<';
        vgen_u32s seg = {0};
        int rc = vgen_u32s_append(&seg, s + pos, end - pos);
        if (rc == VGEN_OK) rc = fix_segment(&seg, unescape);
        if (rc == VGEN_OK) rc = vgen_u32s_append(out, seg.p, seg.n);
        vgen_u32s_free(&seg);
        if (rc != VGEN_OK) return rc;
        pos = end;
    }
    return VGEN_OK;
}

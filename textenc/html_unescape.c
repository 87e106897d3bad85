/* html_unescape.c - Python's html.unescape and ftfy's unescape_html on code points (see html_unescape.h). */
#include "html_unescape.h"

#include <string.h>

#include "html_entities.h"

enum { NAME_MAX_CHARS = 32, FTFY_MAX_CHARS = 24, CP_LIMIT = 0x110000 };

static int cmp_name(const char *table_name, const char *name, size_t len) {
    for (size_t i = 0; i < len; i++) {
        uint8_t a = (uint8_t)table_name[i], b = (uint8_t)name[i];
        if (a != b) return a < b ? -1 : 1; /* a == 0 (shorter table name) sorts first too */
    }
    return table_name[len] ? 1 : 0;
}

const vgen_html_entity *vgen_html_entity_find(const vgen_html_entity *table, size_t count, const char *name,
                                              size_t len) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_name(table[mid].name, name, len);
        if (c == 0) return &table[mid];
        if (c > 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

static int append_utf8(vgen_u32s *out, const char *utf8) {
    return vgen_utf8_to_u32((const uint8_t *)utf8, strlen(utf8), out);
}

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_hex(uint32_t c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static int is_alnum(uint32_t c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }
static uint32_t hex_val(uint32_t c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

/* Python's _replace_charref for a number (saturated at CP_LIMIT). */
static int append_charref(vgen_u32s *out, uint32_t num) {
    for (size_t i = 0; i < vgen_html_invalid_charrefs_count; i++)
        if (vgen_html_invalid_charrefs[i].num == num) return append_utf8(out, vgen_html_invalid_charrefs[i].value);
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return vgen_u32s_push(out, 0xFFFD);
    for (size_t i = 0; i < vgen_html_invalid_codepoints_count; i++)
        if (num >= vgen_html_invalid_codepoints[i].lo && num <= vgen_html_invalid_codepoints[i].hi) return VGEN_OK;
    return vgen_u32s_push(out, num);
}

/* #[0-9]+;? or #[xX][0-9a-fA-F]+;? at s[j] == '#'; 0 if neither matches, else the end of the match. */
static size_t numeric_ref(const uint32_t *s, size_t n, size_t j, uint32_t *num) {
    size_t k = j + 1;
    int hex = 0;
    if (k < n && is_digit(s[k])) {
        hex = 0;
    } else if (k + 1 < n && (s[k] == 'x' || s[k] == 'X') && is_hex(s[k + 1])) {
        hex = 1;
        k++;
    } else {
        return 0;
    }
    uint32_t v = 0;
    for (; k < n && (hex ? is_hex(s[k]) : is_digit(s[k])); k++) {
        uint32_t d = hex ? hex_val(s[k]) : s[k] - '0';
        v = v >= CP_LIMIT ? CP_LIMIT : v * (hex ? 16 : 10) + d;
    }
    *num = v > CP_LIMIT ? CP_LIMIT : v;
    return k < n && s[k] == ';' ? k + 1 : k;
}

static int name_char(uint32_t c) {
    return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#' && c != ';';
}

/* The named reference s[j..end) (';' included if present): html5 lookup, then the longest prefix of >= 2. */
static int append_named(vgen_u32s *out, const uint32_t *s, size_t j, size_t end) {
    char name[NAME_MAX_CHARS + 2];
    size_t len = end - j, ascii = 0;
    while (ascii < len && s[j + ascii] < 0x80) {
        name[ascii] = (char)s[j + ascii];
        ascii++;
    }
    const vgen_html_entity *e = NULL;
    if (ascii == len) e = vgen_html_entity_find(vgen_html5_entities, vgen_html5_entities_count, name, len);
    if (e) return append_utf8(out, e->value);
    for (size_t x = len - 1; x >= 2 && x < len; x--) {
        if (x > ascii) continue;
        e = vgen_html_entity_find(vgen_html5_entities, vgen_html5_entities_count, name, x);
        if (e) {
            int rc = append_utf8(out, e->value);
            return rc != VGEN_OK ? rc : vgen_u32s_append(out, s + j + x, len - x);
        }
    }
    int rc = vgen_u32s_push(out, '&');
    return rc != VGEN_OK ? rc : vgen_u32s_append(out, s + j, len);
}

/* One match of Python's _charref at s[i] == '&': appends its replacement and returns the match end, or returns
 * i (nothing appended) where the pattern does not match. */
static size_t python_ref(const uint32_t *s, size_t n, size_t i, vgen_u32s *out, int *rc) {
    size_t j = i + 1;
    if (j < n && s[j] == '#') {
        uint32_t num = 0;
        size_t end = numeric_ref(s, n, j, &num);
        if (end == 0) return i;
        *rc = append_charref(out, num);
        return end;
    }
    size_t k = j;
    while (k < n && k - j < NAME_MAX_CHARS && name_char(s[k])) k++;
    if (k == j) return i;
    size_t end = k < n && s[k] == ';' ? k + 1 : k;
    *rc = append_named(out, s, j, end);
    return end;
}

int vgen_html_unescape(const uint32_t *s, size_t n, vgen_u32s *out) {
    size_t i = 0;
    while (i < n) {
        int rc = VGEN_OK;
        size_t end = s[i] == '&' ? python_ref(s, n, i, out, &rc) : i;
        if (rc != VGEN_OK) return rc;
        if (end > i) {
            i = end;
            continue;
        }
        rc = vgen_u32s_push(out, s[i++]);
        if (rc != VGEN_OK) return rc;
    }
    return VGEN_OK;
}

/* ftfy's _unescape_fixup for the match s[i..end) ("&...;"). */
static int ftfy_fixup(const uint32_t *s, size_t i, size_t end, vgen_u32s *out) {
    if (s[i + 1] != '#') {
        char name[FTFY_MAX_CHARS + 2];
        size_t len = end - i - 1;
        for (size_t k = 0; k < len; k++) name[k] = (char)s[i + 1 + k];
        const vgen_html_entity *e = vgen_html_entity_find(vgen_html5_entities, vgen_html5_entities_count, name, len);
        if (!e) e = vgen_html_entity_find(vgen_ftfy_upper_entities, vgen_ftfy_upper_entities_count, name, len);
        return e ? append_utf8(out, e->value) : vgen_u32s_append(out, s + i, end - i);
    }
    vgen_u32s tmp = {0};
    int rc = vgen_html_unescape(s + i, end - i, &tmp);
    if (rc == VGEN_OK) {
        int has_semicolon = 0;
        for (size_t k = 0; k < tmp.n; k++) has_semicolon |= tmp.p[k] == ';';
        rc = has_semicolon ? vgen_u32s_append(out, s + i, end - i) : vgen_u32s_append(out, tmp.p, tmp.n);
    }
    vgen_u32s_free(&tmp);
    return rc;
}

/* End of a match of &#?[0-9A-Za-z]{1,24}; at s[i] == '&', or 0. */
static size_t ftfy_match(const uint32_t *s, size_t n, size_t i) {
    size_t k = i + 1;
    if (k < n && s[k] == '#') k++;
    size_t run = 0;
    while (k + run < n && is_alnum(s[k + run])) run++;
    if (run < 1 || run > FTFY_MAX_CHARS || k + run >= n || s[k + run] != ';') return 0;
    return k + run + 1;
}

int vgen_ftfy_unescape_html(const uint32_t *s, size_t n, vgen_u32s *out) {
    size_t i = 0;
    while (i < n) {
        size_t end = s[i] == '&' ? ftfy_match(s, n, i) : 0;
        int rc = end ? ftfy_fixup(s, i, end, out) : vgen_u32s_push(out, s[i]);
        if (rc != VGEN_OK) return rc;
        i = end ? end : i + 1;
    }
    return VGEN_OK;
}

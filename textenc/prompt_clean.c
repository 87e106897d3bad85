/* prompt_clean.c - Wan's prompt_clean: ftfy, html.unescape twice, whitespace (see prompt_clean.h). */
#include "prompt_clean.h"

#include <stdlib.h>

#include "html_unescape.h"
#include "prompt_clean_ftfy.h"
#include "prompt_clean_tables.h"
#include "utf8.h"

/* text.strip() then re.sub(r"\s+", " ", text).strip(): runs of whitespace become one space, none at the ends. */
static int collapse_whitespace(const vgen_u32s *in, vgen_u32s *out) {
    int pending_space = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (vgen_py_isspace(in->p[i])) {
            pending_space = out->n > 0;
            continue;
        }
        int rc = pending_space ? vgen_u32s_push(out, ' ') : VGEN_OK;
        if (rc == VGEN_OK) rc = vgen_u32s_push(out, in->p[i]);
        if (rc != VGEN_OK) return rc;
        pending_space = 0;
    }
    return VGEN_OK;
}

/* Runs the cleaning steps on code points; *a holds the input and ends up holding the result. */
static int clean_cps(vgen_u32s *a) {
    vgen_u32s b = {0}, c = {0};
    int rc = vgen_ftfy_fix_text(a->p, a->n, &b);
    if (rc == VGEN_OK) rc = vgen_html_unescape(b.p, b.n, &c);
    a->n = 0;
    if (rc == VGEN_OK) {
        b.n = 0;
        rc = vgen_html_unescape(c.p, c.n, &b);
    }
    if (rc == VGEN_OK) rc = collapse_whitespace(&b, a);
    vgen_u32s_free(&b);
    vgen_u32s_free(&c);
    return rc;
}

int vgen_prompt_clean(const char *text, size_t len, char **out, size_t *out_len, vgen_err *err) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if ((!text && len) || !out || !out_len)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_prompt_clean: NULL argument");
    const uint8_t *s = (const uint8_t *)text;
    int rc = vgen_utf8_check(s, len, "prompt", err);
    if (rc != VGEN_OK) return rc;
    vgen_u32s cps = {0};
    vgen_bytes utf8 = {0};
    rc = vgen_utf8_to_u32(s, len, &cps);
    if (rc == VGEN_OK) rc = clean_cps(&cps);
    if (rc == VGEN_OK) rc = vgen_u32_to_utf8(cps.p, cps.n, &utf8);
    if (rc == VGEN_OK) rc = vgen_bytes_append(&utf8, "", 0); /* a NUL-terminated buffer even when empty */
    vgen_u32s_free(&cps);
    if (rc != VGEN_OK) {
        vgen_bytes_free(&utf8);
        return vgen_err_set(err, rc, "vgen_prompt_clean: out of memory");
    }
    *out = (char *)utf8.p;
    *out_len = utf8.n;
    return VGEN_OK;
}

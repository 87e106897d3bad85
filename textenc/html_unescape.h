/* html_unescape.h - HTML character references on code point arrays, as Python and ftfy decode them.
 *
 * vgen_html_unescape is Python's html.unescape (3.11): the pattern &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|
 * [^\t\n\f <&#;]{1,32};?) replaced left to right; named references are looked up in html.entities.html5, then
 * by their longest prefix (at least 2 characters: "&ampx" -> "&x"); numeric ones follow Python's rules
 * (_invalid_charrefs, U+FFFD for surrogates and numbers above U+10FFFF, nothing for _invalid_codepoints).
 * One difference: Python raises ValueError for a decimal reference of more than 4300 digits (int()'s limit);
 * here it decodes to U+FFFD like any other number above U+10FFFF.
 *
 * vgen_ftfy_unescape_html is ftfy 6.3.1's fixes.unescape_html: only &#?[0-9A-Za-z]{1,24}; is considered; a name
 * must be an html5 name ending in ';' or one of ftfy's all-caps names; a numeric reference is decoded with
 * html.unescape and kept as it was if the result still contains ';' (so "&#59;" stays). */
#ifndef VGEN_TEXTENC_HTML_UNESCAPE_H
#define VGEN_TEXTENC_HTML_UNESCAPE_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

/* Appends the unescaped s[0..n) to *out. VGEN_OK or VGEN_ERR_OUT_OF_MEMORY. */
int vgen_html_unescape(const uint32_t *s, size_t n, vgen_u32s *out);
int vgen_ftfy_unescape_html(const uint32_t *s, size_t n, vgen_u32s *out);

#endif

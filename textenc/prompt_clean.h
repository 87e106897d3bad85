/* prompt_clean.h - Wan's prompt cleaning (diffusers' pipeline_wan.prompt_clean), applied to every prompt before
 * tokenization:
 *     ftfy.fix_text(text) -> html.unescape(html.unescape(text)) -> strip() -> re.sub(r"\s+", " ") -> strip()
 * ftfy is reproduced except for its mojibake repair (prompt_clean_ftfy.h); html.unescape is Python's, with all
 * HTML5 names (html_unescape.h); whitespace is Python's str.isspace() set, which re's \s also uses for str
 * patterns: it includes U+001C..U+001F, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F
 * and U+3000 besides the ASCII ones. docs/tokenizer.md lists the known differences. */
#ifndef VGEN_TEXTENC_PROMPT_CLEAN_H
#define VGEN_TEXTENC_PROMPT_CLEAN_H

#include <stddef.h>

#include "err.h"

/* Cleans text[0..len) (UTF-8). On success *out is a malloc'd NUL-terminated UTF-8 string (free() it) of
 * *out_len bytes. Errors: VGEN_ERR_INVALID_ARGUMENT (NULL arguments, or invalid UTF-8: the message names the byte
 * offset), VGEN_ERR_OUT_OF_MEMORY. On error *out is NULL. */
int vgen_prompt_clean(const char *text, size_t len, char **out, size_t *out_len, vgen_err *err);

#endif

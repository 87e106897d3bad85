/* prompt_clean_ftfy.h - the part of ftfy 6.3.1's fix_text (default TextFixerConfig) that vgen reproduces.
 *
 * Reproduced exactly: the split into segments (each line with its '\n', at most 1,000,000 code points), the
 * "auto" HTML rule (no entity decoding once a segment containing '<' was seen, for it and every later segment),
 * and, repeated until nothing changes, in ftfy's order: unescape_html, fix_c1_controls, fix_latin_ligatures,
 * fix_character_width, uncurl_quotes, fix_line_breaks, remove_terminal_escapes, remove_control_chars and NFC.
 * fix_surrogates has nothing to do on valid UTF-8 input.
 *
 * NOT reproduced: fix_encoding, ftfy's mojibake repair (its "badness" heuristic, re-decoding the text in
 * latin-1 / windows-125x / iso-8859-2 / macroman / cp437 as UTF-8, restore_byte_a0, replace_lossy_sequences,
 * decode_inconsistent_utf8). Text that ftfy would judge to be mojibake ("cafÃ©") is left as it is here,
 * except for the C1 control characters, which fix_c1_controls maps as ftfy's own last resort does. */
#ifndef VGEN_TEXTENC_PROMPT_CLEAN_FTFY_H
#define VGEN_TEXTENC_PROMPT_CLEAN_FTFY_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

/* Appends the fixed s[0..n) to *out. VGEN_OK or VGEN_ERR_OUT_OF_MEMORY. */
int vgen_ftfy_fix_text(const uint32_t *s, size_t n, vgen_u32s *out);

#endif

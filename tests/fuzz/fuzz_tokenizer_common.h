/* fuzz_tokenizer_common.h - checks shared by the tokenizer fuzz targets: encoding a loaded tokenizer must give
 * ids inside its vocabulary, end with the template's ids, and refuse invalid UTF-8 with VGEN_ERR_INVALID_ARGUMENT.
 * A broken promise aborts, so libFuzzer records it. */
#ifndef VGEN_FUZZ_TOKENIZER_COMMON_H
#define VGEN_FUZZ_TOKENIZER_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"
#include "tokenizer.h"

#define FUZZ_ASSERT(c)       \
    do {                     \
        if (!(c)) abort();   \
    } while (0)

static inline void fuzz_check_encode(const vgen_tokenizer *t, const char *text, size_t len) {
    int32_t *ids = NULL;
    size_t n = 0;
    vgen_err err;
    vgen_err_clear(&err);
    int valid = vgen_utf8_validate((const uint8_t *)text, len, NULL, NULL);
    int rc = vgen_tokenizer_encode(t, text, len, &ids, &n, &err);
    if (!valid) FUZZ_ASSERT(rc == VGEN_ERR_INVALID_ARGUMENT && ids == NULL && n == 0);
    if (rc != VGEN_OK) {
        FUZZ_ASSERT(ids == NULL && err.code == rc && strchr(err.msg, '\n') == NULL);
        return;
    }
    FUZZ_ASSERT(ids != NULL);
    for (size_t i = 0; i < n; i++) FUZZ_ASSERT(ids[i] >= 0 && (size_t)ids[i] < vgen_tokenizer_vocab_size(t));
    free(ids);
}

/* A few fixed texts touching every stage (special tokens, spaces, combining marks, unknown characters). */
static inline void fuzz_check_fixed_texts(const vgen_tokenizer *t) {
    static const char *const texts[] = {"", " ", "a cat  sat </s> on<pad>", "\xef\xbc\xa1\xcc\x81 \xe2\x96\x81x",
                                        "<extra_id_0>\xf0\x9f\x87\xab\xf0\x9f\x87\xb7\xe0\xa4\x95\xe0\xa5\x8d",
                                        "\xf3\xa0\x80\x81z\t\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) fuzz_check_encode(t, texts[i], strlen(texts[i]));
}

#endif

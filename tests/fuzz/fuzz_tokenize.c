/* fuzz_tokenize.c - libFuzzer target: the input is a prompt (any bytes). It is encoded with the fixture
 * tokenizer (tests/fixtures/tokenizer/tokenizer.json, found next to this source file, or at
 * $VGEN_TOKENIZER_FIXTURE), padded to 64 as WanPipeline pads to 512, and cleaned with vgen_prompt_clean.
 * Promises checked: ids in the vocabulary, </s> last, the padded form agrees with the unpadded one, invalid
 * UTF-8 is refused, a cleaned prompt is valid UTF-8 with single spaces and no whitespace at its ends. */
#include <stdio.h>

#include "fuzz_tokenizer_common.h"
#include "prompt_clean.h"
#include "prompt_clean_tables.h"
#include "utf8.h"

enum { PAD_LEN = 64 };

/* The fixture tokenizer, loaded on first use (the harness runs inputs one after another). */
static const vgen_tokenizer *fixture(void) {
    static vgen_tokenizer *t;
    if (t) return t;
    char path[4096];
    const char *env = getenv("VGEN_TOKENIZER_FIXTURE");
    const char *slash = strrchr(__FILE__, '/');
    if (env) snprintf(path, sizeof path, "%s", env);
    else snprintf(path, sizeof path, "%.*s/../fixtures/tokenizer/tokenizer.json", (int)(slash - __FILE__), __FILE__);
    vgen_err err;
    if (vgen_tokenizer_load(path, &t, &err) != VGEN_OK) {
        fprintf(stderr, "fuzz_tokenize: %s (set VGEN_TOKENIZER_FIXTURE)\n", err.msg);
        abort();
    }
    return t;
}

static void check_padded(const vgen_tokenizer *t, const char *text, size_t len) {
    int32_t *ids = NULL, padded[PAD_LEN];
    uint8_t mask[PAD_LEN];
    size_t n = 0, n_tokens = 0;
    vgen_err err;
    if (memchr(text, 0, len) || vgen_tokenizer_encode(t, text, len, &ids, &n, &err) != VGEN_OK) return;
    FUZZ_ASSERT(n >= 1 && ids[n - 1] == 1);
    FUZZ_ASSERT(vgen_tokenizer_encode_padded(t, text, PAD_LEN, padded, mask, &n_tokens, &err) == VGEN_OK);
    FUZZ_ASSERT(n_tokens == (n < PAD_LEN ? n : PAD_LEN) && padded[n_tokens - 1] == 1);
    for (size_t i = 0; i + 1 < n_tokens; i++) FUZZ_ASSERT(padded[i] == ids[i]);
    for (size_t i = 0; i < PAD_LEN; i++) FUZZ_ASSERT(mask[i] == (i < n_tokens) && (i < n_tokens || padded[i] == 0));
    free(ids);
}

static void check_clean(const char *text, size_t len) {
    char *out = NULL;
    size_t n = 0;
    vgen_err err;
    int rc = vgen_prompt_clean(text, len, &out, &n, &err);
    if (!vgen_utf8_validate((const uint8_t *)text, len, NULL, NULL)) FUZZ_ASSERT(rc == VGEN_ERR_INVALID_ARGUMENT);
    if (rc != VGEN_OK) {
        FUZZ_ASSERT(out == NULL);
        return;
    }
    FUZZ_ASSERT(out && out[n] == 0 && vgen_utf8_validate((const uint8_t *)out, n, NULL, NULL));
    int prev_space = 1;
    for (size_t pos = 0; pos < n;) {
        uint32_t cp = vgen_utf8_next((const uint8_t *)out, n, &pos);
        int space = vgen_py_isspace(cp);
        FUZZ_ASSERT(!space || (cp == ' ' && !prev_space));
        prev_space = space;
    }
    FUZZ_ASSERT(!prev_space || n == 0);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const vgen_tokenizer *t = fixture();
    char *text = malloc(size + 1);
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    text[size] = 0;
    fuzz_check_encode(t, text, size);
    check_padded(t, text, size);
    check_clean(text, size);
    free(text);
    return 0;
}

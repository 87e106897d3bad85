/* fuzz_tokenizer_json.c - libFuzzer target: the input is a whole tokenizer.json. A load either fails cleanly
 * (NULL tokenizer, one-line message) or gives a tokenizer whose encodings keep their promises. */
#include "fuzz_tokenizer_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vgen_tokenizer *t = NULL;
    vgen_err err;
    vgen_err_clear(&err);
    int rc = vgen_tokenizer_load_json_buffer(data, size, &t, &err);
    if (rc != VGEN_OK) {
        FUZZ_ASSERT(t == NULL && err.code == rc && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    FUZZ_ASSERT(t != NULL && vgen_tokenizer_vocab_size(t) > 0);
    fuzz_check_fixed_texts(t);
    vgen_tokenizer_free(&t);
    FUZZ_ASSERT(t == NULL);
    return 0;
}

/* test_umt5_textenc.c - the text-encoder front end (textenc/text_encoder.h): the fixture's five raw prompts through
 * prompt cleaning, the tokenizer (tests/fixtures/tokenizer) and the UMT5 encoder must give WanPipeline's padded
 * embeddings (fp32.padded, f32 class) with the fixture's token counts, the empty prompt included; and bad inputs:
 * a missing tokenizer file, a tokenizer.json of another model type, a missing encoder, a tokenizer with more ids than
 * the embedding has rows, invalid UTF-8, a NULL prompt. Also: the weights are loaded lazily and can be unloaded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "common/fixture.h"
#include "mapped_file.h"
#include "testutil.h"
#include "text_encoder.h"
#include "cpu/ops_cpu.h"

#define UMT5_DIR VGEN_FIXTURES_DIR "/umt5/tiny"
#define TOK_DIR VGEN_FIXTURES_DIR "/tokenizer"
#define TMP VGEN_TEST_TMPDIR
#define SEQ 512
#define DM 64
#define NPROMPTS 5

static vgen_backend *make_backend(void) {
    vgen_backend *be = NULL;
    vgen_err err = {0};
    CHECKF(vgen_backend_cpu_new(NULL, &be, &err) == 0, "backend: %s", err.msg);
    if (be) vgen_cpu_ops_install(be); /* idempotent; until the constructor installs the CPU ops */
    return be;
}

static vgen_text_encoder_params f32_params(void) {
    vgen_text_encoder_params p;
    vgen_text_encoder_params_init(&p);
    p.tokenizer_path = TOK_DIR;
    p.encoder_path = UMT5_DIR;
    p.umt5.compute = VGEN_DTYPE_F32;
    return p;
}

/* The fixture's raw prompts (prompts.json "prompts"); cJSON_Delete the returned root. */
static cJSON *load_prompts(void) {
    vgen_mapped_file f = {0};
    vgen_err err = {0};
    if (vgen_mapped_file_open(UMT5_DIR "/prompts.json", NULL, &f, &err)) {
        CHECKF(0, "%s", err.msg);
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)f.data, f.size);
    vgen_mapped_file_close(&f);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "prompts");
    CHECK(cJSON_GetArraySize(arr) == NPROMPTS);
    return root;
}

static void test_front_end_matches_pipeline(void) {
    vgen_st_set *io = fixture_open("umt5/tiny/io.safetensors");
    size_t n1 = 0, n2 = 0;
    const float *ref = fixture_tensor(io, "fp32.padded", VGEN_ST_F32, &n1);
    const int32_t *lens = fixture_tensor(io, "seq_lens", VGEN_ST_I32, &n2);
    cJSON *root = load_prompts();
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "prompts");
    vgen_backend *be = make_backend();
    vgen_text_encoder_params p = f32_params();
    vgen_text_encoder *te = NULL;
    vgen_err err = {0};
    if (be) CHECKF(vgen_text_encoder_new(&p, be, &te, &err) == 0, "new: %s", err.msg);
    CHECK(te && !vgen_text_encoder_loaded(te)); /* lazy */
    CHECK(te && vgen_text_encoder_config(te)->d_model == DM);
    for (int b = 0; te && be && ref && lens && b < NPROMPTS; b++) {
        const char *prompt = cJSON_GetArrayItem(arr, b)->valuestring;
        vgen_tensor ctx;
        int64_t n = -1;
        int rc = vgen_text_encoder_encode(te, prompt, &ctx, &n, &err);
        CHECKF(rc == 0, "prompt %d: %s", b, err.msg);
        if (rc) continue;
        CHECK(ctx.n_dims == 2 && ctx.shape[0] == SEQ && ctx.shape[1] == DM && ctx.dtype == VGEN_DTYPE_F32);
        CHECK_EQ_INT(n, lens[b]);
        fixture_diff d = fixture_compare(ctx.data, ref + (size_t)b * SEQ * DM, (size_t)SEQ * DM);
        printf("  front end prompt %d (%lld tokens%s): max|err| %.3e, cosine %.8f\n", b, (long long)n,
               prompt[0] ? "" : ", empty prompt", d.max_abs, d.cosine);
        CHECK(fixture_within_f32(d));
        size_t nonzero = 0;
        for (size_t i = (size_t)n * DM; i < (size_t)SEQ * DM; i++) nonzero += ((float *)ctx.data)[i] != 0.0f;
        CHECK_EQ_INT(nonzero, 0);
        vgen_tensor_release(&ctx);
    }
    CHECK(te && vgen_text_encoder_loaded(te));
    vgen_text_encoder_unload(te);
    CHECK(te && !vgen_text_encoder_loaded(te));
    if (te) { /* encodes again after an unload */
        vgen_tensor ctx;
        CHECKF(vgen_text_encoder_encode(te, "", &ctx, NULL, &err) == 0, "%s", err.msg);
        vgen_tensor_release(&ctx);
    }
    vgen_text_encoder_free(&te);
    vgen_backend_free(&be);
    cJSON_Delete(root);
    vgen_st_close(&io);
}

static void expect_new_error(const vgen_text_encoder_params *p, int code, const char *m1, const char *m2) {
    vgen_backend *be = make_backend();
    vgen_text_encoder *te = NULL;
    vgen_err err = {0};
    int rc = be ? vgen_text_encoder_new(p, be, &te, &err) : -1;
    CHECKF(rc == code, "rc %d (%s), expected %d", rc, err.msg, code);
    CHECK(te == NULL);
    if (m1) CHECK_STR_CONTAINS(err.msg, m1);
    if (m2) CHECK_STR_CONTAINS(err.msg, m2);
    vgen_text_encoder_free(&te);
    vgen_backend_free(&be);
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static void test_bad_setup(void) {
    vgen_text_encoder_params p = f32_params();
    p.tokenizer_path = TMP "/no_such_tokenizer.json";
    expect_new_error(&p, VGEN_ERR_NOT_FOUND, "no_such_tokenizer.json", NULL);

    const char *bpe = TMP "/tok_bpe.json";
    CHECK(write_text(bpe, "{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}") == 0);
    p.tokenizer_path = bpe;
    expect_new_error(&p, VGEN_ERR_UNSUPPORTED, "BPE", NULL);
    remove(bpe);

    p = f32_params();
    p.encoder_path = TMP "/no_such_text_encoder";
    expect_new_error(&p, VGEN_ERR_NOT_FOUND, NULL, NULL);

    const char *cfg = TMP "/umt5_small_vocab.json"; /* the tokenizer's 3100 ids do not fit 3000 rows */
    CHECK(write_text(cfg, "{\"vocab_size\": 3000, \"d_model\": 64, \"d_kv\": 16, \"num_heads\": 4, \"num_layers\": 2, "
                          "\"d_ff\": 160}") == 0);
    p = f32_params();
    p.umt5.config_path = cfg;
    expect_new_error(&p, VGEN_ERR_SHAPE, "ids up to 3099", "3000 rows");
    remove(cfg);

    p = f32_params();
    p.max_len = 1;
    expect_new_error(&p, VGEN_ERR_INVALID_ARGUMENT, "max_len", NULL);
    p = f32_params();
    p.tokenizer_path = NULL;
    expect_new_error(&p, VGEN_ERR_INVALID_ARGUMENT, NULL, NULL);
}

static void test_bad_prompts(void) {
    vgen_backend *be = make_backend();
    vgen_text_encoder_params p = f32_params();
    vgen_text_encoder *te = NULL;
    vgen_err err = {0};
    if (be) CHECKF(vgen_text_encoder_new(&p, be, &te, &err) == 0, "new: %s", err.msg);
    if (!te) goto done;
    vgen_tensor ctx;
    CHECK(vgen_text_encoder_encode(te, "caf\xc3(", &ctx, NULL, &err) == VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "invalid UTF-8");
    CHECK_STR_CONTAINS(err.msg, "offset 3");
    CHECK(ctx.data == NULL);
    CHECK(vgen_text_encoder_encode(te, "\xff", &ctx, NULL, &err) == VGEN_ERR_INVALID_ARGUMENT);
    CHECK(vgen_text_encoder_encode(te, NULL, &ctx, NULL, &err) == VGEN_ERR_INVALID_ARGUMENT);
    CHECK(!vgen_text_encoder_loaded(te)); /* nothing was encoded */
    int64_t n = 0; /* whitespace only cleans to "" */
    CHECKF(vgen_text_encoder_encode(te, " \t\n ", &ctx, &n, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(n, 1);
    vgen_tensor_release(&ctx);
done:
    vgen_text_encoder_free(&te);
    vgen_backend_free(&be);
}

int main(void) {
    RUN(test_front_end_matches_pipeline);
    RUN(test_bad_setup);
    RUN(test_bad_prompts);
    return test_summary();
}

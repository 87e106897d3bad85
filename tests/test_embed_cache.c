/* test_embed_cache.c - the embedding cache (textenc/embed_cache.h): entries round-trip exactly and are keyed by every
 * key field; a truncated file, a file that is not safetensors, a flipped data byte, a wrong shape, an entry moved to
 * another key's name, non-zero padding rows and a changed tokenization are each reported as a warning through the log
 * callback and treated as a miss, after which a put makes the entry valid again; a directory that cannot be created
 * gives one warning and a cache that never stores. Through the text-encoder front end a second process-like instance
 * gets the encoding from the cache without loading the encoder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "embed_cache.h"
#include "safetensors.h"
#include "testutil.h"
#include "text_encoder.h"
#include "cpu/ops_cpu.h"

#define UMT5_DIR VGEN_FIXTURES_DIR "/umt5/tiny"
#define TOK_DIR VGEN_FIXTURES_DIR "/tokenizer"
#define TMP VGEN_TEST_TMPDIR
#define L 16
#define D 8

typedef struct log_capture {
    int warnings;
    char last[1024];
} log_capture;

static void capture(vgen_log_level level, const char *message, void *user_data) {
    log_capture *c = user_data;
    if (level != VGEN_LOG_WARN) return;
    c->warnings++;
    snprintf(c->last, sizeof c->last, "%s", message);
}

static char g_dir[512]; /* per run: TMP/embed_cache.<pid> (set once in main; tests only read it) */

static vgen_embed_key base_key(const char *prompt) {
    return (vgen_embed_key){.weights_id = 0x1234, .tokenizer_id = 0x5678, .prompt = prompt, .max_len = L,
                            .d_model = D, .precision = "f32/stored/same/wo_f32=0/round_scores=0"};
}

/* ctx[L, D]: rows [0, n) = seed-dependent values, the rest zero. */
static void fill_ctx(float *ctx, int n, int seed) {
    for (int i = 0; i < L * D; i++) ctx[i] = i < n * D ? (float)((i * 37 + seed * 11) % 101) / 7.0f - 5.0f : 0.0f;
}

static void test_round_trip_and_keys(void) {
    log_capture lc = {0};
    vgen_logger log = {capture, &lc, VGEN_LOG_DEBUG};
    vgen_embed_cache *c = NULL;
    vgen_err err = {0};
    CHECKF(vgen_embed_cache_open(g_dir, &log, &c, &err) == 0, "%s", err.msg);
    CHECK(vgen_embed_cache_writable(c));
    float ctx[L * D], got[L * D];
    fill_ctx(ctx, 5, 1);
    vgen_embed_key k = base_key("a prompt with \"quotes\", a\nnewline and caf\xc3\xa9");
    vgen_embed_tokens tok = {5, 0xabcdef};
    CHECK(vgen_embed_cache_get(c, &k, &tok, got) == 0); /* nothing stored yet: a silent miss */
    vgen_embed_cache_put(c, &k, &tok, ctx);
    CHECK(vgen_embed_cache_get(c, &k, &tok, got) == 1);
    CHECK(memcmp(ctx, got, sizeof ctx) == 0);
    /* every key field matters */
    vgen_embed_key other[6] = {k, k, k, k, k, k};
    other[0].prompt = "another prompt";
    other[1].weights_id = 0x1235;
    other[2].tokenizer_id = 0x5679;
    other[3].max_len = L + 1;
    other[4].precision = "bf16/stored/same/wo_f32=0/round_scores=1";
    other[5].d_model = D + 1;
    for (int i = 0; i < 6; i++) CHECKF(vgen_embed_cache_get(c, &other[i], &tok, got) == 0, "key variant %d", i);
    CHECK_EQ_INT(lc.warnings, 0);
    vgen_embed_cache_free(&c);
}

/* A valid entry for key k at its path (returned in path). */
static vgen_embed_cache *fresh_entry(log_capture *lc, vgen_logger *log, const vgen_embed_key *k,
                                     const vgen_embed_tokens *tok, char *path, size_t size) {
    vgen_embed_cache *c = NULL;
    vgen_err err = {0};
    *lc = (log_capture){0};
    if (vgen_embed_cache_open(g_dir, log, &c, &err)) return NULL;
    float ctx[L * D];
    fill_ctx(ctx, (int)tok->n_tokens, 2);
    vgen_embed_cache_put(c, k, tok, ctx);
    vgen_embed_cache_entry_path(c, k, path, size);
    return c;
}

/* After damage: a miss with a warning containing `what`, then a put repairs it. */
static void expect_repaired(vgen_embed_cache *c, log_capture *lc, const vgen_embed_key *k,
                            const vgen_embed_tokens *tok, const char *what) {
    float got[L * D], ctx[L * D];
    CHECKF(vgen_embed_cache_get(c, k, tok, got) == 0, "%s: should miss", what);
    CHECKF(lc->warnings == 1, "%s: %d warnings", what, lc->warnings);
    CHECK_STR_CONTAINS(lc->last, what);
    fill_ctx(ctx, (int)tok->n_tokens, 3);
    vgen_embed_cache_put(c, k, tok, ctx);
    CHECK(vgen_embed_cache_get(c, k, tok, got) == 1 && memcmp(got, ctx, sizeof ctx) == 0);
    CHECK_EQ_INT(lc->warnings, 1);
}

static void flip_byte(const char *path, long from_end) {
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    fseek(f, -from_end, SEEK_END);
    int b = fgetc(f);
    fseek(f, -from_end, SEEK_END);
    fputc(b ^ 0x40, f);
    fclose(f);
}

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int ch;
    while (a && b && (ch = fgetc(a)) != EOF) fputc(ch, b);
    if (a) fclose(a);
    if (b) fclose(b);
}

/* Rewrites the entry at path with the same metadata but ctx [L, D/2]. */
static void rewrite_wrong_shape(const char *path) {
    vgen_st_set *set = NULL;
    vgen_err err = {0};
    if (vgen_st_open(path, &set, &err)) return;
    size_t n = vgen_st_metadata_count(set);
    const char *keys[16], *values[16];
    char kbuf[16][64], vbuf[16][256];
    for (size_t i = 0; i < n && i < 16; i++) {
        const char *kk, *vv;
        vgen_st_metadata_at(set, i, &kk, &vv);
        snprintf(kbuf[i], sizeof kbuf[i], "%s", kk), snprintf(vbuf[i], sizeof vbuf[i], "%s", vv);
        keys[i] = kbuf[i], values[i] = vbuf[i];
    }
    vgen_st_close(&set);
    float data[L * D / 2] = {0};
    vgen_st_decl decl = {.name = "ctx", .dtype = VGEN_ST_F32, .n_dims = 2, .shape = {L, D / 2}};
    vgen_st_writer *w = NULL;
    int rc = vgen_st_writer_open(path, &decl, 1, keys, values, n, &w, &err);
    if (!rc) rc = vgen_st_writer_write(w, data, sizeof data, &err);
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    vgen_st_writer_abort(&w);
    CHECKF(rc == 0, "%s", err.msg);
}

static void test_corrupt_entries(void) {
    log_capture lc;
    vgen_logger log = {capture, &lc, VGEN_LOG_INFO};
    vgen_embed_key k = base_key("corruption");
    vgen_embed_tokens tok = {4, 0x42};
    char path[1024];
    vgen_embed_cache *c = fresh_entry(&lc, &log, &k, &tok, path, sizeof path);
    if (!c) return;
    struct stat st;
    CHECK(stat(path, &st) == 0);

    CHECK(truncate(path, st.st_size / 2) == 0); /* truncated */
    expect_repaired(c, &lc, &k, &tok, "unreadable or corrupt");
    lc = (log_capture){0};
    FILE *f = fopen(path, "wb"); /* not safetensors at all */
    if (f) fputs("not a safetensors file", f), fclose(f);
    expect_repaired(c, &lc, &k, &tok, "unreadable or corrupt");
    lc = (log_capture){0};
    flip_byte(path, 5); /* a data byte */
    expect_repaired(c, &lc, &k, &tok, "checksum");
    lc = (log_capture){0};
    rewrite_wrong_shape(path);
    expect_repaired(c, &lc, &k, &tok, "wrong dtype or shape");

    vgen_embed_key k2 = base_key("another prompt"); /* an entry moved to another key's name */
    char path2[1024];
    vgen_embed_cache_entry_path(c, &k2, path2, sizeof path2);
    copy_file(path, path2);
    lc = (log_capture){0};
    expect_repaired(c, &lc, &k2, &tok, "\"prompt\" differs");
    remove(path2);

    lc = (log_capture){0};
    vgen_embed_tokens tok2 = {4, 0x43}; /* the same prompt now tokenizes differently */
    expect_repaired(c, &lc, &k, &tok2, "\"ids_fnv\" differs");

    float bad[L * D];
    fill_ctx(bad, 4, 5);
    bad[L * D - 1] = 1.0f; /* a padding row that is not zero */
    vgen_embed_cache_put(c, &k, &tok, bad);
    lc = (log_capture){0};
    expect_repaired(c, &lc, &k, &tok, "not zero");
    remove(path);
    vgen_embed_cache_free(&c);
}

static void test_unwritable_dir(void) {
    char file[600], dir[700];
    snprintf(file, sizeof file, "%s/plain_file", g_dir);
    snprintf(dir, sizeof dir, "%s/sub", file); /* a directory under a regular file cannot exist */
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    log_capture lc = {0};
    vgen_logger log = {capture, &lc, VGEN_LOG_INFO};
    vgen_embed_cache *c = NULL;
    vgen_err err = {0};
    CHECKF(vgen_embed_cache_open(dir, &log, &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(lc.warnings, 1);
    CHECK_STR_CONTAINS(lc.last, "cannot be used");
    CHECK(c && !vgen_embed_cache_writable(c));
    float ctx[L * D];
    fill_ctx(ctx, 3, 1);
    vgen_embed_key k = base_key("x");
    vgen_embed_tokens tok = {3, 1};
    vgen_embed_cache_put(c, &k, &tok, ctx);
    CHECK(vgen_embed_cache_get(c, &k, &tok, ctx) == 0);
    CHECK_EQ_INT(lc.warnings, 1);
    vgen_embed_cache_free(&c);
    remove(file);
}

static void test_identities(void) {
    vgen_st_set *set = NULL;
    vgen_err err = {0};
    uint64_t a = 0, b = 0, c = 0, t1 = 0, t2 = 0, t3 = 0;
    CHECKF(vgen_st_open(UMT5_DIR, &set, &err) == 0, "%s", err.msg);
    CHECK(set && vgen_embed_cache_weights_id(set, NULL, &a, &err) == 0);
    CHECK(set && vgen_embed_cache_weights_id(set, NULL, &b, &err) == 0);
    CHECK(set && vgen_embed_cache_weights_id(set, UMT5_DIR "/config.json", &c, &err) == 0);
    CHECK(a == b && a != c);
    vgen_st_close(&set);
    CHECK(vgen_embed_cache_tokenizer_id(TOK_DIR, &t1, &err) == 0);
    CHECK(vgen_embed_cache_tokenizer_id(TOK_DIR "/tokenizer.json", &t2, &err) == 0);
    CHECK(vgen_embed_cache_tokenizer_id(TOK_DIR "/spiece.model", &t3, &err) == 0);
    CHECK(t1 != t2 && t2 != t3 && t1 != t3);
    CHECK(vgen_embed_cache_tokenizer_id(TMP "/no_such_tokenizer", &t1, &err) != 0);
    int32_t ids[4] = {5, 6, 1, 0};
    uint8_t mask[4] = {1, 1, 1, 0}, mask2[4] = {1, 1, 1, 1};
    CHECK(vgen_embed_cache_ids_hash(ids, mask, 4) != vgen_embed_cache_ids_hash(ids, mask2, 4));
}

/* Encodes prompt with a fresh front end on cache_dir; returns ctx (caller releases) and whether it loaded UMT5. */
static int front_end_encode(const char *cache_dir, vgen_dtype compute, const char *prompt, vgen_tensor *ctx,
                            int *loaded) {
    vgen_backend *be = NULL;
    vgen_err err = {0};
    int rc = vgen_backend_cpu_new(NULL, &be, &err);
    if (!rc) vgen_cpu_ops_install(be); /* idempotent; until the constructor installs the CPU ops */
    vgen_text_encoder_params p;
    vgen_text_encoder_params_init(&p);
    p.tokenizer_path = TOK_DIR;
    p.encoder_path = UMT5_DIR;
    p.umt5.compute = compute;
    p.cache_dir = cache_dir;
    vgen_text_encoder *te = NULL;
    if (!rc) rc = vgen_text_encoder_new(&p, be, &te, &err);
    if (!rc) rc = vgen_text_encoder_encode(te, prompt, ctx, NULL, &err);
    CHECKF(rc == 0, "%s", err.msg);
    *loaded = vgen_text_encoder_loaded(te);
    vgen_text_encoder_free(&te);
    vgen_backend_free(&be);
    return rc;
}

static void test_front_end_cache(void) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/front", g_dir);
    const char *prompt = "A red fox running through a snowy forest, cinematic lighting, slow motion.";
    vgen_tensor a = {0}, b = {0}, c = {0};
    int la = 0, lb = 1, lc = 0;
    if (front_end_encode(dir, VGEN_DTYPE_F32, prompt, &a, &la)) return;
    CHECK(la == 1); /* a miss loads the encoder */
    if (!front_end_encode(dir, VGEN_DTYPE_F32, prompt, &b, &lb)) {
        CHECK(lb == 0); /* a hit does not */
        CHECK(memcmp(a.data, b.data, vgen_tensor_bytes(&a)) == 0);
    }
    if (!front_end_encode(dir, VGEN_DTYPE_BF16, prompt, &c, &lc)) CHECK(lc == 1); /* another precision: a miss */
    vgen_tensor_release(&a), vgen_tensor_release(&b), vgen_tensor_release(&c);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s/embed_cache.%d", TMP, (int)getpid());
    RUN(test_round_trip_and_keys);
    RUN(test_corrupt_entries);
    RUN(test_unwritable_dir);
    RUN(test_identities);
    RUN(test_front_end_cache);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return test_summary();
}

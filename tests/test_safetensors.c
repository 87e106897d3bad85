/* test_safetensors.c - the safetensors reader and writer: round trips, sharded sets, directories, the writer's
 * failure modes, and one malformed file per validation rule (tests/st_build.h), each checked for its status code
 * and its exact message. Every malformed file is left in VGEN_TEST_TMPDIR as malformed_<rule>.safetensors. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checked.h"
#include "safetensors.h"
#include "st_build.h"
#include "testutil.h"

#define TMP VGEN_TEST_TMPDIR

/* ---- helpers ----------------------------------------------------------------------------------------- */

static const char *tmp_path(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", TMP, name);
    return buf;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* An empty directory TMP/name (emptied if it exists). */
static const char *fresh_dir(char *buf, size_t size, const char *name) {
    tmp_path(buf, size, name);
    mkdir(buf, 0755);
    DIR *d = opendir(buf);
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", buf, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    return buf;
}

static int write_in(const char *dir, const char *name, const char *header, size_t data_len) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stb_write_st(p, header, data_len);
}

static int write_text(const char *dir, const char *name, const char *text) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stb_write(p, text, strlen(text));
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = malloc(1 << 16);
    *n = buf ? fread(buf, 1, 1 << 16, f) : 0;
    fclose(f);
    return buf;
}

/* Opens path expecting failure with code and a message containing expect; the message must be one line. */
static void expect_open_error(const char *path, int code, const char *expect) {
    vgen_st_set *set = (vgen_st_set *)(uintptr_t)1;
    vgen_err err;
    vgen_err_clear(&err);
    int rc = vgen_st_open(path, &set, &err);
    CHECK_EQ_INT(rc, code);
    CHECK_EQ_INT(err.code, code);
    CHECK(set == NULL);
    CHECK_STR_CONTAINS(err.msg, expect);
    CHECK(strchr(err.msg, '\n') == NULL);
    if (rc == VGEN_OK) vgen_st_close(&set);
}

static void fill(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + 7 * i);
}

/* ---- writer -> reader round trip ------------------------------------------------------------------------ */

#define RT_N 9
static const vgen_st_decl RT_DECLS[RT_N] = {
    {"model.weight", VGEN_ST_F32, 2, {2, 3}},
    {"bf", VGEN_ST_BF16, 1, {4}},
    {"fp8.weight", VGEN_ST_F8_E4M3, 2, {3, 5}},
    {"empty", VGEN_ST_F16, 2, {0, 4}},
    {"we\"ird\\name\n\x01\t", VGEN_ST_I64, 1, {2}},
    {"\xE5\x90\x8D\xE5\x89\x8D.weight", VGEN_ST_BOOL, 1, {3}},
    {"scalar", VGEN_ST_U8, 0, {0}},
    {"", VGEN_ST_F8_E5M2, 3, {1, 2, 1}},
    {"tail_empty", VGEN_ST_F64, 3, {7, 0, 9007199254740991}},
};

static int write_roundtrip(const char *path) {
    static const char *const keys[] = {"format", "quote\"key", "\xC3\xA9t\xC3\xA9"};
    static const char *const values[] = {"pt", "line\nvalue\\", ""};
    vgen_st_writer *w = NULL;
    vgen_err err;
    int rc = vgen_st_writer_open(path, RT_DECLS, RT_N, keys, values, 3, &w, &err);
    CHECKF(rc == VGEN_OK, "writer_open: %s", err.msg);
    for (int i = 0; rc == VGEN_OK && i < RT_N; i++) {
        uint8_t buf[64];
        uint64_t numel = 0;
        vgen_shape_numel(RT_DECLS[i].shape, RT_DECLS[i].n_dims, &numel);
        size_t n = (size_t)numel * vgen_st_dtype_size(RT_DECLS[i].dtype);
        fill(buf, n, (uint8_t)i);
        size_t half = n / 2; /* two calls per tensor: streaming */
        rc = vgen_st_writer_write(w, buf, half, &err);
        if (rc == VGEN_OK) rc = vgen_st_writer_write(w, buf + half, n - half, &err);
        CHECKF(rc == VGEN_OK, "write %d: %s", i, err.msg);
    }
    if (rc == VGEN_OK) rc = vgen_st_writer_finish(&w, &err);
    CHECKF(rc == VGEN_OK, "finish: %s", err.msg);
    CHECK(w == NULL);
    vgen_st_writer_abort(&w);
    return rc;
}

static void check_roundtrip_set(const vgen_st_set *set) {
    CHECK_EQ_INT(vgen_st_count(set), RT_N);
    for (int i = 0; i < RT_N; i++) {
        const vgen_st_tensor *t = vgen_st_at(set, (size_t)i), *f = vgen_st_find(set, RT_DECLS[i].name);
        if (!t || !f) { CHECKF(0, "tensor %d missing", i); continue; }
        CHECK(t == f); /* declaration order == data order here */
        CHECK(strcmp(t->name, RT_DECLS[i].name) == 0);
        CHECK_EQ_INT(t->dtype, RT_DECLS[i].dtype);
        CHECK_EQ_INT(t->n_dims, RT_DECLS[i].n_dims);
        for (int d = 0; d < t->n_dims; d++) CHECK_EQ_INT(t->shape[d], RT_DECLS[i].shape[d]);
        uint8_t want[64];
        fill(want, (size_t)t->n_bytes, (uint8_t)i);
        CHECK(t->n_bytes <= 64 && (t->n_bytes == 0 || memcmp(t->data, want, (size_t)t->n_bytes) == 0));
        CHECK_EQ_INT(t->shard, 0);
    }
    CHECK_EQ_INT(vgen_st_metadata_count(set), 3);
    CHECK(vgen_st_metadata_get(set, "format") && strcmp(vgen_st_metadata_get(set, "format"), "pt") == 0);
    const char *qv = vgen_st_metadata_get(set, "quote\"key");
    CHECK(qv && strcmp(qv, "line\nvalue\\") == 0);
    CHECK(vgen_st_metadata_get(set, "\xC3\xA9t\xC3\xA9") && vgen_st_metadata_get(set, "\xC3\xA9t\xC3\xA9")[0] == '\0');
    const char *k = NULL, *v = NULL;
    vgen_st_metadata_at(set, 1, &k, &v);
    CHECK(k && strcmp(k, "quote\"key") == 0);
    vgen_st_metadata_at(set, 3, &k, &v);
    CHECK(k == NULL && v == NULL);
    CHECK(vgen_st_metadata_get(set, "missing") == NULL);
}

static void test_roundtrip(void) {
    char path[1024];
    tmp_path(path, sizeof path, "st_roundtrip.safetensors");
    if (write_roundtrip(path) != VGEN_OK) return;
    vgen_st_set *set = NULL;
    vgen_err err;
    int rc = vgen_st_open(path, &set, &err);
    CHECKF(rc == VGEN_OK, "open: %s", err.msg);
    if (rc) return;
    check_roundtrip_set(set);
    CHECK_EQ_INT(vgen_st_shard_count(set), 1);
    CHECK(vgen_st_shard_path(set, 0) && strcmp(vgen_st_shard_path(set, 0), path) == 0);
    CHECK(vgen_st_shard_path(set, 1) == NULL);
    vgen_st_close(&set);
    CHECK(set == NULL);
    vgen_st_close(&set); /* safe twice */
    /* the header is padded to a multiple of 8 so the data buffer starts aligned */
    size_t n = 0;
    uint8_t *bytes = read_all(path, &n);
    CHECK(bytes && n >= 8);
    if (bytes) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--) len = (len << 8) | bytes[i];
        CHECK_EQ_INT(len % 8, 0);
        CHECK(len + 8 <= n);
    }
    free(bytes);
    char tmpname[1100];
    snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", path, (long)getpid());
    CHECK(!file_exists(tmpname));
}

/* The exact bytes of a small file, as the Rust implementation lays them out. */
static void test_writer_golden_bytes(void) {
    char path[1024];
    tmp_path(path, sizeof path, "st_golden.safetensors");
    vgen_st_decl d = {"a", VGEN_ST_F32, 1, {2}};
    vgen_st_writer *w = NULL;
    vgen_err err;
    const float vals[2] = {1.0f, -2.0f};
    int rc = vgen_st_writer_open(path, &d, 1, NULL, NULL, 0, &w, &err);
    if (rc == VGEN_OK) rc = vgen_st_writer_write(w, vals, sizeof vals, &err);
    if (rc == VGEN_OK) rc = vgen_st_writer_finish(&w, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    const char *json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"; /* 54 bytes -> 56 */
    size_t n = 0;
    uint8_t *bytes = read_all(path, &n);
    CHECK_EQ_INT(n, 8 + 56 + 8);
    if (bytes && n == 72) {
        CHECK(bytes[0] == 56 && bytes[1] == 0 && bytes[7] == 0);
        CHECK(memcmp(bytes + 8, json, 54) == 0 && bytes[62] == ' ' && bytes[63] == ' ');
        CHECK(memcmp(bytes + 64, vals, 8) == 0);
    }
    free(bytes);
}

static void test_empty_and_header_only(void) {
    char path[1024];
    tmp_path(path, sizeof path, "st_header_only.safetensors");
    vgen_st_decl d[2] = {{"z0", VGEN_ST_F32, 1, {0}}, {"z1", VGEN_ST_BF16, 2, {3, 0}}};
    vgen_st_writer *w = NULL;
    vgen_err err;
    int rc = vgen_st_writer_open(path, d, 2, NULL, NULL, 0, &w, &err);
    if (rc == VGEN_OK) rc = vgen_st_writer_finish(&w, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    vgen_st_set *set = NULL;
    rc = vgen_st_open(path, &set, &err); /* nothing past the header: the data buffer is empty */
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    CHECK_EQ_INT(vgen_st_count(set), 2);
    CHECK(vgen_st_find(set, "z1") && vgen_st_find(set, "z1")->n_bytes == 0);
    vgen_st_close(&set);
    /* no tensors at all */
    tmp_path(path, sizeof path, "st_no_tensors.safetensors");
    rc = vgen_st_writer_open(path, NULL, 0, NULL, NULL, 0, &w, &err);
    if (rc == VGEN_OK) rc = vgen_st_writer_finish(&w, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    rc = vgen_st_open(path, &set, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    CHECK_EQ_INT(vgen_st_count(set), 0);
    CHECK(vgen_st_at(set, 0) == NULL && vgen_st_find(set, "") == NULL);
    vgen_st_close(&set);
}

/* Whitespace around the object, integral number forms, 2^53 - 1, several zero-size tensors at one offset. */
static void test_parse_accepts(void) {
    const char *h = " \t\n{\"__metadata__\":{}, \"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]},"
                    "\"a\":{\"dtype\":\"U8\",\"shape\":[4.0],\"data_offsets\":[0,4e0]},"
                    "\"c\":{\"dtype\":\"U8\",\"shape\":[0,9007199254740991],\"data_offsets\":[4,4]},"
                    "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}\r\n ";
    stb_bytes b = stb_file(h, 4);
    vgen_st_set *set = NULL;
    vgen_err err;
    int rc = vgen_st_parse(b.p, b.n, "accepts.safetensors", &set, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    if (rc == VGEN_OK) {
        CHECK_EQ_INT(vgen_st_count(set), 4);
        const char *order[4] = {"z", "a", "b", "c"}; /* by (begin, end, name) */
        for (int i = 0; i < 4; i++) CHECK(strcmp(vgen_st_at(set, (size_t)i)->name, order[i]) == 0);
        CHECK(vgen_st_find(set, "a")->data == b.p + 8 + strlen(h));
        CHECK_EQ_INT(vgen_st_find(set, "c")->shape[1], 9007199254740991LL);
        CHECK_EQ_INT(vgen_st_metadata_count(set), 0);
    }
    vgen_st_close(&set);
    stb_free(&b);
}

static void test_find(void) {
    char hdr[8192] = "{";
    size_t o = 1;
    for (int i = 0; i < 100; i++) /* names in a scrambled order, data in declaration order */
        o += (size_t)snprintf(hdr + o, sizeof hdr - o,
                              "%s\"t%03d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%d,%d]}", i ? "," : "",
                              (i * 37) % 100, i, i + 1);
    snprintf(hdr + o, sizeof hdr - o, "}");
    stb_bytes b = stb_file(hdr, 100);
    vgen_st_set *set = NULL;
    vgen_err err;
    int rc = vgen_st_parse(b.p, b.n, "find.safetensors", &set, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    for (int i = 0; rc == VGEN_OK && i < 100; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%03d", (i * 37) % 100);
        const vgen_st_tensor *t = vgen_st_find(set, name);
        CHECK(t && strcmp(t->name, name) == 0 && t == vgen_st_at(set, (size_t)i));
        CHECK(t && *(const uint8_t *)t->data == (uint8_t)i);
    }
    CHECK(vgen_st_find(set, "t100") == NULL && vgen_st_find(set, "t") == NULL && vgen_st_find(set, "") == NULL);
    CHECK(vgen_st_find(set, NULL) == NULL && vgen_st_find(NULL, "t000") == NULL);
    vgen_st_close(&set);
    stb_free(&b);
}

/* ---- sharded sets and directories --------------------------------------------------------------------- */

#define SH_A "{\"__metadata__\":{\"format\":\"pt\",\"shard\":\"1\"}," \
             "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," \
             "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}"
#define SH_B "{\"__metadata__\":{\"shard\":\"2\"},\"c\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}"
#define SH_INDEX "{\"metadata\":{\"total_size\":19,\"origin\":\"test\"},\"weight_map\":{" \
                 "\"c\":\"model-00002-of-00002.safetensors\",\"a\":\"model-00001-of-00002.safetensors\"," \
                 "\"b\":\"model-00001-of-00002.safetensors\"}}"

static void write_sharded(const char *dir) {
    CHECK(write_in(dir, "model-00001-of-00002.safetensors", SH_A, 11) == 0);
    CHECK(write_in(dir, "model-00002-of-00002.safetensors", SH_B, 8) == 0);
    CHECK(write_text(dir, "model.safetensors.index.json", SH_INDEX) == 0);
}

static void check_sharded(const vgen_st_set *set) {
    CHECK_EQ_INT(vgen_st_count(set), 3);
    CHECK_EQ_INT(vgen_st_shard_count(set), 2);
    const char *order[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        const vgen_st_tensor *t = vgen_st_at(set, (size_t)i);
        CHECK(t && strcmp(t->name, order[i]) == 0 && vgen_st_find(set, order[i]) == t);
    }
    const vgen_st_tensor *b = vgen_st_find(set, "b"), *c = vgen_st_find(set, "c");
    CHECK(b && b->shard == 0 && b->n_bytes == 3 && ((const uint8_t *)b->data)[0] == 8);
    CHECK(c && c->shard == 1 && c->n_dims == 2 && ((const uint8_t *)c->data)[7] == 7);
    CHECK(vgen_st_shard_path(set, 1) && strstr(vgen_st_shard_path(set, 1), "/model-00002-of-00002.safetensors"));
    /* the index's string metadata (total_size is a number: skipped), then the first shard's */
    CHECK_EQ_INT(vgen_st_metadata_count(set), 3);
    const char *k = NULL, *v = NULL;
    vgen_st_metadata_at(set, 0, &k, &v);
    CHECK(k && strcmp(k, "origin") == 0 && strcmp(v, "test") == 0);
    CHECK(vgen_st_metadata_get(set, "shard") && strcmp(vgen_st_metadata_get(set, "shard"), "1") == 0);
    CHECK(vgen_st_metadata_get(set, "total_size") == NULL);
}

static void test_sharded_index(void) {
    char dir[1024], path[1100];
    fresh_dir(dir, sizeof dir, "st_sharded");
    write_sharded(dir);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    vgen_st_set *set = NULL;
    vgen_err err;
    int rc = vgen_st_open(path, &set, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    if (rc == VGEN_OK) check_sharded(set);
    vgen_st_close(&set);
    rc = vgen_st_open(dir, &set, &err); /* the directory: its single index */
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    if (rc == VGEN_OK) check_sharded(set);
    vgen_st_close(&set);
}

static void test_directory_open(void) {
    char dir[1024];
    vgen_st_set *set = NULL;
    vgen_err err;
    const char *one = "{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    fresh_dir(dir, sizeof dir, "st_dir_empty");
    expect_open_error(dir, VGEN_ERR_NOT_FOUND,
                      "directory holds no *.safetensors or *.safetensors.index.json file (found nothing)");
    CHECK(write_text(dir, "model.pth", "x") == 0);
    expect_open_error(dir, VGEN_ERR_NOT_FOUND, "(found model.pth)");
    /* a single other *.safetensors is taken */
    CHECK(write_in(dir, "weights.fp16.safetensors", one, 1) == 0);
    int rc = vgen_st_open(dir, &set, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    CHECK(rc || strstr(vgen_st_shard_path(set, 0), "weights.fp16.safetensors"));
    vgen_st_close(&set);
    /* model.safetensors is preferred to other *.safetensors */
    CHECK(write_in(dir, "diffusion_pytorch_model.safetensors", one, 1) == 0);
    rc = vgen_st_open(dir, &set, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    CHECK(rc || strstr(vgen_st_shard_path(set, 0), "/diffusion_pytorch_model.safetensors"));
    vgen_st_close(&set);
    CHECK(write_in(dir, "model.safetensors", one, 1) == 0);
    expect_open_error(dir, VGEN_ERR_INVALID_ARGUMENT, "ambiguous directory: it holds 2 candidate checkpoints "
                      "(diffusion_pytorch_model.safetensors, model.safetensors)");
    /* shards without their index: ambiguous */
    fresh_dir(dir, sizeof dir, "st_dir_shards");
    CHECK(write_in(dir, "model-00001-of-00002.safetensors", one, 1) == 0);
    CHECK(write_in(dir, "model-00002-of-00002.safetensors", one, 1) == 0);
    expect_open_error(dir, VGEN_ERR_INVALID_ARGUMENT,
                      "(model-00001-of-00002.safetensors, model-00002-of-00002.safetensors)");
}

static void test_open_errors(void) {
    char path[1024];
    expect_open_error(tmp_path(path, sizeof path, "st_does_not_exist.safetensors"), VGEN_ERR_NOT_FOUND, "not found");
    expect_open_error(tmp_path(path, sizeof path, "st_no_dir/x.safetensors"), VGEN_ERR_NOT_FOUND,
                      "st_no_dir/x.safetensors: not found");
    vgen_st_set *set = NULL;
    CHECK_EQ_INT(vgen_st_open(NULL, &set, NULL), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_st_open(path, NULL, NULL), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_st_parse(NULL, 10, "x", &set, NULL), VGEN_ERR_INVALID_ARGUMENT);
}

/* ---- writer failures ---------------------------------------------------------------------------------------- */

static const vgen_st_decl W2[2] = {{"a", VGEN_ST_F32, 1, {2}}, {"b", VGEN_ST_U8, 1, {4}}};

static void tmp_file_of(char *buf, size_t size, const char *path) {
    snprintf(buf, size, "%s.tmp.%ld.0", path, (long)getpid()); /* core/atomic_file.h's first temporary name */
}

static void test_writer_abort(void) {
    char path[1024], tmp[1100];
    tmp_path(path, sizeof path, "st_abort.safetensors");
    unlink(path);
    tmp_file_of(tmp, sizeof tmp, path);
    vgen_st_writer *w = NULL;
    vgen_err err;
    int rc = vgen_st_writer_open(path, W2, 2, NULL, NULL, 0, &w, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    CHECK(file_exists(tmp) && !file_exists(path));
    uint8_t bytes[8] = {0};
    CHECK_EQ_INT(vgen_st_writer_write(w, bytes, 8, &err), VGEN_OK);
    vgen_st_writer_abort(&w);
    CHECK(w == NULL && !file_exists(tmp) && !file_exists(path));
    vgen_st_writer_abort(&w); /* safe on NULL */
    vgen_st_writer_abort(NULL);
}

static void test_writer_too_many_bytes(void) {
    char path[1024], tmp[1100];
    tmp_path(path, sizeof path, "st_too_many.safetensors");
    unlink(path);
    tmp_file_of(tmp, sizeof tmp, path);
    vgen_st_writer *w = NULL;
    vgen_err err;
    uint8_t bytes[16] = {0};
    CHECK_EQ_INT(vgen_st_writer_open(path, W2, 2, NULL, NULL, 0, &w, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_st_writer_write(w, bytes, 6, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_st_writer_write(w, bytes, 4, &err), VGEN_ERR_INVALID_ARGUMENT); /* crosses into "b" */
    CHECK_STR_CONTAINS(err.msg, "tensor \"a\": write of 4 bytes exceeds its size (6 of 8 bytes written)");
    vgen_err_clear(&err);
    CHECK_EQ_INT(vgen_st_writer_write(w, bytes, 2, &err), VGEN_ERR_INVALID_ARGUMENT); /* failed writers stay failed */
    CHECK_STR_CONTAINS(err.msg, "tensor \"a\": write of 4 bytes exceeds its size");
    vgen_err_clear(&err);
    CHECK_EQ_INT(vgen_st_writer_finish(&w, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "tensor \"a\": write of 4 bytes exceeds its size");
    CHECK(w == NULL && !file_exists(tmp) && !file_exists(path));
    /* after the last tensor */
    CHECK_EQ_INT(vgen_st_writer_open(path, W2, 2, NULL, NULL, 0, &w, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_st_writer_write(w, bytes, 8, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_st_writer_write(w, bytes, 4, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_st_writer_write(w, bytes, 1, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "write of 1 bytes after the last tensor was complete");
    vgen_st_writer_abort(&w);
    CHECK(!file_exists(tmp) && !file_exists(path));
}

static void test_writer_too_few_bytes(void) {
    char path[1024], tmp[1100];
    tmp_path(path, sizeof path, "st_too_few.safetensors");
    unlink(path);
    tmp_file_of(tmp, sizeof tmp, path);
    vgen_st_writer *w = NULL;
    vgen_err err;
    uint8_t bytes[16] = {0};
    CHECK_EQ_INT(vgen_st_writer_open(path, W2, 2, NULL, NULL, 0, &w, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_st_writer_write(w, bytes, 8, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_st_writer_write(w, bytes, 3, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_st_writer_finish(&w, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "tensor \"b\": only 3 of 4 bytes written");
    CHECK(w == NULL && !file_exists(tmp) && !file_exists(path));
}

/* Declarations the writer must refuse before creating anything. */
static void expect_decl_error(const vgen_st_decl *d, size_t n, const char *const *keys, const char *const *vals,
                              size_t n_meta, const char *expect) {
    char path[1024], tmp[1100];
    tmp_path(path, sizeof path, "st_bad_decl.safetensors");
    tmp_file_of(tmp, sizeof tmp, path);
    vgen_st_writer *w = (vgen_st_writer *)(uintptr_t)1;
    vgen_err err;
    vgen_err_clear(&err);
    CHECK_EQ_INT(vgen_st_writer_open(path, d, n, keys, vals, n_meta, &w, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK(w == NULL && !file_exists(tmp));
    CHECK_STR_CONTAINS(err.msg, expect);
}

static void test_writer_invalid_decls(void) {
    vgen_st_decl d[2] = {{"a", VGEN_ST_F32, 1, {2}}, {"a", VGEN_ST_F32, 1, {2}}};
    expect_decl_error(d, 2, NULL, NULL, 0, "tensor \"a\" is declared twice");
    d[1].name = NULL;
    expect_decl_error(d, 2, NULL, NULL, 0, "a tensor name is NULL");
    d[1] = (vgen_st_decl){"b", VGEN_ST_DTYPE_COUNT, 1, {2}};
    expect_decl_error(d, 2, NULL, NULL, 0, "tensor \"b\": unknown dtype");
    d[1] = (vgen_st_decl){"b", VGEN_ST_F32, 9, {1}};
    expect_decl_error(d, 2, NULL, NULL, 0, "tensor \"b\": rank 9 is not in [0, 8]");
    d[1] = (vgen_st_decl){"b", VGEN_ST_F32, 2, {2, -1}};
    expect_decl_error(d, 2, NULL, NULL, 0, "tensor \"b\": dim 1 (-1) is not in [0, 2^53)");
    d[1] = (vgen_st_decl){"b", VGEN_ST_F32, 3, {1LL << 40, 1LL << 40, 1}};
    expect_decl_error(d, 2, NULL, NULL, 0, "tensor \"b\": byte size overflows 64 bits");
    d[1] = (vgen_st_decl){"b", VGEN_ST_F32, 2, {1LL << 26, 1LL << 26}}; /* 2^54 bytes */
    expect_decl_error(d, 2, NULL, NULL, 0, "the data would exceed 2^53 bytes");
    d[1] = (vgen_st_decl){"__metadata__", VGEN_ST_F32, 1, {1}};
    expect_decl_error(d, 2, NULL, NULL, 0, "\"__metadata__\" cannot name a tensor");
    d[1] = (vgen_st_decl){"bad\xC0\xAF", VGEN_ST_F32, 1, {1}};
    expect_decl_error(d, 2, NULL, NULL, 0, "is not valid UTF-8");
    const char *keys[2] = {"k", "k"}, *vals[2] = {"1", "2"};
    expect_decl_error(d, 1, keys, vals, 2, "metadata key \"k\" is declared twice");
    vals[1] = NULL;
    expect_decl_error(d, 1, keys, vals, 2, "metadata entry 1 is NULL");
}

static void test_writer_io_error(void) {
    char path[1024];
    tmp_path(path, sizeof path, "st_no_such_dir/out.safetensors");
    vgen_st_writer *w = NULL;
    vgen_err err;
    CHECK_EQ_INT(vgen_st_writer_open(path, W2, 2, NULL, NULL, 0, &w, &err), VGEN_ERR_IO);
    CHECK_STR_CONTAINS(err.msg, "st_no_such_dir/out.safetensors: creating a temporary file beside it failed");
    CHECK_STR_CONTAINS(err.msg, "No such file or directory");
    CHECK(w == NULL);
}

/* A write that fails midway (here: the file size limit, EFBIG) is an I/O error naming the file, and the temporary
 * file is removed. A full disk takes the same path with ENOSPC and gives VGEN_ERR_NO_SPACE. */
static void test_writer_write_failure(void) {
    char path[1024], tmp[1100];
    tmp_path(path, sizeof path, "st_write_fails.safetensors");
    unlink(path);
    tmp_file_of(tmp, sizeof tmp, path);
    vgen_st_decl d = {"big", VGEN_ST_U8, 1, {1 << 16}};
    static uint8_t bytes[1 << 16];
    vgen_st_writer *w = NULL;
    vgen_err err;
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    int rc = vgen_st_writer_open(path, &d, 1, NULL, NULL, 0, &w, &err);
    if (rc == VGEN_OK) rc = vgen_st_writer_write(w, bytes, sizeof bytes, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    CHECK_EQ_INT(rc, VGEN_ERR_IO);
    CHECK_STR_CONTAINS(err.msg, "st_write_fails.safetensors: writing failed (File too large)");
    CHECK(w != NULL);
    vgen_err_clear(&err);
    CHECK_EQ_INT(vgen_st_writer_finish(&w, &err), VGEN_ERR_IO); /* the first error again */
    CHECK_STR_CONTAINS(err.msg, "st_write_fails.safetensors: writing failed (File too large)");
    CHECK(w == NULL && !file_exists(tmp) && !file_exists(path));
}

/* finish replaces an existing file atomically */
static void test_writer_replaces(void) {
    char path[1024];
    tmp_path(path, sizeof path, "st_replace.safetensors");
    CHECK(stb_write(path, "old", 3) == 0);
    vgen_st_decl d = {"x", VGEN_ST_U8, 1, {1}};
    vgen_st_writer *w = NULL;
    vgen_err err;
    uint8_t v = 42;
    int rc = vgen_st_writer_open(path, &d, 1, NULL, NULL, 0, &w, &err);
    if (!rc) rc = vgen_st_writer_write(w, &v, 1, &err);
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    vgen_st_set *set = NULL;
    CHECK_EQ_INT(vgen_st_open(path, &set, &err), VGEN_OK);
    CHECK(vgen_st_find(set, "x") && *(const uint8_t *)vgen_st_find(set, "x")->data == 42);
    vgen_st_close(&set);
}

/* ---- malformed single files: one per rule ------------------------------------------------------------------- */

static void check_malformed(const stb_case *c) {
    char name[256], path[1024];
    snprintf(name, sizeof name, "malformed_%s.safetensors", c->rule);
    stb_bytes b = stb_case_bytes(c);
    CHECK(b.p != NULL);
    if (!b.p) return;
    vgen_st_set *set = (vgen_st_set *)(uintptr_t)1;
    vgen_err err;
    vgen_err_clear(&err);
    int rc = vgen_st_parse(b.p, b.n, name, &set, &err);
    CHECK_EQ_INT(rc, c->code);
    CHECK_EQ_INT(err.code, c->code);
    CHECK(set == NULL);
    CHECK_STR_CONTAINS(err.msg, c->expect);
    CHECK_STR_CONTAINS(err.msg, name); /* names the file */
    CHECK(strchr(err.msg, '\n') == NULL);
    if (rc == VGEN_OK) vgen_st_close(&set);
    /* the same from disk, through mmap; the file stays for `vgen info` */
    CHECK(stb_write(tmp_path(path, sizeof path, name), b.p, b.n) == 0);
    expect_open_error(path, c->code, c->expect);
    stb_free(&b);
}

/* ---- malformed sharded sets -------------------------------------------------------------------------------- */

#define ONE_A "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}"
#define TWO_AB "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}," \
               "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}"
#define ONE_C "{\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}"

/* Writes malformed_<rule>.safetensors.index.json (index text with "S1"/"S2" standing for the shard names) and
 * its shards malformed_<rule>-00001/2.safetensors (headers h1, h2; NULL: not written), then opens the index. */
static void check_index_case(const char *rule, const char *index, const char *h1, const char *h2, int code,
                             const char *expect) {
    char s1[256], s2[256], name[256], text[2048], path[1024];
    snprintf(s1, sizeof s1, "malformed_%s-00001.safetensors", rule);
    snprintf(s2, sizeof s2, "malformed_%s-00002.safetensors", rule);
    snprintf(name, sizeof name, "malformed_%s.safetensors.index.json", rule);
    size_t o = 0; /* substitute S1 / S2 */
    for (const char *p = index; *p && o + 256 < sizeof text; p++) {
        if (p[0] == 'S' && (p[1] == '1' || p[1] == '2')) {
            o += (size_t)snprintf(text + o, sizeof text - o, "%s", p[1] == '1' ? s1 : s2);
            p++;
        } else {
            text[o++] = *p;
        }
    }
    text[o] = '\0';
    CHECK(write_text(TMP, name, text) == 0);
    tmp_path(path, sizeof path, s2);
    unlink(path);
    if (h1) CHECK(write_in(TMP, s1, h1, 1 + (strstr(h1, "\"b\"") != NULL)) == 0);
    if (h2) CHECK(write_in(TMP, s2, h2, 1) == 0);
    expect_open_error(tmp_path(path, sizeof path, name), code, expect);
}

static void test_index_missing_shard(void) {
    check_index_case("index_missing_shard", "{\"weight_map\":{\"a\":\"S1\",\"c\":\"S2\"}}", ONE_A, NULL,
                     VGEN_ERR_NOT_FOUND, "malformed_index_missing_shard-00002.safetensors: not found");
}

static void test_index_tensor_not_in_map(void) {
    check_index_case("index_tensor_not_in_map", "{\"weight_map\":{\"a\":\"S1\"}}", TWO_AB, NULL, VGEN_ERR_MALFORMED,
                     "tensor \"b\" of shard \"malformed_index_tensor_not_in_map-00001.safetensors\" is not in the "
                     "weight_map");
}

static void test_index_tensor_not_in_shard(void) {
    check_index_case("index_tensor_not_in_shard", "{\"weight_map\":{\"a\":\"S1\",\"c\":\"S1\"}}", ONE_A, NULL,
                     VGEN_ERR_MALFORMED, "weight_map maps tensor \"c\" to shard "
                     "\"malformed_index_tensor_not_in_shard-00001.safetensors\", which does not hold it");
}

static void test_index_wrong_shard(void) {
    check_index_case("index_wrong_shard", "{\"weight_map\":{\"a\":\"S2\",\"c\":\"S1\"}}", ONE_A, ONE_C,
                     VGEN_ERR_MALFORMED, "tensor \"a\" is in shard \"malformed_index_wrong_shard-00001.safetensors\" "
                     "but the weight_map maps it to shard \"malformed_index_wrong_shard-00002.safetensors\"");
}

static void test_index_tensor_in_two_shards(void) {
    check_index_case("index_tensor_in_two_shards", "{\"weight_map\":{\"a\":\"S1\",\"b\":\"S2\"}}", TWO_AB, ONE_A,
                     VGEN_ERR_MALFORMED, "tensor \"a\" is in both shard");
}

static void test_index_path_traversal(void) {
    check_index_case("index_path_traversal", "{\"weight_map\":{\"a\":\"../S1\"}}", ONE_A, NULL, VGEN_ERR_MALFORMED,
                     "weight_map entry for tensor \"a\": shard name "
                     "\"../malformed_index_path_traversal-00001.safetensors\" is not a plain file name in the index's "
                     "directory (path traversal refused)");
    check_index_case("index_path_subdir", "{\"weight_map\":{\"a\":\"sub/S1\"}}", ONE_A, NULL, VGEN_ERR_MALFORMED,
                     "is not a plain file name");
    check_index_case("index_path_dotdot", "{\"weight_map\":{\"a\":\"..\"}}", ONE_A, NULL, VGEN_ERR_MALFORMED,
                     "shard name \"..\" is not a plain file name");
}

static void test_index_bad_json(void) {
    check_index_case("index_bad_json", "{\"weight_map\":{\"a\":\"S1\",}}", ONE_A, NULL, VGEN_ERR_MALFORMED,
                     "malformed_index_bad_json.safetensors.index.json: index is not valid JSON (syntax error");
    check_index_case("index_bad_utf8", "{\"weight_map\":{\"a\xC0\x80\":\"S1\"}}", ONE_A, NULL, VGEN_ERR_MALFORMED,
                     "index is not valid UTF-8 (overlong encoding");
    check_index_case("index_not_object", "[\"S1\"]", ONE_A, NULL, VGEN_ERR_MALFORMED, "index is not a JSON object");
}

static void test_index_bad_weight_map(void) {
    check_index_case("index_no_weight_map", "{\"metadata\":{}}", ONE_A, NULL, VGEN_ERR_MALFORMED,
                     "\"weight_map\" is missing or not an object");
    check_index_case("index_weight_map_array", "{\"weight_map\":[\"S1\"]}", ONE_A, NULL, VGEN_ERR_MALFORMED,
                     "\"weight_map\" is missing or not an object");
    check_index_case("index_weight_map_empty", "{\"weight_map\":{}}", ONE_A, NULL, VGEN_ERR_MALFORMED,
                     "\"weight_map\" is empty");
    check_index_case("index_value_not_string", "{\"weight_map\":{\"a\":1}}", ONE_A, NULL, VGEN_ERR_MALFORMED,
                     "weight_map entry for tensor \"a\" is not a string");
    check_index_case("index_duplicate_tensor", "{\"weight_map\":{\"a\":\"S1\",\"a\":\"S1\"}}", ONE_A, NULL,
                     VGEN_ERR_MALFORMED, "weight_map names tensor \"a\" more than once");
    check_index_case("index_metadata_not_object", "{\"metadata\":1,\"weight_map\":{\"a\":\"S1\"}}", ONE_A, NULL,
                     VGEN_ERR_MALFORMED, "\"metadata\" is not an object");
    check_index_case("index_bad_shard", "{\"weight_map\":{\"a\":\"S1\"}}", "{\"a\":{}}", NULL, VGEN_ERR_MALFORMED,
                     "malformed_index_bad_shard-00001.safetensors: tensor \"a\": missing key \"dtype\"");
}

/* ---- messages stay one line and name the tensor, whatever the name holds ------------------------------------ */

static void test_message_escaping(void) {
    const char *h = "{\"bad\\nname\\u0001\\\"q\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    stb_bytes b = stb_file(h, 1);
    vgen_st_set *set = NULL;
    vgen_err err;
    CHECK_EQ_INT(vgen_st_parse(b.p, b.n, "dir/with\nnewline.safetensors", &set, &err), VGEN_ERR_MALFORMED);
    CHECK(strchr(err.msg, '\n') == NULL);
    CHECK_STR_CONTAINS(err.msg,
                       "dir/with\\x0anewline.safetensors: tensor \"bad\\x0aname\\x01\\\"q\": unknown dtype \"F99\"");
    stb_free(&b);
    char longname[2100] = "{\"";
    memset(longname + 2, 'x', 2000);
    strcpy(longname + 2002, "\":[]}");
    b = stb_file(longname, 0);
    CHECK_EQ_INT(vgen_st_parse(b.p, b.n, "long.safetensors", &set, &err), VGEN_ERR_MALFORMED);
    CHECK_STR_CONTAINS(err.msg, "xxx...\": entry is not an object");
    stb_free(&b);
}

int main(void) {
    RUN(test_roundtrip);
    RUN(test_writer_golden_bytes);
    RUN(test_empty_and_header_only);
    RUN(test_parse_accepts);
    RUN(test_find);
    RUN(test_sharded_index);
    RUN(test_directory_open);
    RUN(test_open_errors);
    RUN(test_writer_abort);
    RUN(test_writer_too_many_bytes);
    RUN(test_writer_too_few_bytes);
    RUN(test_writer_invalid_decls);
    RUN(test_writer_io_error);
    RUN(test_writer_write_failure);
    RUN(test_writer_replaces);
    for (size_t i = 0; i < STB_N_MALFORMED; i++) { /* one test per rule, reported under its name */
        tu_current_failed = 0;
        check_malformed(&STB_MALFORMED[i]);
        if (tu_current_failed) { tu_failed++; fprintf(stderr, "[FAIL] malformed_%s\n", STB_MALFORMED[i].rule); }
        else { tu_passed++; printf("[ ok ] malformed_%s\n", STB_MALFORMED[i].rule); }
    }
    RUN(test_index_missing_shard);
    RUN(test_index_tensor_not_in_map);
    RUN(test_index_tensor_not_in_shard);
    RUN(test_index_wrong_shard);
    RUN(test_index_tensor_in_two_shards);
    RUN(test_index_path_traversal);
    RUN(test_index_bad_json);
    RUN(test_index_bad_weight_map);
    RUN(test_message_escaping);
    return test_summary();
}

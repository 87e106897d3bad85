/* test_cli.c - the vgen command as a user meets it: exit codes, one-line errors on malformed files, no crash. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safetensors.h"
#include "testutil.h"

#define TMP VGEN_TEST_TMPDIR

typedef struct run_result {
    int exited;      /* 0 if killed by a signal (a crash) */
    int code;
    char out[8192];
    char err[8192];
} run_result;

static void slurp(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

/* Runs vgen with argv (NULL-terminated, without argv[0]). */
static void run_vgen(const char *const *args, run_result *r) {
    memset(r, 0, sizeof *r);
    const char *out = TMP "/cli_stdout.txt", *err = TMP "/cli_stderr.txt";
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        char *argv[32] = {(char *)VGEN_CLI_PATH};
        for (int i = 0; args[i] && i < 30; i++) argv[i + 1] = (char *)args[i];
        execv(VGEN_CLI_PATH, argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    r->exited = WIFEXITED(status);
    r->code = r->exited ? WEXITSTATUS(status) : -WTERMSIG(status);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

/* A safetensors file: 8-byte little-endian header length, header, data. */
static void write_st(const char *path, uint64_t declared_len, const char *header, size_t data_bytes) {
    size_t hl = strlen(header);
    unsigned char *buf = calloc(1, 8 + hl + data_bytes);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(declared_len >> (8 * i));
    memcpy(buf + 8, header, hl);
    write_bytes(path, buf, 8 + hl + data_bytes);
    free(buf);
}

typedef struct bad_case {
    const char *name;
    const char *header;       /* NULL: raw bytes below */
    int64_t len_override;     /* -1: the header's own length */
    size_t data_bytes;
} bad_case;

static const bad_case k_bad[] = {
    {"short", NULL, -1, 0},
    {"huge_header", "{}", 200000000, 0},
    {"header_past_eof", "{}", 4096, 0},
    {"not_json", "{\"a\": ", -1, 0},
    {"not_object", "[1, 2]", -1, 0},
    {"bad_dtype", "{\"t\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4},
    {"size_mismatch", "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", -1, 4},
    {"overlap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", -1, 6},
    {"duplicate", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                  "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", -1, 4},
    {"past_end", "{\"t\":{\"dtype\":\"U8\",\"shape\":[64],\"data_offsets\":[0,64]}}", -1, 8},
    {"shape_overflow", "{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", -1, 0},
};

static void test_info_on_malformed_files(void) {
    for (size_t i = 0; i < sizeof k_bad / sizeof k_bad[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, TMP "/cli_bad_%s.safetensors", k_bad[i].name);
        if (!k_bad[i].header) write_bytes(path, "abc", 3);
        else write_st(path, k_bad[i].len_override >= 0 ? (uint64_t)k_bad[i].len_override : strlen(k_bad[i].header),
                      k_bad[i].header, k_bad[i].data_bytes);
        run_result r;
        const char *args[] = {"info", path, NULL};
        run_vgen(args, &r);
        CHECKF(r.exited && r.code == 1, "%s: exit %d (exited=%d)", k_bad[i].name, r.code, r.exited);
        CHECKF(count_lines(r.err) == 1 && strncmp(r.err, "vgen: error: ", 13) == 0,
               "%s: stderr should be one error line, got: %s", k_bad[i].name, r.err);
        CHECKF(strstr(r.err, path) != NULL, "%s: the message should name the file: %s", k_bad[i].name, r.err);
        CHECKF(r.out[0] == '\0', "%s: nothing on stdout, got: %s", k_bad[i].name, r.out);
    }
}

static void test_info_and_quantize_ok(void) {
    vgen_st_decl d[2] = {{.name = "blocks.0.attn1.to_q.weight", .dtype = VGEN_ST_F32, .n_dims = 2, .shape = {8, 64}},
                         {.name = "blocks.0.norm2.weight", .dtype = VGEN_ST_F32, .n_dims = 1, .shape = {64}}};
    const char *src = TMP "/cli_ok.safetensors", *out = TMP "/cli_ok_int4.safetensors";
    vgen_err err = {0};
    vgen_st_writer *w = NULL;
    CHECK_EQ_INT(vgen_st_writer_open(src, d, 2, NULL, NULL, 0, &w, &err), 0);
    float v[8 * 64];
    for (int i = 0; i < 8 * 64; i++) v[i] = (float)((i * 37) % 101 - 50) / 50.0f;
    vgen_st_writer_write(w, v, sizeof v, &err);
    vgen_st_writer_write(w, v, 64 * sizeof(float), &err);
    CHECK_EQ_INT(vgen_st_writer_finish(&w, &err), 0);

    run_result r;
    const char *info[] = {"info", src, NULL};
    run_vgen(info, &r);
    CHECKF(r.exited && r.code == 0, "info exit %d: %s", r.code, r.err);
    CHECK_STR_CONTAINS(r.out, "blocks.0.attn1.to_q.weight");
    CHECK_STR_CONTAINS(r.out, "[8, 64]");

    const char *quant[] = {"quantize", src, out, "--format", "int4-g64", "-q", NULL};
    run_vgen(quant, &r);
    CHECKF(r.exited && r.code == 0, "quantize exit %d: %s", r.code, r.err);
    const char *info2[] = {"info", out, NULL};
    run_vgen(info2, &r);
    CHECKF(r.exited && r.code == 0, "info exit %d: %s", r.code, r.err);
    CHECK_STR_CONTAINS(r.out, "int4_g64");
    CHECK_STR_CONTAINS(r.out, "blocks.0.attn1.to_q.weight_scale");
}

static void test_usage_errors(void) {
    run_result r;
    const char *none[] = {NULL};
    run_vgen(none, &r);
    CHECK(r.exited && r.code == 2);
    const char *unknown[] = {"frobnicate", NULL};
    run_vgen(unknown, &r);
    CHECK(r.exited && r.code == 2);
    CHECK_STR_CONTAINS(r.err, "unknown command 'frobnicate'");
    const char *q1[] = {"quantize", "only-one", NULL};
    run_vgen(q1, &r);
    CHECK(r.exited && r.code == 2);
    const char *bad_fmt[] = {"quantize", TMP "/cli_ok.safetensors", TMP "/x.safetensors", "--format", "int3", NULL};
    run_vgen(bad_fmt, &r);
    CHECK(r.exited && r.code == 1);
    CHECK_STR_CONTAINS(r.err, "unknown weight format \"int3\"");
    const char *missing[] = {"info", TMP "/does-not-exist.safetensors", NULL};
    run_vgen(missing, &r);
    CHECK(r.exited && r.code == 1 && count_lines(r.err) == 1);
    const char *help[] = {"--help", NULL};
    run_vgen(help, &r);
    CHECK(r.exited && r.code == 0);
    CHECK_STR_CONTAINS(r.out, "quantize");
}

int main(void) {
    RUN(test_info_on_malformed_files);
    RUN(test_info_and_quantize_ok);
    RUN(test_usage_errors);
    return test_summary();
}

/* test_quantize.c - vgen_quantize_file (pipeline/quantize.c), its selection rules and the qfile storage convention.
 * A small checkpoint with block linears, norms, biases, embeddings and odd shapes is quantized to every format;
 * the output must hold exactly what the reference quantizer gives, keep everything else byte-identical and keep
 * float tensors aligned. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "numeric.h"
#include "qfile.h"
#include "safetensors.h"
#include "testutil.h"
#include "vgen.h"
#include "wformat.h"

#define TMP VGEN_TEST_TMPDIR

typedef struct src_tensor {
    const char *name;
    vgen_st_dtype dtype;
    int n_dims;
    int64_t shape[3];
    int quantized_by_default;
} src_tensor;

static const src_tensor k_src[] = {
    {"blocks.0.attn1.to_q.weight", VGEN_ST_BF16, 2, {48, 96}, 1},
    {"blocks.0.attn1.to_q.bias", VGEN_ST_BF16, 1, {48}, 0},
    {"blocks.0.norm2.weight", VGEN_ST_F32, 1, {96}, 0},
    {"blocks.0.ffn.net.0.proj.weight", VGEN_ST_F16, 2, {33, 65}, 1}, /* odd N and K: padding, partial groups */
    {"blocks.0.scale_shift_table", VGEN_ST_F32, 3, {1, 6, 96}, 0},
    {"blocks.1.attn1.norm_q.weight", VGEN_ST_BF16, 1, {96}, 0},
    {"blocks.1.attn2.to_k.weight", VGEN_ST_F32, 2, {17, 40}, 1},
    {"condition_embedder.text_embedder.linear_1.weight", VGEN_ST_BF16, 2, {16, 32}, 0}, /* outside blocks */
    {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", VGEN_ST_F32, 2, {32, 4}, 0},
    {"shared.weight", VGEN_ST_BF16, 2, {50, 16}, 0},
};
#define N_SRC (sizeof k_src / sizeof k_src[0])

static uint64_t g_rng = 12345;
static float rand_normal(void) {
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    double u1 = ((double)(g_rng >> 11) + 0.5) * 0x1.0p-53;
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    double u2 = (double)(g_rng >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static size_t numel_of(const src_tensor *t) {
    size_t n = 1;
    for (int d = 0; d < t->n_dims; d++) n *= (size_t)t->shape[d];
    return n;
}

static void write_source(const char *path) {
    vgen_st_decl decls[N_SRC];
    for (size_t i = 0; i < N_SRC; i++) {
        decls[i] = (vgen_st_decl){.name = k_src[i].name, .dtype = k_src[i].dtype, .n_dims = k_src[i].n_dims};
        memcpy(decls[i].shape, k_src[i].shape, sizeof k_src[i].shape);
    }
    const char *mk[] = {"format"}, *mv[] = {"pt"};
    vgen_err err = {0};
    vgen_st_writer *w = NULL;
    int rc = vgen_st_writer_open(path, decls, N_SRC, mk, mv, 1, &w, &err);
    CHECKF(rc == 0, "writer_open: %s", err.msg);
    for (size_t i = 0; !rc && i < N_SRC; i++) {
        size_t n = numel_of(&k_src[i]), esz = vgen_st_dtype_size(k_src[i].dtype);
        unsigned char *buf = malloc(n * esz);
        for (size_t j = 0; j < n; j++) {
            float v = rand_normal() * 0.05f;
            if (j % 37 == 0) v *= 20.0f; /* some outliers */
            if (esz == 4) memcpy(buf + 4 * j, &v, 4);
            else {
                uint16_t h = k_src[i].dtype == VGEN_ST_BF16 ? vgen_f32_to_bf16(v) : vgen_f32_to_f16(v);
                memcpy(buf + 2 * j, &h, 2);
            }
        }
        rc = vgen_st_writer_write(w, buf, n * esz, &err);
        free(buf);
    }
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    CHECKF(rc == 0, "writing %s: %s", path, err.msg);
}

/* src: [N, K] tensor of any float dtype -> f32 */
static float *to_f32(const vgen_st_tensor *t) {
    size_t n = (size_t)(t->shape[0] * t->shape[1]);
    float *w = malloc(n * sizeof *w);
    const unsigned char *p = t->data;
    for (size_t i = 0; i < n; i++) {
        if (t->dtype == VGEN_ST_F32) memcpy(&w[i], p + 4 * i, 4);
        else {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            w[i] = t->dtype == VGEN_ST_BF16 ? vgen_bf16_to_f32(h) : vgen_f16_to_f32(h);
        }
    }
    return w;
}

/* The quantized matrix in out must dequantize exactly as the reference quantizer's output of the source. */
static void check_matches_reference(const vgen_st_tensor *src, const vgen_qmatrix *q, vgen_wformat f) {
    int64_t n = src->shape[0], k = src->shape[1];
    size_t db, sc, zc;
    vgen_wformat_data_bytes(f, n, k, &db);
    vgen_wformat_scale_count(f, n, k, &sc);
    vgen_wformat_zero_count(f, n, k, &zc);
    float *w = to_f32(src);
    void *data = malloc(db);
    float *scales = malloc((sc ? sc : 1) * sizeof *scales);
    uint8_t *zeros = malloc(zc ? zc : 1);
    vgen_err err;
    CHECK_EQ_INT(vgen_wformat_quantize(f, w, n, k, data, scales, zeros, &err), 0);
    CHECKF(memcmp(q->data, data, db) == 0, "%s: data differs from the reference quantizer", src->name);
    CHECKF(!sc || memcmp(q->scales, scales, sc * sizeof *scales) == 0, "%s: scales differ", src->name);
    CHECKF(!zc || memcmp(q->zeros, zeros, zc) == 0, "%s: zeros differ", src->name);
    CHECKF(((uintptr_t)q->scales & 3u) == 0, "%s: scales not 4-byte aligned", src->name);
    free(w);
    free(data);
    free(scales);
    free(zeros);
}

static void check_output(const char *src_path, const char *out_path, const char *alias, vgen_wformat f) {
    vgen_err err = {0};
    vgen_st_set *src = NULL, *out = NULL;
    CHECK_EQ_INT(vgen_st_open(src_path, &src, &err), 0);
    int rc = vgen_st_open(out_path, &out, &err);
    CHECKF(rc == 0, "%s: cannot open output: %s", alias, err.msg);
    if (rc || !src) goto done;
    const char *m = vgen_st_metadata_get(out, "format");
    CHECK(m && strcmp(m, "pt") == 0); /* the input's metadata is kept */
    m = vgen_st_metadata_get(out, "vgen.quantized");
    CHECK(m && strcmp(m, "1") == 0);
    for (size_t i = 0; i < N_SRC; i++) {
        const vgen_st_tensor *s = vgen_st_find(src, k_src[i].name), *o = vgen_st_find(out, k_src[i].name);
        CHECKF(o != NULL, "%s: %s missing", alias, k_src[i].name);
        if (!o || !s) continue;
        CHECKF(((uintptr_t)o->data % vgen_st_dtype_size(o->dtype)) == 0, "%s: %s misaligned", alias, o->name);
        const char *fmt = vgen_qfile_tensor_format(out, o->name);
        if (!k_src[i].quantized_by_default) {
            CHECKF(fmt == NULL && o->dtype == s->dtype && o->n_bytes == s->n_bytes &&
                       memcmp(o->data, s->data, (size_t)s->n_bytes) == 0,
                   "%s: kept tensor %s changed", alias, o->name);
            continue;
        }
        CHECKF(fmt && strcmp(fmt, vgen_wformat_get(f)->name) == 0, "%s: %s has format %s", alias, o->name,
               fmt ? fmt : "(none)");
        vgen_qmatrix q;
        rc = vgen_qfile_matrix(out, o->name, &q, &err);
        CHECKF(rc == 0, "%s: qfile_matrix(%s): %s", alias, o->name, err.msg);
        if (rc) continue;
        CHECK(q.format == f && q.rows == s->shape[0] && q.cols == s->shape[1]);
        check_matches_reference(s, &q, f);
    }
done:
    vgen_st_close(&src);
    vgen_st_close(&out);
}

static vgen_context *new_ctx(void) {
    vgen_context *ctx = NULL;
    vgen_context_params p = vgen_context_params_init();
    p.n_threads = 1;
    vgen_context_new(&p, &ctx);
    return ctx;
}

static void test_every_format(void) {
    static const struct { const char *alias; vgen_wformat f; } k_formats[] = {
        {"int8", VGEN_WF_INT8_ROW},          {"fp8", VGEN_WF_FP8_E4M3_ROW},   {"fp8-tensor", VGEN_WF_FP8_E4M3_TENSOR},
        {"int4", VGEN_WF_INT4_G32},          {"int4-g64", VGEN_WF_INT4_G64},  {"int4-g128", VGEN_WF_INT4_G128},
        {"int4-zp", VGEN_WF_INT4_G32_ZP},    {"int4-g64-zp", VGEN_WF_INT4_G64_ZP},
        {"int4_g128_zp", VGEN_WF_INT4_G128_ZP}, {"bf16", VGEN_WF_BF16},   {"f16", VGEN_WF_F16},
    };
    const char *src = TMP "/quant_src.safetensors";
    write_source(src);
    vgen_context *ctx = new_ctx();
    for (size_t i = 0; i < sizeof k_formats / sizeof k_formats[0]; i++) {
        char out[512];
        snprintf(out, sizeof out, TMP "/quant_out_%s.safetensors", k_formats[i].alias);
        vgen_quantize_params qp = vgen_quantize_params_init();
        qp.format = k_formats[i].alias;
        vgen_status st = vgen_quantize_file(ctx, src, out, &qp);
        CHECKF(st == VGEN_OK, "%s: %s", k_formats[i].alias, vgen_context_last_error(ctx));
        if (st == VGEN_OK) check_output(src, out, k_formats[i].alias, k_formats[i].f);
    }
    vgen_context_free(&ctx);
}

static const vgen_st_tensor *find_in(const char *path, const char *name, vgen_st_set **keep_open) {
    vgen_err err;
    if (vgen_st_open(path, keep_open, &err)) return NULL;
    return vgen_st_find(*keep_open, name);
}

static void test_keep_and_rules(void) {
    const char *src = TMP "/quant_src_rules.safetensors";
    write_source(src);
    const char *rules = TMP "/quant_rules.txt";
    FILE *f = fopen(rules, "w");
    fprintf(f, "# attention at int8, ffn kept\nint8  attn1\n\nkeep ffn\nfp8 shared\n");
    fclose(f);
    vgen_context *ctx = new_ctx();
    vgen_quantize_params qp = vgen_quantize_params_init();
    qp.format = "int4";
    qp.rules_file = rules;
    const char *keep[] = {"attn2\\.to_k"};
    qp.keep_patterns = keep;
    qp.n_keep_patterns = 1;
    const char *out = TMP "/quant_rules_out.safetensors";
    CHECKF(vgen_quantize_file(ctx, src, out, &qp) == VGEN_OK, "%s", vgen_context_last_error(ctx));
    vgen_st_set *set = NULL;
    const vgen_st_tensor *t = find_in(out, "blocks.0.attn1.to_q.weight", &set);
    CHECK(t && t->dtype == VGEN_ST_I8);
    CHECK(set && strcmp(vgen_qfile_tensor_format(set, "blocks.0.attn1.to_q.weight"), "int8_row") == 0);
    t = set ? vgen_st_find(set, "blocks.0.ffn.net.0.proj.weight") : NULL;
    CHECK(t && t->dtype == VGEN_ST_F16);  /* kept by the rules file */
    t = set ? vgen_st_find(set, "blocks.1.attn2.to_k.weight") : NULL;
    CHECK(t && t->dtype == VGEN_ST_F32);  /* kept by --keep, which comes first */
    t = set ? vgen_st_find(set, "shared.weight") : NULL;
    CHECK(t && t->dtype == VGEN_ST_F8_E4M3); /* a rule may quantize what the default keeps */
    vgen_st_close(&set);

    f = fopen(rules, "w");
    fprintf(f, "keep ok\nint3 blocks\n");
    fclose(f);
    CHECK_EQ_INT(vgen_quantize_file(ctx, src, out, &qp), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "quant_rules.txt:2");
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "int3");
    f = fopen(rules, "w");
    fprintf(f, "keep (unclosed\n");
    fclose(f);
    CHECK_EQ_INT(vgen_quantize_file(ctx, src, out, &qp), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "quant_rules.txt:1: bad regex");
    qp.rules_file = TMP "/no_such_rules.txt";
    CHECK_EQ_INT(vgen_quantize_file(ctx, src, out, &qp), VGEN_ERR_NOT_FOUND);
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "no_such_rules.txt");
    vgen_context_free(&ctx);
}

static int count_tmp_files(const char *prefix) {
    DIR *d = opendir(TMP);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d) closedir(d);
    return n;
}

static int abort_after_two(void *user_data) {
    int *calls = user_data;
    return ++*calls > 2;
}

static void test_errors_leave_nothing(void) {
    const char *src = TMP "/quant_src_err.safetensors";
    write_source(src);
    vgen_context *ctx = new_ctx();
    vgen_quantize_params qp = vgen_quantize_params_init();

    qp.format = "int5";
    CHECK_EQ_INT(vgen_quantize_file(ctx, src, TMP "/quant_never.safetensors", &qp), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "unknown weight format \"int5\"");

    qp.format = "int8";
    CHECK(vgen_quantize_file(ctx, src, TMP "/no/such/dir/out.safetensors", &qp) != VGEN_OK);
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "/no/such/dir/out.safetensors");

    CHECK(vgen_quantize_file(ctx, TMP "/missing_input.safetensors", TMP "/quant_never.safetensors", &qp) ==
          VGEN_ERR_NOT_FOUND);
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "missing_input.safetensors");

    int calls = 0;
    qp.abort = abort_after_two;
    qp.abort_user_data = &calls;
    CHECK_EQ_INT(vgen_quantize_file(ctx, src, TMP "/quant_aborted.safetensors", &qp), VGEN_ERR_ABORTED);
    CHECK_EQ_INT(count_tmp_files("quant_aborted"), 0); /* neither the output nor its temporary file */
    CHECK_EQ_INT(count_tmp_files("quant_never"), 0);
    CHECK(vgen_quantize_file(ctx, src, TMP "/x.safetensors", NULL) == VGEN_ERR_INVALID_ARGUMENT);
    vgen_context_free(&ctx);
}

static void test_requantize_keeps_quantized(void) {
    const char *src = TMP "/quant_src_re.safetensors";
    write_source(src);
    vgen_context *ctx = new_ctx();
    vgen_quantize_params qp = vgen_quantize_params_init();
    qp.format = "int8";
    CHECK_EQ_INT(vgen_quantize_file(ctx, src, TMP "/quant_re1.safetensors", &qp), VGEN_OK);
    qp.format = "int4";
    CHECK_EQ_INT(vgen_quantize_file(ctx, TMP "/quant_re1.safetensors", TMP "/quant_re2.safetensors", &qp), VGEN_OK);
    vgen_st_set *set = NULL;
    const vgen_st_tensor *t = find_in(TMP "/quant_re2.safetensors", "blocks.0.attn1.to_q.weight", &set);
    CHECK(t && t->dtype == VGEN_ST_I8); /* already-quantized data is not quantized twice */
    vgen_qmatrix q;
    vgen_err err;
    CHECK(set && vgen_qfile_matrix(set, "blocks.0.attn1.to_q.weight", &q, &err) == 0 && q.format == VGEN_WF_INT8_ROW);
    vgen_st_close(&set);
    vgen_context_free(&ctx);
}

/* qfile validation: metadata and part shapes must agree. */
static void test_qfile_validation(void) {
    vgen_st_decl d[2] = {{.name = "x", .dtype = VGEN_ST_I8, .n_dims = 2, .shape = {4, 8}},
                         {.name = "x_scale", .dtype = VGEN_ST_F32, .n_dims = 1, .shape = {3}}};
    const char *mk[] = {"vgen.format.x", "vgen.shape.x"}, *mv[] = {"int8_row", "4,8"};
    const char *path = TMP "/qfile_bad.safetensors";
    vgen_err err = {0};
    vgen_st_writer *w = NULL;
    CHECK_EQ_INT(vgen_st_writer_open(path, d, 2, mk, mv, 2, &w, &err), 0);
    unsigned char zeros[64] = {0};
    vgen_st_writer_write(w, zeros, 32, &err);
    vgen_st_writer_write(w, zeros, 12, &err);
    CHECK_EQ_INT(vgen_st_writer_finish(&w, &err), 0);
    vgen_st_set *set = NULL;
    CHECK_EQ_INT(vgen_st_open(path, &set, &err), 0);
    vgen_qmatrix q;
    CHECK_EQ_INT(vgen_qfile_matrix(set, "x", &q, &err), VGEN_ERR_SHAPE);
    CHECK_STR_CONTAINS(err.msg, "x_scale is F32 [3], expected F32 [4]");
    CHECK_EQ_INT(vgen_qfile_matrix(set, "y", &q, &err), VGEN_ERR_NOT_FOUND);
    CHECK_EQ_INT(vgen_qfile_matrix(set, "x_scale", &q, &err), VGEN_ERR_SHAPE); /* 1-D is not a matrix */
    vgen_st_close(&set);
}

int main(void) {
    RUN(test_every_format);
    RUN(test_keep_and_rules);
    RUN(test_errors_leave_nothing);
    RUN(test_requantize_keeps_quantized);
    RUN(test_qfile_validation);
    return test_summary();
}

/* test_umt5_load.c - loading the UMT5 encoder from other layouts and refusing bad inputs: variants of the tiny
 * fixture written into VGEN_TEST_TMPDIR (one file, a name prefix, encoder.embed_tokens.weight, a ComfyUI-style fp8
 * "scaled" file) must load and encode; a missing or mis-shaped tensor, a file without an encoder, a config that does
 * not match the file, bad ids and masks, a backend without an op must fail with a message naming the culprit. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/fixture.h"
#include "numeric.h"
#include "testutil.h"
#include "umt5.h"
#include "cpu/ops_cpu.h"

#define UMT5_DIR VGEN_FIXTURES_DIR "/umt5/tiny"
#define TMP VGEN_TEST_TMPDIR
#define SEQ 512
#define DM 64
#define NPROMPTS 5

/* ---- writing variants of the fixture ---- */

typedef struct variant {
    const char *prefix;        /* prepended to every name */
    const char *drop;          /* a tensor left out */
    const char *halve;         /* a tensor whose last dim is halved (its data cut to fit) */
    const char *rename_from, *rename_to;
    int fp8_scaled;            /* 2-D layer weights -> F8_E4M3 + "<layer>.scale_weight", plus "scaled_fp8" */
    int embed_f16;             /* shared.weight stored as F16 */
} variant;

typedef struct out_tensor {
    char name[256];
    vgen_st_decl decl;
    void *data;
    size_t bytes;
} out_tensor;

static int is_layer_weight(const vgen_st_tensor *t) {
    return t->n_dims == 2 && strstr(t->name, ".layer.") && !strstr(t->name, "relative_attention_bias");
}

static size_t numel_of(const vgen_st_tensor *t) { return (size_t)(t->n_bytes / vgen_st_dtype_size(t->dtype)); }

/* F32 data -> codes of scale amax/448, the way ComfyUI's scaled fp8 files store weights. */
static void fp8_tensor(const vgen_st_tensor *t, out_tensor *o, out_tensor *scale) {
    const size_t n = numel_of(t);
    const float *w = t->data;
    float amax = 0;
    for (size_t i = 0; i < n; i++) amax = fmaxf(amax, fabsf(w[i]));
    float s = amax > 0 ? amax / 448.0f : 1.0f;
    uint8_t *c = malloc(n);
    for (size_t i = 0; c && i < n; i++) c[i] = vgen_f32_to_e4m3_sat(w[i] / s);
    o->data = c, o->bytes = n, o->decl.dtype = VGEN_ST_F8_E4M3;
    size_t len = strlen(o->name) - strlen(".weight");
    snprintf(scale->name, sizeof scale->name, "%.*s.scale_weight", (int)len, o->name);
    float *sv = malloc(sizeof *sv);
    if (sv) *sv = s;
    scale->decl = (vgen_st_decl){.name = scale->name, .dtype = VGEN_ST_F32, .n_dims = 0};
    scale->data = sv, scale->bytes = 4;
}

static void f16_tensor(const vgen_st_tensor *t, out_tensor *o) {
    const size_t n = numel_of(t);
    uint16_t *h = malloc(n * 2);
    for (size_t i = 0; h && i < n; i++) h[i] = vgen_f32_to_f16(((const float *)t->data)[i]);
    o->data = h, o->bytes = n * 2, o->decl.dtype = VGEN_ST_F16;
}

/* One source tensor into o (and its scale into o[1] for fp8); returns how many entries it filled. */
static int convert_tensor(const variant *v, const vgen_st_tensor *t, out_tensor *o) {
    if (v->drop && !strcmp(t->name, v->drop)) return 0;
    const char *name = v->rename_from && !strcmp(t->name, v->rename_from) ? v->rename_to : t->name;
    snprintf(o->name, sizeof o->name, "%s%s", v->prefix ? v->prefix : "", name);
    o->decl = (vgen_st_decl){.name = o->name, .dtype = t->dtype, .n_dims = t->n_dims};
    memcpy(o->decl.shape, t->shape, sizeof t->shape);
    if (v->fp8_scaled && is_layer_weight(t)) {
        fp8_tensor(t, &o[0], &o[1]);
        o[1].decl.name = o[1].name;
        return 2;
    }
    if (v->embed_f16 && !strcmp(t->name, "shared.weight")) {
        f16_tensor(t, o);
        return 1;
    }
    o->bytes = t->n_bytes;
    if (v->halve && !strcmp(t->name, v->halve)) {
        o->decl.shape[t->n_dims - 1] /= 2;
        o->bytes /= 2;
    }
    o->data = malloc(o->bytes);
    if (o->data) memcpy(o->data, t->data, o->bytes);
    return 1;
}

static int write_outputs(const char *path, out_tensor *o, size_t n) {
    vgen_st_decl *decls = calloc(n, sizeof *decls);
    vgen_st_writer *w = NULL;
    vgen_err err = {0};
    int rc = decls ? 0 : -1;
    for (size_t i = 0; !rc && i < n; i++) {
        decls[i] = o[i].decl;
        decls[i].name = o[i].name;
        if (!o[i].data) rc = -1;
    }
    if (!rc) rc = vgen_st_writer_open(path, decls, n, NULL, NULL, 0, &w, &err);
    for (size_t i = 0; !rc && i < n; i++) rc = vgen_st_writer_write(w, o[i].data, o[i].bytes, &err);
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    vgen_st_writer_abort(&w);
    CHECKF(rc == 0, "writing %s: %s", path, err.msg);
    free(decls);
    return rc;
}

/* Writes the fixture's tensors, transformed by v, into one file at path (plus extra tensors: none). */
static int write_variant(const char *path, const variant *v) {
    vgen_st_set *src = NULL;
    vgen_err err = {0};
    if (vgen_st_open(UMT5_DIR, &src, &err)) {
        CHECKF(0, "open fixture: %s", err.msg);
        return -1;
    }
    size_t n = vgen_st_count(src), k = 0;
    out_tensor *o = calloc(2 * n + 1, sizeof *o);
    for (size_t i = 0; o && i < n; i++) k += (size_t)convert_tensor(v, vgen_st_at(src, i), o + k);
    if (o && v->fp8_scaled) { /* ComfyUI's marker: an empty fp8 tensor */
        snprintf(o[k].name, sizeof o[k].name, "scaled_fp8");
        o[k].decl = (vgen_st_decl){.name = o[k].name, .dtype = VGEN_ST_F8_E4M3, .n_dims = 1, .shape = {0}};
        o[k].data = malloc(1), o[k].bytes = 0;
        k++;
    }
    int rc = o ? write_outputs(path, o, k) : -1;
    for (size_t i = 0; o && i < k; i++) free(o[i].data);
    free(o);
    vgen_st_close(&src);
    return rc;
}

/* ---- helpers ---- */

static vgen_backend *make_backend(void) {
    vgen_backend *be = NULL;
    vgen_err err = {0};
    CHECKF(vgen_backend_cpu_new(NULL, &be, &err) == 0, "backend: %s", err.msg);
    if (be) vgen_cpu_ops_install(be); /* idempotent; until the constructor installs the CPU ops */
    return be;
}

/* Loads path with params p (NULL: f32) and returns the status, the message in err. */
static int try_load(const char *path, const vgen_umt5_params *p, vgen_err *err) {
    vgen_umt5_params def;
    if (!p) {
        vgen_umt5_params_init(&def);
        def.compute = VGEN_DTYPE_F32;
        p = &def;
    }
    vgen_umt5_model *m = NULL;
    int rc = vgen_umt5_load(path, p, &m, err);
    vgen_umt5_free(&m);
    return rc;
}

/* Encodes every fixture prompt (padded) with the model at path; returns a malloc'd [5, 512, 64] or NULL. */
static float *encode_fixture(const char *path, const vgen_umt5_params *p) {
    vgen_st_set *io = fixture_open("umt5/tiny/io.safetensors");
    size_t n1 = 0, n2 = 0;
    const int32_t *ids = fixture_tensor(io, "input_ids", VGEN_ST_I32, &n1);
    const int32_t *lens = fixture_tensor(io, "seq_lens", VGEN_ST_I32, &n2);
    vgen_backend *be = make_backend();
    vgen_umt5_model *m = NULL;
    vgen_umt5_session *s = NULL;
    vgen_err err = {0};
    int rc = ids && lens && be ? vgen_umt5_load(path, p, &m, &err) : -1;
    if (!rc) rc = vgen_umt5_session_new(m, be, SEQ, &s, &err);
    float *out = rc ? NULL : malloc((size_t)NPROMPTS * SEQ * DM * sizeof *out);
    for (int b = 0; out && !rc && b < NPROMPTS; b++) {
        vgen_tensor t;
        vgen_tensor_view(&t, VGEN_DTYPE_F32, 2, (int64_t[2]){SEQ, DM}, out + (size_t)b * SEQ * DM, NULL);
        rc = vgen_umt5_encode_padded(s, ids + b * SEQ, lens[b], &t, &err);
    }
    CHECKF(rc == 0, "%s: %s", path, err.msg);
    if (rc) free(out);
    vgen_umt5_session_free(&s);
    vgen_umt5_free(&m);
    vgen_backend_free(&be);
    vgen_st_close(&io);
    return rc ? NULL : out;
}

static float *fixture_f32(const char *name) {
    vgen_st_set *io = fixture_open("umt5/tiny/io.safetensors");
    size_t n = 0;
    const float *r = fixture_tensor(io, name, VGEN_ST_F32, &n);
    float *out = r ? malloc(n * sizeof *out) : NULL;
    if (out) memcpy(out, r, n * sizeof *out);
    vgen_st_close(&io);
    return out;
}

static vgen_umt5_params f32_params(void) {
    vgen_umt5_params p;
    vgen_umt5_params_init(&p);
    p.compute = VGEN_DTYPE_F32;
    return p;
}

/* ---- layouts that must load ---- */

/* One file, every name under a prefix, the embedding as encoder.embed_tokens.weight: config derived from shapes. */
static void test_prefixed_single_file(void) {
    const char *path = TMP "/umt5_prefixed.safetensors";
    variant v = {.prefix = "text_encoders.umt5xxl.transformer.", .rename_from = "shared.weight",
                 .rename_to = "encoder.embed_tokens.weight"};
    if (write_variant(path, &v)) return;
    vgen_umt5_params p = f32_params();
    float *got = encode_fixture(path, &p), *ref = fixture_f32("fp32.padded");
    if (got && ref) {
        fixture_diff d = fixture_compare(got, ref, (size_t)NPROMPTS * SEQ * DM);
        printf("  prefixed single file: max|err| %.3e, cosine %.8f\n", d.max_abs, d.cosine);
        CHECK(fixture_within_f32(d));
    }
    free(got), free(ref);
    remove(path);
}

/* ComfyUI scaled fp8: F8_E4M3 weights with a 0-d "<layer>.scale_weight", a "scaled_fp8" marker, an F16 embedding.
 * Must equal the HF fixture quantized on load to fp8_e4m3_tensor with an f16 embedding (the same codes and scales),
 * and stay within a budget of the f32 reference. */
static void test_comfy_fp8_scaled(void) {
    const char *path = TMP "/umt5_fp8_scaled.safetensors";
    variant v = {.prefix = "te.", .fp8_scaled = 1, .embed_f16 = 1};
    if (write_variant(path, &v)) return;
    vgen_umt5_params p = f32_params();
    float *got = encode_fixture(path, &p);
    p.format = "fp8_e4m3_tensor";
    p.embed_format = "f16";
    float *q = encode_fixture(UMT5_DIR, &p), *ref = fixture_f32("fp32.padded");
    if (got && q && ref) {
        const size_t n = (size_t)NPROMPTS * SEQ * DM;
        fixture_diff dq = fixture_compare(got, q, n), dr = fixture_compare(got, ref, n);
        printf("  comfy fp8 scaled vs quantize-on-load fp8_e4m3_tensor: max|err| %.3e\n", dq.max_abs);
        printf("  comfy fp8 scaled vs f32 reference: max|err| %.3e, cosine %.6f\n", dr.max_abs, dr.cosine);
        CHECK(dq.max_abs <= 1e-5);
        CHECK(dr.cosine >= 0.974); /* measured 0.9795: the tiny model is sensitive (test_umt5_quant.c) */
    }
    free(got), free(q), free(ref);
    remove(path);
}

/* ---- inputs that must fail ---- */

static void expect_load_error(const char *path, const vgen_umt5_params *p, int code, const char *m1, const char *m2) {
    vgen_err err = {0};
    int rc = try_load(path, p, &err);
    CHECKF(rc == code, "%s: rc %d (%s), expected %d", path, rc, err.msg, code);
    if (m1) CHECK_STR_CONTAINS(err.msg, m1);
    if (m2) CHECK_STR_CONTAINS(err.msg, m2);
}

static void test_missing_tensor(void) {
    const char *path = TMP "/umt5_missing.safetensors";
    variant v = {.drop = "encoder.block.1.layer.1.DenseReluDense.wo.weight"};
    if (write_variant(path, &v)) return;
    expect_load_error(path, NULL, VGEN_ERR_NOT_FOUND, "encoder.block.1.layer.1.DenseReluDense.wo.weight",
                      "expected shape [64, 160]");
    variant e = {.drop = "encoder.final_layer_norm.weight"};
    if (!write_variant(path, &e)) expect_load_error(path, NULL, VGEN_ERR_NOT_FOUND, "no UMT5 encoder", NULL);
    variant s = {.drop = "shared.weight"};
    if (!write_variant(path, &s)) expect_load_error(path, NULL, VGEN_ERR_NOT_FOUND, "shared.weight",
                                                    "encoder.embed_tokens.weight");
    remove(path);
}

static void test_wrong_shape(void) {
    const char *path = TMP "/umt5_shape.safetensors";
    variant v = {.halve = "encoder.block.0.layer.0.SelfAttention.k.weight"};
    if (!write_variant(path, &v))
        expect_load_error(path, NULL, VGEN_ERR_SHAPE, "encoder.block.0.layer.0.SelfAttention.k.weight has shape "
                          "[64, 32]", "expected [64, 64]");
    variant b = {.halve = "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"};
    if (!write_variant(path, &b))
        expect_load_error(path, NULL, VGEN_ERR_SHAPE, "relative_attention_bias.weight has shape [32, 2]",
                          "expected [32, 4]");
    variant n = {.halve = "encoder.block.1.layer.1.layer_norm.weight"};
    if (!write_variant(path, &n))
        expect_load_error(path, NULL, VGEN_ERR_SHAPE, "encoder.block.1.layer.1.layer_norm.weight has shape [32]",
                          "expected [64]");
    remove(path);
}

static void test_config_mismatch(void) {
    const char *cfg = TMP "/umt5_config.json";
    vgen_umt5_params p = f32_params();
    p.config_path = cfg;
    FILE *f = fopen(cfg, "w");
    if (f) fputs("{\"num_layers\": 1, \"d_model\": 64, \"d_kv\": 16, \"num_heads\": 4, \"d_ff\": 160, "
                 "\"vocab_size\": 3200}", f), fclose(f);
    expect_load_error(UMT5_DIR, &p, VGEN_ERR_SHAPE, "encoder.block.1.layer.0.SelfAttention.q.weight",
                      "num_layers = 1");
    f = fopen(cfg, "w");
    if (f) fputs("{\"num_layers\": 2, \"d_model\": 64, \"d_kv\": 16, \"num_heads\": 4, \"d_ff\": 128, "
                 "\"vocab_size\": 3200}", f), fclose(f);
    expect_load_error(UMT5_DIR, &p, VGEN_ERR_SHAPE, "wi_0.weight has shape [160, 64]", "expected [128, 64]");
    f = fopen(cfg, "w");
    if (f) fputs("{\"feed_forward_proj\": \"relu\"}", f), fclose(f);
    expect_load_error(UMT5_DIR, &p, VGEN_ERR_UNSUPPORTED, "feed_forward_proj", NULL);
    remove(cfg);
    p.config_path = NULL;
    p.format = "int7";
    expect_load_error(UMT5_DIR, &p, VGEN_ERR_INVALID_ARGUMENT, "\"int7\"", NULL);
    p.format = NULL;
    p.compute = VGEN_DTYPE_F16;
    expect_load_error(UMT5_DIR, &p, VGEN_ERR_INVALID_ARGUMENT, "compute dtype", NULL);
    expect_load_error(TMP "/no_such_dir", NULL, VGEN_ERR_NOT_FOUND, NULL, NULL);
}

static int abort_now(void *user_data) {
    (void)user_data;
    return 1;
}

static void test_bad_encode_inputs(void) {
    vgen_backend *be = make_backend();
    vgen_umt5_params p = f32_params();
    vgen_umt5_model *m = NULL;
    vgen_umt5_session *s = NULL;
    vgen_err err = {0};
    CHECKF(vgen_umt5_load(UMT5_DIR, &p, &m, &err) == 0, "%s", err.msg);
    if (m && be) CHECKF(vgen_umt5_session_new(m, be, 16, &s, &err) == 0, "%s", err.msg);
    if (!s) goto done;
    float buf[17 * DM];
    vgen_tensor out;
    vgen_tensor_view(&out, VGEN_DTYPE_F32, 2, (int64_t[2]){4, DM}, buf, NULL);
    int32_t ids[17] = {100, 200, 3200, 1};
    uint8_t none[4] = {0, 0, 0, 0};
    CHECK(vgen_umt5_encode(s, ids, NULL, 4, &out, &err) == VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "token 2 has id 3200");
    ids[2] = -1;
    CHECK(vgen_umt5_encode(s, ids, NULL, 4, &out, &err) == VGEN_ERR_INVALID_ARGUMENT);
    ids[2] = 300;
    CHECK(vgen_umt5_encode(s, ids, none, 4, &out, &err) == VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "mask");
    CHECK(vgen_umt5_encode(s, ids, NULL, 0, &out, &err) == VGEN_ERR_INVALID_ARGUMENT);
    CHECK(vgen_umt5_encode(s, ids, NULL, 17, &out, &err) == VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "max_len");
    CHECK(vgen_umt5_encode(s, ids, NULL, 3, &out, &err) == VGEN_ERR_SHAPE); /* out is [4, 64] */
    CHECK(vgen_umt5_encode_padded(s, ids, 4, &out, &err) == VGEN_ERR_SHAPE);  /* padded wants [16, 64] */
    CHECK(vgen_umt5_encode(s, ids, NULL, 4, &out, &err) == 0);
    vgen_umt5_session_set_abort(s, abort_now, NULL);
    CHECK(vgen_umt5_encode(s, ids, NULL, 4, &out, &err) == VGEN_ERR_ABORTED);
done:
    vgen_umt5_session_free(&s);
    CHECK(vgen_umt5_session_new(m, be, 0, &s, &err) == VGEN_ERR_INVALID_ARGUMENT);
    if (be) be->attention = NULL; /* a backend without the op */
    CHECK(vgen_umt5_session_new(m, be, 16, &s, &err) == VGEN_ERR_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "attention");
    vgen_umt5_free(&m);
    vgen_backend_free(&be);
}

int main(void) {
    RUN(test_prefixed_single_file);
    RUN(test_comfy_fp8_scaled);
    RUN(test_missing_tensor);
    RUN(test_wrong_shape);
    RUN(test_config_mismatch);
    RUN(test_bad_encode_inputs);
    return test_summary();
}

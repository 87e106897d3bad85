/* test_dit_load.c - the DiT's configuration, name maps and loading (dit/): config.json values good and bad, every
 * checkpoint layout of the tiny_a fixture giving the same weights, the derived configuration, ComfyUI scaled fp8,
 * vgen-quantized files, quantize-on-load, and malformed checkpoints (missing or mis-shaped tensors, truncated
 * files, bad config values), each failing with one message naming the culprit. No backend ops are needed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "numeric.h"
#include "qfile.h"
#include "safetensors.h"
#include "testutil.h"
#include "vgen.h"
#include "wan_dit.h"
#include "wan_internal.h"
#include "wformat.h"

#define FIX VGEN_FIXTURES_DIR "/dit/tiny_a"
#define TMP VGEN_TEST_TMPDIR

/* ---- helpers ---- */

static vgen_dit_model *load_ok(const char *path, const char *config, vgen_dtype compute, const char *format) {
    vgen_dit_params p;
    vgen_dit_params_init(&p);
    p.config_path = config;
    p.compute = compute;
    p.dit_format = format;
    vgen_dit_model *m = NULL;
    vgen_err err = {0};
    int rc = vgen_dit_load(path, &p, &m, &err);
    CHECKF(rc == 0, "load %s: %s", path, err.msg);
    return m;
}

/* Loads path expecting failure with code and a message containing every needle (NULL-terminated). */
static void load_fails(const char *path, const char *config, const char *format, int code, const char *needle) {
    vgen_dit_params p;
    vgen_dit_params_init(&p);
    p.config_path = config;
    p.dit_format = format;
    vgen_dit_model *m = NULL;
    vgen_err err = {0};
    int rc = vgen_dit_load(path, &p, &m, &err);
    CHECKF(rc == code, "load %s: rc %d, expected %d (%s)", path, rc, code, err.msg);
    CHECK(m == NULL);
    if (needle) CHECK_STR_CONTAINS(err.msg, needle);
    printf("  expected error: %s\n", err.msg);
}

/* Dequantized [N, K] of a matrix, freshly allocated. */
static float *deq(const vgen_qmatrix *w) {
    float *v = malloc((size_t)(w->rows * w->cols) * sizeof *v);
    if (v) vgen_wformat_dequantize_rows(w, 0, w->rows, v);
    return v;
}

static int same_matrix(const vgen_qmatrix *a, const vgen_qmatrix *b) {
    if (a->rows != b->rows || a->cols != b->cols) return 0;
    float *x = deq(a), *y = deq(b);
    int same = x && y && memcmp(x, y, (size_t)(a->rows * a->cols) * sizeof *x) == 0;
    free(x);
    free(y);
    return same;
}

/* Every weight of a equals b's (dequantized), slot by slot. */
static int same_slots(const wan_slot *slots, size_t n, const void *a, const void *b, const vgen_wan_config *c) {
    for (size_t i = 0; i < n; i++) {
        const char *pa = (const char *)a + slots[i].offset, *pb = (const char *)b + slots[i].offset;
        if (slots[i].kind == WAN_K_LINEAR || slots[i].kind == WAN_K_PATCH) {
            if (!same_matrix(&((const wan_linear *)(const void *)pa)->w, &((const wan_linear *)(const void *)pb)->w))
                return 0;
        } else {
            int64_t shape[5];
            int r = wan_slot_shape(&slots[i], c, shape);
            size_t cnt = 1;
            for (int d = 0; d < r; d++) cnt *= (size_t)shape[d];
            if (memcmp(*(float *const *)(const void *)pa, *(float *const *)(const void *)pb, cnt * sizeof(float)))
                return 0;
        }
    }
    return 1;
}

static int same_config(const vgen_wan_config *a, const vgen_wan_config *b) {
    return a->heads == b->heads && a->head_dim == b->head_dim && a->dim == b->dim && a->layers == b->layers &&
           a->ffn_dim == b->ffn_dim && a->text_dim == b->text_dim && a->freq_dim == b->freq_dim &&
           a->in_channels == b->in_channels && a->out_channels == b->out_channels && a->eps == b->eps &&
           a->rope_max_seq_len == b->rope_max_seq_len && !memcmp(a->patch, b->patch, sizeof a->patch);
}

static int same_model(const vgen_dit_model *a, const vgen_dit_model *b) {
    if (!same_config(&a->cfg, &b->cfg)) return 0;
    if (!same_slots(wan_global_slots, wan_global_slot_count, &a->g, &b->g, &a->cfg)) return 0;
    for (int64_t i = 0; i < a->cfg.layers; i++)
        if (!same_slots(wan_block_slots, wan_block_slot_count, &a->blocks[i], &b->blocks[i], &a->cfg)) return 0;
    return 1;
}

/* An edit applied while copying a checkpoint: drop a tensor, give one another shape (same bytes), poke a NaN
 * into one, rename one, or cut the file short. */
typedef struct edit {
    const char *drop;
    const char *reshape;
    int n_dims;
    int64_t shape[5];
    const char *nan;
    size_t truncate;  /* bytes removed from the end */
    const char *rename, *to;
    size_t from, to_index;  /* keep only tensors [from, to_index) of the file's order (to_index 0: all) */
} edit;

static int copy_edited(const char *src, const char *dst, const edit *e) {
    vgen_err err = {0};
    vgen_st_set *set = NULL;
    if (vgen_st_open(src, &set, &err)) return -1;
    size_t n = vgen_st_count(set), nd = 0;
    vgen_st_decl *d = calloc(n, sizeof *d);
    const char **mk = calloc(vgen_st_metadata_count(set) + 1, sizeof *mk);
    const char **mv = calloc(vgen_st_metadata_count(set) + 1, sizeof *mv);
    for (size_t i = 0; i < vgen_st_metadata_count(set); i++) vgen_st_metadata_at(set, i, &mk[i], &mv[i]);
    const vgen_st_tensor **src_t = calloc(n, sizeof *src_t);
    for (size_t i = 0; i < n; i++) {
        const vgen_st_tensor *t = vgen_st_at(set, i);
        if (e->drop && !strcmp(t->name, e->drop)) continue;
        if (e->to_index && (i < e->from || i >= e->to_index)) continue;
        d[nd] = (vgen_st_decl){.name = t->name, .dtype = t->dtype, .n_dims = t->n_dims};
        if (e->rename && !strcmp(t->name, e->rename)) d[nd].name = e->to;
        memcpy(d[nd].shape, t->shape, sizeof t->shape);
        if (e->reshape && !strcmp(t->name, e->reshape)) {
            d[nd].n_dims = e->n_dims;
            memcpy(d[nd].shape, e->shape, sizeof e->shape);
        }
        src_t[nd++] = t;
    }
    vgen_st_writer *w = NULL;
    int rc = vgen_st_writer_open(dst, d, nd, mk, mv, vgen_st_metadata_count(set), &w, &err);
    for (size_t i = 0; !rc && i < nd; i++) {
        unsigned char *buf = malloc(src_t[i]->n_bytes + 1);
        memcpy(buf, src_t[i]->data, src_t[i]->n_bytes);
        if (e->nan && !strcmp(src_t[i]->name, e->nan)) {
            float nanv = NAN;
            memcpy(buf, &nanv, 4); /* the fixtures are F32 */
        }
        rc = vgen_st_writer_write(w, buf, src_t[i]->n_bytes, &err);
        free(buf);
    }
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    else vgen_st_writer_abort(&w);
    if (!rc && e->truncate) {
        struct stat st;
        rc = stat(dst, &st) || truncate(dst, st.st_size - (off_t)e->truncate);
    }
    free(d);
    free(mk);
    free(mv);
    free(src_t);
    vgen_st_close(&set);
    if (rc) fprintf(stderr, "copy_edited %s: %s\n", dst, err.msg);
    return rc;
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* ---- configuration ---- */

static void test_config_fixture(void) {
    vgen_wan_config c;
    vgen_err err = {0};
    CHECKF(vgen_wan_config_read(FIX "/diffusers/config.json", &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.heads, 2);
    CHECK_EQ_INT(c.head_dim, 32);
    CHECK_EQ_INT(c.dim, 64);
    CHECK_EQ_INT(c.layers, 2);
    CHECK_EQ_INT(c.ffn_dim, 160);
    CHECK_EQ_INT(c.text_dim, 64);
    CHECK_EQ_INT(c.freq_dim, 256);
    CHECK_EQ_INT(c.in_channels, 16);
    CHECK_EQ_INT(c.out_channels, 16);
    CHECK_EQ_INT(c.rope_max_seq_len, 1024);
    CHECK(c.eps == 1e-6f);
    CHECK_EQ_INT(vgen_wan_config_read(VGEN_FIXTURES_DIR "/dit/tiny_b/diffusers/config.json", &c, &err), 0);
    CHECK_EQ_INT(c.heads, 3);
    CHECK_EQ_INT(c.text_dim, 48);
    CHECK_EQ_INT(c.ffn_dim, 192);
}

static void test_config_values(void) {
    static const struct {
        const char *json;
        int code;
        const char *needle;
    } cases[] = {
        {"{\"num_layers\": -3}", VGEN_ERR_MALFORMED, "\"num_layers\" is -3"},
        {"{\"num_layers\": 2.5}", VGEN_ERR_MALFORMED, "num_layers"},
        {"{\"num_attention_heads\": \"12\"}", VGEN_ERR_MALFORMED, "num_attention_heads"},
        {"{\"ffn_dim\": 0}", VGEN_ERR_MALFORMED, "ffn_dim"},
        {"{\"text_dim\": 1e30}", VGEN_ERR_MALFORMED, "text_dim"},
        {"{\"eps\": 0}", VGEN_ERR_MALFORMED, "eps"},
        {"{\"eps\": \"1e-6\"}", VGEN_ERR_MALFORMED, "eps"},
        {"{\"attention_head_dim\": 33}", VGEN_ERR_MALFORMED, "attention_head_dim"},
        {"{\"freq_dim\": 255}", VGEN_ERR_MALFORMED, "freq_dim"},
        {"{\"patch_size\": [1, 2]}", VGEN_ERR_MALFORMED, "patch_size"},
        {"{\"patch_size\": [1, 4, 4]}", VGEN_ERR_UNSUPPORTED, "patch_size"},
        {"{\"qk_norm\": \"rms_norm\"}", VGEN_ERR_UNSUPPORTED, "qk_norm"},
        {"{\"qk_norm\": 3}", VGEN_ERR_MALFORMED, "qk_norm"},
        {"{\"cross_attn_norm\": false}", VGEN_ERR_UNSUPPORTED, "cross_attn_norm"},
        {"{\"cross_attn_norm\": 1}", VGEN_ERR_MALFORMED, "cross_attn_norm"},
        {"{\"image_dim\": 1280}", VGEN_ERR_UNSUPPORTED, "image_dim"},
        {"{\"added_kv_proj_dim\": 5120}", VGEN_ERR_UNSUPPORTED, "added_kv_proj_dim"},
        {"{\"_class_name\": \"UNet3DConditionModel\"}", VGEN_ERR_UNSUPPORTED, "_class_name"},
        {"{\"num_layers\": 2, \"num_layers\": 3}", VGEN_ERR_MALFORMED, "appears 2 times"},
        {"[1, 2]", VGEN_ERR_MALFORMED, "not a JSON object"},
        {"{\"num_layers\": 2", VGEN_ERR_MALFORMED, "invalid JSON"},
        {"", VGEN_ERR_MALFORMED, "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vgen_wan_config c;
        vgen_err err = {0};
        int rc = vgen_wan_config_parse(cases[i].json, strlen(cases[i].json), "cfg.json", &c, &err);
        CHECKF(rc == cases[i].code, "%s: rc %d, expected %d (%s)", cases[i].json, rc, cases[i].code, err.msg);
        CHECK_STR_CONTAINS(err.msg, cases[i].needle);
        CHECK_STR_CONTAINS(err.msg, "cfg.json");
    }
    /* unknown keys are ignored, null out_channels means in_channels, defaults fill the rest */
    const char *ok = "{\"foo\": {\"bar\": [1]}, \"in_channels\": 48, \"out_channels\": null, \"num_layers\": 3}";
    vgen_wan_config c;
    vgen_err err = {0};
    CHECKF(vgen_wan_config_parse(ok, strlen(ok), NULL, &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.out_channels, 48);
    CHECK_EQ_INT(c.layers, 3);
    CHECK_EQ_INT(c.dim, 5120);
}

/* ---- layouts ---- */

static void test_layouts_same_weights(void) {
    const char *cfg = FIX "/diffusers/config.json";
    vgen_dit_model *d = load_ok(FIX "/diffusers", NULL, VGEN_DTYPE_F32, NULL);
    vgen_dit_model *o = load_ok(FIX "/wan_original.safetensors", cfg, VGEN_DTYPE_F32, NULL);
    vgen_dit_model *c = load_ok(FIX "/comfyui.safetensors", cfg, VGEN_DTYPE_F32, NULL);
    vgen_dit_model *f = load_ok(FIX "/diffusers/diffusion_pytorch_model.safetensors", cfg, VGEN_DTYPE_F32, NULL);
    if (d && o && c && f) {
        CHECK_EQ_INT(vgen_dit_layout(d), VGEN_WAN_LAYOUT_DIFFUSERS);
        CHECK_EQ_INT(vgen_dit_layout(o), VGEN_WAN_LAYOUT_ORIGINAL);
        CHECK_EQ_INT(vgen_dit_layout(c), VGEN_WAN_LAYOUT_COMFYUI);
        CHECK(same_model(d, o));
        CHECK(same_model(d, c));
        CHECK(same_model(d, f));
        CHECK_EQ_INT(vgen_dit_block_format(d), VGEN_WF_F32);
        CHECK(vgen_dit_mapped_bytes(d) > 0);
        /* the linear weights are views into the mapping, the small tensors copies */
        CHECK(d->blocks[0].sa_q.own == NULL);
    }
    vgen_dit_free(&d);
    vgen_dit_free(&o);
    vgen_dit_free(&c);
    vgen_dit_free(&f);
    CHECK(d == NULL);
}

static void test_bf16_rounding_of_small_tensors(void) {
    vgen_dit_model *a = load_ok(FIX "/diffusers", NULL, VGEN_DTYPE_BF16, NULL);
    vgen_dit_model *b = load_ok(FIX "/diffusers", NULL, VGEN_DTYPE_F32, NULL);
    if (a && b) {
        const float *qb = a->blocks[0].sa_q.b, *n2 = a->blocks[0].n2_w, *t1 = a->g.time1.b;
        int rounded = 1, changed = 0;
        for (int i = 0; i < 64; i++) {
            rounded &= vgen_bf16_to_f32(vgen_f32_to_bf16(qb[i])) == qb[i];
            changed |= qb[i] != b->blocks[0].sa_q.b[i];
        }
        CHECK(rounded && changed);                         /* attention biases: bf16 in diffusers' bf16 model */
        CHECK(!memcmp(n2, b->blocks[0].n2_w, 64 * 4));     /* norm2: kept f32 */
        CHECK(!memcmp(t1, b->g.time1.b, 64 * 4));          /* time embedder: kept f32 */
        CHECK(!memcmp(a->blocks[1].table, b->blocks[1].table, 6 * 64 * 4)); /* modulation: kept f32 */
    }
    vgen_dit_free(&a);
    vgen_dit_free(&b);
}

static void test_fp8_scaled(void) {
    vgen_dit_model *q = load_ok(FIX "/comfyui_fp8_scaled.safetensors", FIX "/diffusers/config.json", VGEN_DTYPE_F32,
                                NULL);
    vgen_dit_model *d = load_ok(FIX "/diffusers", NULL, VGEN_DTYPE_F32, NULL);
    if (q && d) {
        CHECK_EQ_INT(vgen_dit_layout(q), VGEN_WAN_LAYOUT_ORIGINAL);
        const wan_linear *l = &q->blocks[1].ffn2;
        CHECK_EQ_INT(l->w.format, VGEN_WF_FP8_E4M3_TENSOR);
        CHECK(l->w.scales == &l->scale1 && l->scale1 > 0);
        /* W = e4m3(W8) * scale_weight, with scale = amax / 448: close to the f32 weights, amax exact-ish */
        float *a = deq(&l->w), *b = deq(&d->blocks[1].ffn2.w);
        double num = 0, den = 0, amax = 0;
        for (int i = 0; a && b && i < 64 * 160; i++) {
            num += (a[i] - b[i]) * (double)(a[i] - b[i]), den += (double)b[i] * b[i];
            if (fabs(b[i]) > amax) amax = fabs(b[i]);
        }
        CHECK(sqrt(num / den) < 0.05);
        CHECK_NEAR(l->scale1 * 448.0, amax, amax * 1e-6);
        free(a);
        free(b);
        CHECK_EQ_INT(q->g.time1.w.format, VGEN_WF_F32); /* only block linears are fp8 */
    }
    vgen_dit_free(&q);
    vgen_dit_free(&d);
}

/* ---- derived configuration ---- */

static void test_derived_config(void) {
    /* tiny_a has dim 64: no config, no head count (head_dim 128 is the rule), so loading says so */
    load_fails(FIX "/wan_original.safetensors", NULL, NULL, VGEN_ERR_UNSUPPORTED, "multiple of 128");
    /* a 2-block checkpoint with dim 128 (1 head), written from the tensor table with diffusers names */
    vgen_wan_config c;
    vgen_wan_config_defaults(&c);
    c.heads = 1, c.head_dim = 128, c.dim = 128, c.layers = 2, c.ffn_dim = 96, c.text_dim = 40, c.freq_dim = 32;
    c.out_channels = 8;
    const char *path = TMP "/dit_derive.safetensors";
    size_t n = wan_global_slot_count + 2 * wan_block_slot_count, nd = 0;
    vgen_st_decl *d = calloc(n, sizeof *d);
    char (*names)[128] = calloc(n, sizeof *names);
    for (int64_t b = -1; b < 2; b++) {
        const wan_slot *slots = b < 0 ? wan_global_slots : wan_block_slots;
        size_t ns = b < 0 ? wan_global_slot_count : wan_block_slot_count;
        for (size_t i = 0; i < ns; i++, nd++) {
            wan_slot_name(VGEN_WAN_LAYOUT_COMFYUI, &slots[i], b, names[nd], sizeof names[nd]);
            d[nd] = (vgen_st_decl){.name = names[nd], .dtype = VGEN_ST_BF16};
            d[nd].n_dims = wan_slot_shape(&slots[i], &c, d[nd].shape);
        }
    }
    vgen_st_writer *w = NULL;
    vgen_err err = {0};
    int rc = vgen_st_writer_open(path, d, nd, NULL, NULL, 0, &w, &err);
    for (size_t i = 0; !rc && i < nd; i++) {
        size_t bytes = 2;
        for (int k = 0; k < d[i].n_dims; k++) bytes *= (size_t)d[i].shape[k];
        unsigned char *z = calloc(bytes, 1);
        rc = vgen_st_writer_write(w, z, bytes, &err);
        free(z);
    }
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    CHECKF(rc == 0, "%s", err.msg);
    vgen_dit_model *m = load_ok(path, NULL, VGEN_DTYPE_BF16, NULL);
    if (m) {
        const vgen_wan_config *g = vgen_dit_config(m);
        CHECK_EQ_INT(vgen_dit_layout(m), VGEN_WAN_LAYOUT_COMFYUI);
        CHECK_EQ_INT(g->dim, 128);
        CHECK_EQ_INT(g->heads, 1);
        CHECK_EQ_INT(g->head_dim, 128);
        CHECK_EQ_INT(g->layers, 2);
        CHECK_EQ_INT(g->ffn_dim, 96);
        CHECK_EQ_INT(g->text_dim, 40);
        CHECK_EQ_INT(g->freq_dim, 32);
        CHECK_EQ_INT(g->in_channels, 16);
        CHECK_EQ_INT(g->out_channels, 8);
        CHECK_EQ_INT(vgen_dit_block_format(m), VGEN_WF_BF16);
    }
    vgen_dit_free(&m);
    free(d);
    free(names);
}

/* ---- malformed checkpoints ---- */

static void test_missing_and_misshaped(void) {
    const char *cfg = FIX "/diffusers/config.json", *src = FIX "/wan_original.safetensors";
    const char *p = TMP "/dit_bad.safetensors";
    edit e = {.drop = "blocks.1.cross_attn.norm_k.weight"};
    if (!copy_edited(src, p, &e))
        load_fails(p, cfg, NULL, VGEN_ERR_NOT_FOUND, "tensor blocks.1.cross_attn.norm_k.weight is missing (expected "
                                                    "shape [64])");
    e = (edit){.drop = "head.head.bias"};
    if (!copy_edited(src, p, &e)) load_fails(p, cfg, NULL, VGEN_ERR_NOT_FOUND, "head.head.bias is missing");
    e = (edit){.reshape = "blocks.0.ffn.0.weight", .n_dims = 2, .shape = {64, 160}};
    if (!copy_edited(src, p, &e))
        load_fails(p, cfg, NULL, VGEN_ERR_SHAPE,
                   "tensor blocks.0.ffn.0.weight has shape [64, 160], expected [160, 64]");
    e = (edit){.reshape = "blocks.1.modulation", .n_dims = 2, .shape = {6, 64}};
    if (!copy_edited(src, p, &e))
        load_fails(p, cfg, NULL, VGEN_ERR_SHAPE, "blocks.1.modulation has shape [6, 64], expected [1, 6, 64]");
    e = (edit){.reshape = "blocks.0.self_attn.q.weight", .n_dims = 1, .shape = {4096}};
    if (!copy_edited(src, p, &e)) load_fails(p, cfg, NULL, VGEN_ERR_SHAPE, "expected [64, 64]");
    e = (edit){.reshape = "patch_embedding.weight", .n_dims = 5, .shape = {64, 16, 2, 1, 2}};
    if (!copy_edited(src, p, &e)) load_fails(p, cfg, NULL, VGEN_ERR_SHAPE, "expected [64, 16, 1, 2, 2]");
    e = (edit){.nan = "blocks.0.self_attn.norm_q.weight"};
    if (!copy_edited(src, p, &e)) load_fails(p, cfg, NULL, VGEN_ERR_NUMERIC, "blocks.0.self_attn.norm_q.weight");
    /* the config says 1 layer, the file holds 2 */
    const char *cfg1 = TMP "/dit_cfg_1layer.json";
    write_text(cfg1, "{\"num_attention_heads\": 2, \"attention_head_dim\": 32, \"num_layers\": 1, \"ffn_dim\": 160, "
                     "\"text_dim\": 64}");
    load_fails(src, cfg1, NULL, VGEN_ERR_SHAPE, "num_layers = 1");
    /* the config says 3 layers, the file holds 2: the first missing tensor is named */
    write_text(cfg1, "{\"num_attention_heads\": 2, \"attention_head_dim\": 32, \"num_layers\": 3, \"ffn_dim\": 160, "
                     "\"text_dim\": 64}");
    load_fails(src, cfg1, NULL, VGEN_ERR_NOT_FOUND, "blocks.2.self_attn.q.weight is missing");
    /* a config whose dims disagree with the weights */
    write_text(cfg1, "{\"num_attention_heads\": 4, \"attention_head_dim\": 32, \"num_layers\": 2, \"ffn_dim\": 160, "
                     "\"text_dim\": 64}");
    load_fails(src, cfg1, NULL, VGEN_ERR_SHAPE, "patch_embedding.weight has shape [64, 16, 1, 2, 2], expected "
                                                "[128, 16, 1, 2, 2]");
}

static void test_truncated_and_foreign(void) {
    const char *p = TMP "/dit_trunc.safetensors";
    edit e = {.truncate = 100};
    if (!copy_edited(FIX "/comfyui.safetensors", p, &e))
        load_fails(p, FIX "/diffusers/config.json", NULL, VGEN_ERR_MALFORMED, "dit_trunc.safetensors");
    load_fails(VGEN_FIXTURES_DIR "/umt5/tiny", NULL, NULL, VGEN_ERR_UNSUPPORTED,
               "not a Wan2.1 DiT checkpoint");
    load_fails(TMP "/no_such_dit.safetensors", NULL, NULL, VGEN_ERR_NOT_FOUND, "no_such_dit");
    /* an image-to-video checkpoint (an extra tensor is enough to say so) is refused, not run as text-to-video */
    const char *i2v = TMP "/dit_i2v.safetensors";
    e = (edit){.rename = "blocks.0.norm3.bias", .to = "blocks.0.cross_attn.k_img.weight"};
    if (!copy_edited(FIX "/wan_original.safetensors", i2v, &e))
        load_fails(i2v, FIX "/diffusers/config.json", NULL, VGEN_ERR_UNSUPPORTED, "blocks.0.cross_attn.k_img.weight");
    /* fp8 scaled file with a scale of the wrong kind */
    const char *q = TMP "/dit_fp8_badscale.safetensors";
    e = (edit){.reshape = "blocks.0.ffn.2.scale_weight", .n_dims = 1, .shape = {1}};
    if (!copy_edited(FIX "/comfyui_fp8_scaled.safetensors", q, &e)) { /* [1] F32 is accepted too */
        vgen_dit_model *m = load_ok(q, FIX "/diffusers/config.json", VGEN_DTYPE_F32, NULL);
        vgen_dit_free(&m);
    }
    e = (edit){.nan = "blocks.0.ffn.2.scale_weight"};
    if (!copy_edited(FIX "/comfyui_fp8_scaled.safetensors", q, &e))
        load_fails(q, FIX "/diffusers/config.json", NULL, VGEN_ERR_NUMERIC, "blocks.0.ffn.2.scale_weight");
}

static void test_bad_config_in_directory(void) {
    const char *dir = TMP "/dit_badcfg";
    mkdir(dir, 0755);
    char wpath[512];
    snprintf(wpath, sizeof wpath, "%s/diffusion_pytorch_model.safetensors", dir);
    edit none = {0};
    if (copy_edited(FIX "/diffusers/diffusion_pytorch_model.safetensors", wpath, &none)) return;
    write_text(TMP "/dit_badcfg/config.json", "{\"num_attention_heads\": 2, \"attention_head_dim\": 32, "
                                              "\"num_layers\": \"two\"}");
    load_fails(dir, NULL, NULL, VGEN_ERR_MALFORMED, "\"num_layers\" is \"two\"");
    write_text(TMP "/dit_badcfg/config.json", "");
    load_fails(dir, NULL, NULL, VGEN_ERR_MALFORMED, "dit_badcfg/config.json: invalid JSON");
    write_text(TMP "/dit_badcfg/config.json", "{\"num_attention_heads\": 2, \"attention_head_dim\": 32, "
                                              "\"num_layers\": 2, \"ffn_dim\": 160, \"text_dim\": 64}");
    vgen_dit_model *m = load_ok(dir, NULL, VGEN_DTYPE_F32, NULL);
    vgen_dit_free(&m);
    load_fails(dir, NULL, "int9", VGEN_ERR_INVALID_ARGUMENT, "dit_format \"int9\"");
}

/* A diffusers folder with a sharded checkpoint: the folder, or its index file, finds config.json beside it. */
static void test_sharded_diffusers(void) {
    const char *src = FIX "/diffusers/diffusion_pytorch_model.safetensors";
    mkdir(TMP "/dit_sharded", 0755);
    vgen_st_set *set = NULL;
    vgen_err err = {0};
    if (vgen_st_open(src, &set, &err)) {
        CHECKF(0, "%s", err.msg);
        return;
    }
    size_t n = vgen_st_count(set), half = n / 2;
    static const char *shard[2] = {"diffusion_pytorch_model-00001-of-00002.safetensors",
                                   "diffusion_pytorch_model-00002-of-00002.safetensors"};
    FILE *idx = fopen(TMP "/dit_sharded/diffusion_pytorch_model.safetensors.index.json", "w");
    if (idx) {
        fprintf(idx, "{\"metadata\": {}, \"weight_map\": {");
        for (size_t i = 0; i < n; i++)
            fprintf(idx, "%s\"%s\": \"%s\"", i ? ", " : "", vgen_st_at(set, i)->name, shard[i >= half]);
        fprintf(idx, "}}");
        fclose(idx);
    }
    vgen_st_close(&set);
    edit a = {.from = 0, .to_index = half}, b = {.from = half, .to_index = n};
    int rc = copy_edited(src, TMP "/dit_sharded/diffusion_pytorch_model-00001-of-00002.safetensors", &a);
    rc |= copy_edited(src, TMP "/dit_sharded/diffusion_pytorch_model-00002-of-00002.safetensors", &b);
    FILE *cf = fopen(FIX "/diffusers/config.json", "r"), *ct = fopen(TMP "/dit_sharded/config.json", "w");
    for (int c; cf && ct && (c = fgetc(cf)) != EOF;) fputc(c, ct);
    if (cf) fclose(cf);
    if (ct) fclose(ct);
    CHECK(rc == 0 && idx);
    vgen_dit_model *ref = load_ok(FIX "/diffusers", NULL, VGEN_DTYPE_F32, NULL);
    vgen_dit_model *d = load_ok(TMP "/dit_sharded", NULL, VGEN_DTYPE_F32, NULL);
    vgen_dit_model *i = load_ok(TMP "/dit_sharded/diffusion_pytorch_model.safetensors.index.json", NULL,
                                VGEN_DTYPE_F32, NULL);
    if (ref && d && i) {
        CHECK(same_model(ref, d));
        CHECK(same_model(ref, i));
        CHECK_EQ_INT(vgen_dit_config(i)->heads, 2); /* from config.json, not derived (which would refuse dim 64) */
    }
    vgen_dit_free(&ref);
    vgen_dit_free(&d);
    vgen_dit_free(&i);
}

/* ---- quantized weights ---- */

static void test_quantize_on_load(void) {
    vgen_dit_model *src = load_ok(FIX "/diffusers", NULL, VGEN_DTYPE_F32, NULL);
    for (int f = VGEN_WF_INT8_ROW; f < VGEN_WF_COUNT && src; f++) {
        const char *name = vgen_wformat_get((vgen_wformat)f)->name;
        vgen_dit_model *q = load_ok(FIX "/diffusers", NULL, VGEN_DTYPE_F32, name);
        if (!q) continue;
        CHECK_EQ_INT(vgen_dit_block_format(q), f);
        CHECK_EQ_INT(q->blocks[1].ffn2.w.format, f);
        CHECK_EQ_INT(q->g.text1.w.format, VGEN_WF_F32); /* outside the blocks: as stored */
        CHECK(q->blocks[0].sa_q.own != NULL);
        /* exactly the reference quantizer's output */
        const vgen_qmatrix *s = &src->blocks[1].ffn1.w, *w = &q->blocks[1].ffn1.w;
        size_t db, sc, zc;
        vgen_wformat_data_bytes((vgen_wformat)f, s->rows, s->cols, &db);
        vgen_wformat_scale_count((vgen_wformat)f, s->rows, s->cols, &sc);
        vgen_wformat_zero_count((vgen_wformat)f, s->rows, s->cols, &zc);
        unsigned char *data = malloc(db);
        float *scales = malloc(sc * 4 + 4);
        uint8_t *zeros = malloc(zc + 1);
        vgen_err err = {0};
        CHECK_EQ_INT(vgen_wformat_quantize((vgen_wformat)f, s->data, s->rows, s->cols, data, scales, zeros, &err), 0);
        int same = !memcmp(data, w->data, db) && !memcmp(scales, w->scales, sc * 4) &&
                   (!zc || !memcmp(zeros, w->zeros, zc));
        CHECKF(same, "%s: quantize-on-load differs from vgen_wformat_quantize", name);
        free(data);
        free(scales);
        free(zeros);
        CHECK(vgen_dit_owned_bytes(q) > vgen_dit_owned_bytes(src));
        vgen_dit_free(&q);
    }
    vgen_dit_free(&src);
}

/* Threads give the same bytes as the serial quantizer. */
static void test_quantize_on_load_threads(void) {
    vgen_threadpool *pool = NULL;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_threadpool_new(3, &pool, &err), 0);
    vgen_dit_params p;
    vgen_dit_params_init(&p);
    p.config_path = FIX "/diffusers/config.json";
    p.dit_format = "int4_g32_zp";
    vgen_dit_model *a = NULL, *b = NULL;
    CHECK_EQ_INT(vgen_dit_load(FIX "/comfyui.safetensors", &p, &a, &err), 0);
    p.pool = pool;
    CHECK_EQ_INT(vgen_dit_load(FIX "/comfyui.safetensors", &p, &b, &err), 0);
    if (a && b) CHECK(same_model(a, b));
    vgen_dit_free(&a);
    vgen_dit_free(&b);
    vgen_threadpool_free(&pool);
}

/* A file written by `vgen quantize` loads to the same matrices as quantize-on-load of its source. */
static void test_vgen_quantized_file(void) {
    vgen_context *ctx = NULL;
    vgen_context_params cp = vgen_context_params_init();
    if (vgen_context_new(&cp, &ctx)) {
        CHECK(0);
        return;
    }
    const char *out = TMP "/dit_int8.safetensors";
    vgen_quantize_params qp = vgen_quantize_params_init();
    qp.format = "int8";
    int rc = vgen_quantize_file(ctx, FIX "/wan_original.safetensors", out, &qp);
    CHECKF(rc == 0, "%s", vgen_context_last_error(ctx));
    vgen_context_free(&ctx);
    const char *cfg = FIX "/diffusers/config.json";
    vgen_dit_model *f = load_ok(out, cfg, VGEN_DTYPE_BF16, NULL);
    vgen_dit_model *q = load_ok(FIX "/wan_original.safetensors", cfg, VGEN_DTYPE_BF16, "int8_row");
    if (f && q) {
        CHECK_EQ_INT(vgen_dit_block_format(f), VGEN_WF_INT8_ROW);
        CHECK(f->blocks[0].sa_q.own == NULL); /* used in place */
        CHECK(same_model(f, q));
    }
    /* asking for the format it already has keeps the views */
    vgen_dit_model *g = load_ok(out, cfg, VGEN_DTYPE_BF16, "int8_row");
    if (g) CHECK(g->blocks[0].sa_q.own == NULL);
    vgen_dit_free(&f);
    vgen_dit_free(&q);
    vgen_dit_free(&g);
}

int main(void) {
    RUN(test_config_fixture);
    RUN(test_config_values);
    RUN(test_layouts_same_weights);
    RUN(test_bf16_rounding_of_small_tensors);
    RUN(test_fp8_scaled);
    RUN(test_derived_config);
    RUN(test_missing_and_misshaped);
    RUN(test_truncated_and_foreign);
    RUN(test_bad_config_in_directory);
    RUN(test_sharded_diffusers);
    RUN(test_quantize_on_load);
    RUN(test_quantize_on_load_threads);
    RUN(test_vgen_quantized_file);
    return test_summary();
}

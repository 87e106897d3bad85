/* test_vae.c - the Wan2.1 VAE decoder (vae/) against the diffusers fixtures (tests/fixtures/vae/tiny):
 *   - config parsing and geometry, the name map (checked against diffusers' convert_wan_vae_to_diffusers), loading
 *     both layouts, and the loader's errors (missing / mis-shaped / non-finite tensor) on edited copies of the
 *     fixture weights written to VGEN_TEST_TMPDIR;
 *   - decode of 1, 2 and 5 latent frames within the manifest's f32 class, and every stage of the 2-frame case;
 *   - stream (frame at a time) == whole-sequence decode, bit for bit; the denormalization bit for bit;
 *   - tiled vs untiled PSNR (guarded), frame-major == tile-major, memory budgets and flat plans;
 *   - bad input: wrong channel count, NaN in the latent, a non-finite decoded frame, abort, a failing sink.
 * Runs on the reference backend (plain loops) unless VGEN_TEST_VAE_BACKEND=cpu. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/fixture.h"
#include "ref/ops_ref.h" /* before ops_cpu.h, which uses its vgen_conv3d_dims */
#include "cpu/ops_cpu.h"
#include "safetensors.h"
#include "testutil.h"
#include "wan_vae.h"
#include "wan_vae_internal.h" /* wvae_denormalize, checked bit for bit */

#define FIX_DIR VGEN_FIXTURES_DIR "/vae/tiny/diffusers"
#define TMP VGEN_TEST_TMPDIR

static vgen_st_set *g_io;       /* io.safetensors */
static vgen_wan_vae *g_vae;     /* the fixture decoder, diffusers layout */
static vgen_backend *g_be;

/* ---- helpers ----------------------------------------------------------------------------------------- */

/* The reference backend, or the CPU one (cpu = 1). The installs are idempotent: until the constructors install
 * the ops themselves. */
static vgen_backend *make_backend(int cpu) {
    vgen_backend *be = NULL;
    vgen_err err = {0};
    int rc = cpu ? vgen_backend_cpu_new(NULL, &be, &err) : vgen_backend_ref_new(&be, &err);
    if (rc) {
        fprintf(stderr, "cannot create a backend: %s\n", err.msg);
        return NULL;
    }
    if (!be->conv3d) cpu ? vgen_cpu_ops_install(be) : vgen_ref_ops_install(be);
    return be;
}

/* A latent fixture tensor as a [16, F, 4, 6] view (the batch of 1 dropped). */
static int latent_view(const char *name, vgen_tensor *z) {
    const vgen_st_tensor *t = vgen_st_find(g_io, name);
    if (!t || t->dtype != VGEN_ST_F32 || t->n_dims != 5) return -1;
    return vgen_tensor_view(z, VGEN_DTYPE_F32, 4, t->shape + 1, (void *)t->data, NULL);
}

static const float *ref_tensor(const char *name, size_t *n) { return fixture_tensor(g_io, name, VGEN_ST_F32, n); }

static void report(const char *what, fixture_diff d) {
    printf("    %-28s max|err| %.3g  (max|ref| %.3g, budget %.3g)  cosine %.9f\n", what, d.max_abs, d.ref_max,
           1e-4 * fmax(1.0, d.ref_max), d.cosine);
}

/* Decodes the fixture latent tF (normalized) into a new video [3, frames, 32, 48]. */
static float *decode_video(const vgen_wan_vae *m, int t, const vgen_wan_vae_params *p, int64_t *frames, int *rc_out,
                           vgen_err *err) {
    char name[64];
    snprintf(name, sizeof name, "t%d.latent_normalized", t);
    vgen_tensor z;
    *rc_out = -1;
    if (latent_view(name, &z)) return NULL;
    *frames = vgen_wan_vae_frames_out(vgen_wan_vae_get_config(m), t);
    float *video = calloc((size_t)(3 * *frames * 32 * 48), sizeof(float));
    if (!video) return NULL;
    *rc_out = vgen_wan_vae_decode(m, g_be, &z, p, video, err);
    if (*rc_out) fprintf(stderr, "decode failed: %s\n", err->msg);
    return video;
}

/* ---- safetensors copies of the fixture weights with one edit ---- */

typedef enum edit_kind { EDIT_NONE, EDIT_ORIGINAL_NAMES, EDIT_DROP, EDIT_RESHAPE, EDIT_NAN, EDIT_SCALE } edit_kind;

typedef struct edit {
    edit_kind kind;
    const char *target;   /* the diffusers name edited */
    float scale;
    const char *target2;  /* EDIT_SCALE: a second tensor scaled by scale2; EDIT_ORIGINAL_NAMES: a name prefix */
    float scale2;
} edit;

static int keep_tensor(const vgen_st_tensor *t, const edit *e) {
    if (e->kind == EDIT_DROP && !strcmp(t->name, e->target)) return 0;
    if (e->kind == EDIT_ORIGINAL_NAMES)
        return !strncmp(t->name, "decoder.", 8) || !strncmp(t->name, "post_quant_conv.", 16);
    return 1;
}

static void decl_for(const vgen_st_tensor *t, const edit *e, const vgen_wan_vae_config *c, vgen_st_decl *d,
                     char *name_buf) {
    memset(d, 0, sizeof *d);
    strcpy(name_buf, t->name);
    if (e->kind == EDIT_ORIGINAL_NAMES) {
        char mapped[200];
        vgen_wan_vae_name_map(c, VGEN_WAN_VAE_LAYOUT_ORIGINAL, t->name, mapped, sizeof mapped, NULL);
        snprintf(name_buf, 256, "%s%s", e->target2 ? e->target2 : "", mapped);
    }
    d->name = name_buf, d->dtype = t->dtype, d->n_dims = t->n_dims;
    memcpy(d->shape, t->shape, sizeof d->shape);
    if (e->kind == EDIT_RESHAPE && !strcmp(t->name, e->target)) {
        d->shape[0] = 1; /* [N, ...] -> [1, N * ...] keeps the byte count */
        for (int i = 2; i < t->n_dims; i++) d->shape[1] *= t->shape[i];
        d->shape[1] *= t->shape[0];
        d->n_dims = 2;
    }
}

/* Writes TMP/name: the fixture weights with edit e. 0 on success. */
static int write_edited(const char *name, const edit *e, char *path, size_t path_size) {
    snprintf(path, path_size, "%s/%s", TMP, name);
    vgen_st_set *src = NULL;
    vgen_err err = {0};
    if (vgen_st_open(FIX_DIR "/diffusion_pytorch_model.safetensors", &src, &err)) return -1;
    const vgen_wan_vae_config *c = vgen_wan_vae_get_config(g_vae);
    size_t n = vgen_st_count(src), nd = 0;
    vgen_st_decl *decls = calloc(n, sizeof *decls);
    char (*names)[256] = calloc(n, 256);
    const vgen_st_tensor **kept = calloc(n, sizeof *kept);
    int rc = (decls && names && kept) ? 0 : -1;
    for (size_t i = 0; i < n && !rc; i++) {
        const vgen_st_tensor *t = vgen_st_at(src, i);
        if (!keep_tensor(t, e)) continue;
        decl_for(t, e, c, &decls[nd], names[nd]);
        kept[nd++] = t;
    }
    vgen_st_writer *w = NULL;
    if (!rc) rc = vgen_st_writer_open(path, decls, nd, NULL, NULL, 0, &w, &err);
    for (size_t i = 0; i < nd && !rc; i++) {
        const vgen_st_tensor *t = kept[i];
        float *buf = malloc(t->n_bytes);
        if (!buf) { rc = -1; break; }
        memcpy(buf, t->data, t->n_bytes);
        const int hit1 = !strcmp(t->name, e->target ? e->target : "");
        const int hit2 = e->kind == EDIT_SCALE && !strcmp(t->name, e->target2 ? e->target2 : "");
        if ((hit1 || hit2) && t->dtype == VGEN_ST_F32) {
            if (e->kind == EDIT_NAN) buf[t->n_bytes / 8] = NAN;
            if (e->kind == EDIT_SCALE)
                for (size_t k = 0; k < t->n_bytes / 4; k++) buf[k] *= hit1 ? e->scale : e->scale2;
        }
        rc = vgen_st_writer_write(w, buf, t->n_bytes, &err);
        free(buf);
    }
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    else vgen_st_writer_abort(&w);
    if (rc) fprintf(stderr, "writing %s: %s\n", path, err.msg);
    free(decls), free(names), free(kept);
    vgen_st_close(&src);
    return rc;
}

/* ---- config, names, loading ---------------------------------------------------------------------------- */

static void test_config(void) {
    vgen_wan_vae_config c;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_wan_vae_config_load(FIX_DIR "/config.json", &c, &err), 0);
    CHECK_EQ_INT(c.base_dim, 8);
    CHECK_EQ_INT(c.z_dim, 16);
    CHECK_EQ_INT(c.n_levels, 4);
    CHECK_EQ_INT(c.dim_mult[3], 4);
    CHECK_EQ_INT(c.num_res_blocks, 2);
    CHECK(c.temperal_downsample[0] == 0 && c.temperal_downsample[1] == 1 && c.temperal_downsample[2] == 1);
    CHECK(c.latents_std[15] == 1.916f && c.latents_mean[0] == -0.7571f);
    /* Wan2.1 geometry */
    vgen_wan_vae_config_default(&c);
    CHECK_EQ_INT(vgen_wan_vae_mid_dim(&c), 384);
    const int in[4] = {384, 192, 192, 96}, out[4] = {384, 384, 192, 96}, up[4] = {3, 3, 2, 0};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(vgen_wan_vae_level_in(&c, i), in[i]);
        CHECK_EQ_INT(vgen_wan_vae_level_out(&c, i), out[i]);
        CHECK_EQ_INT(vgen_wan_vae_level_upsample(&c, i), up[i]);
    }
    CHECK_EQ_INT(vgen_wan_vae_frames_out(&c, 21), 81);
    CHECK_EQ_INT(vgen_wan_vae_frames_out(&c, 1), 1);
    CHECK_EQ_INT(vgen_wan_vae_spatial_factor(&c), 8);
    /* bad configs */
    const char *bad[][2] = {
        {"{\"z_dim\": 16,", "not valid JSON"},
        {"{\"is_residual\": true}", "is_residual"},
        {"{\"latents_mean\": [1, 2]}", "latents_mean"},
        {"{\"dim_mult\": [1, 2, 4]}", "temperal_downsample"},
        {"{\"base_dim\": \"96\"}", "base_dim"},
        {"{\"latents_std\": [0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}", "latents_std"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = vgen_wan_vae_config_parse(bad[i][0], strlen(bad[i][0]), "cfg", &c, &err);
        CHECKF(rc != 0, "config %s should fail", bad[i][0]);
        CHECK_STR_CONTAINS(err.msg, bad[i][1]);
    }
}

/* Pairs verified with diffusers' convert_wan_vae_to_diffusers (all 108 decoder names of the default config map back
 * to themselves; the loader test below exercises every one of the tiny config's). */
static void test_names(void) {
    static const char *pairs[][2] = {
        {"post_quant_conv.weight", "conv2.weight"},
        {"decoder.conv_in.bias", "decoder.conv1.bias"},
        {"decoder.mid_block.resnets.0.norm1.gamma", "decoder.middle.0.residual.0.gamma"},
        {"decoder.mid_block.resnets.1.conv2.weight", "decoder.middle.2.residual.6.weight"},
        {"decoder.mid_block.attentions.0.to_qkv.weight", "decoder.middle.1.to_qkv.weight"},
        {"decoder.mid_block.attentions.0.norm.gamma", "decoder.middle.1.norm.gamma"},
        {"decoder.up_blocks.0.resnets.2.conv1.bias", "decoder.upsamples.2.residual.2.bias"},
        {"decoder.up_blocks.0.upsamplers.0.time_conv.weight", "decoder.upsamples.3.time_conv.weight"},
        {"decoder.up_blocks.1.resnets.0.conv_shortcut.weight", "decoder.upsamples.4.shortcut.weight"},
        {"decoder.up_blocks.1.resnets.0.norm2.gamma", "decoder.upsamples.4.residual.3.gamma"},
        {"decoder.up_blocks.1.upsamplers.0.resample.1.bias", "decoder.upsamples.7.resample.1.bias"},
        {"decoder.up_blocks.2.resnets.1.conv2.bias", "decoder.upsamples.9.residual.6.bias"},
        {"decoder.up_blocks.2.upsamplers.0.resample.1.weight", "decoder.upsamples.11.resample.1.weight"},
        {"decoder.up_blocks.3.resnets.2.conv2.weight", "decoder.upsamples.14.residual.6.weight"},
        {"decoder.norm_out.gamma", "decoder.head.0.gamma"},
        {"decoder.conv_out.weight", "decoder.head.2.weight"},
    };
    vgen_wan_vae_config c;
    vgen_wan_vae_config_default(&c);
    char out[256];
    vgen_err err = {0};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        CHECK_EQ_INT(vgen_wan_vae_name_map(&c, VGEN_WAN_VAE_LAYOUT_ORIGINAL, pairs[i][0], out, sizeof out, &err), 0);
        CHECKF(!strcmp(out, pairs[i][1]), "%s -> %s, expected %s", pairs[i][0], out, pairs[i][1]);
        CHECK_EQ_INT(vgen_wan_vae_name_map(&c, VGEN_WAN_VAE_LAYOUT_DIFFUSERS, pairs[i][0], out, sizeof out, &err), 0);
        CHECK(!strcmp(out, pairs[i][0]));
    }
    const char *not_decoder[] = {"encoder.conv_in.weight", "decoder.up_blocks.3.upsamplers.0.resample.1.weight",
                                 "decoder.up_blocks.0.resnets.3.conv1.weight", "decoder.mid_block.resnets.2.conv1.bias",
                                 "decoder.up_blocks.01.resnets.0.conv1.bias", "decoder.conv_in.gamma"};
    for (size_t i = 0; i < sizeof not_decoder / sizeof not_decoder[0]; i++)
        CHECKF(vgen_wan_vae_name_map(&c, VGEN_WAN_VAE_LAYOUT_ORIGINAL, not_decoder[i], out, sizeof out, &err) ==
                   VGEN_ERR_NOT_FOUND, "%s should not map", not_decoder[i]);
}

static void test_load_diffusers(void) {
    CHECK(g_vae != NULL);
    if (!g_vae) return;
    CHECK_EQ_INT(vgen_wan_vae_get_layout(g_vae), VGEN_WAN_VAE_LAYOUT_DIFFUSERS);
    const vgen_wan_vae_config *c = vgen_wan_vae_get_config(g_vae);
    CHECK_EQ_INT(c->base_dim, 8);
    CHECK(vgen_wan_vae_weight_bytes(g_vae) > 100000);
    /* the same from the file alone: config derived from the shapes */
    vgen_wan_vae *m = NULL;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_wan_vae_load(FIX_DIR "/diffusion_pytorch_model.safetensors", NULL, &m, &err), 0);
    if (m) CHECK(!memcmp(vgen_wan_vae_get_config(m), c, sizeof *c));
    vgen_wan_vae_free(&m);
    CHECK(m == NULL);
}

static int expect_load_error(const char *file, const edit *e, int code, const char *msg1, const char *msg2) {
    char path[1024];
    if (write_edited(file, e, path, sizeof path)) return -1;
    vgen_wan_vae *m = NULL;
    vgen_err err = {0};
    int rc = vgen_wan_vae_load(path, vgen_wan_vae_get_config(g_vae), &m, &err);
    CHECKF(rc == code, "%s: status %d, expected %d (%s)", file, rc, code, err.msg);
    CHECK(m == NULL);
    CHECK_STR_CONTAINS(err.msg, msg1);
    if (msg2) CHECK_STR_CONTAINS(err.msg, msg2);
    printf("    %s: %s\n", file, err.msg);
    return 0;
}

static void test_load_errors(void) {
    edit drop = {EDIT_DROP, "decoder.up_blocks.1.resnets.0.conv_shortcut.weight", 0, NULL, 0};
    CHECK_EQ_INT(expect_load_error("vae_missing.safetensors", &drop, VGEN_ERR_NOT_FOUND,
                                   "decoder.up_blocks.1.resnets.0.conv_shortcut.weight", "[32, 16, 1, 1, 1]"), 0);
    edit reshape = {EDIT_RESHAPE, "decoder.up_blocks.2.resnets.1.conv2.weight", 0, NULL, 0};
    CHECK_EQ_INT(expect_load_error("vae_misshaped.safetensors", &reshape, VGEN_ERR_SHAPE,
                                   "decoder.up_blocks.2.resnets.1.conv2.weight", "expected [16, 16, 3, 3, 3]"), 0);
    edit nan = {EDIT_NAN, "decoder.mid_block.attentions.0.proj.weight", 0, NULL, 0};
    CHECK_EQ_INT(expect_load_error("vae_nan_weight.safetensors", &nan, VGEN_ERR_NUMERIC,
                                   "decoder.mid_block.attentions.0.proj.weight", "NaN"), 0);
    vgen_wan_vae *m = NULL;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_wan_vae_load(VGEN_FIXTURES_DIR "/vae/tiny/io.safetensors", NULL, &m, &err), VGEN_ERR_NOT_FOUND);
    CHECK_STR_CONTAINS(err.msg, "no Wan VAE decoder");
}

/* ---- decoding against diffusers ------------------------------------------------------------------------ */

static void test_denormalize(void) {
    /* WanPipeline's latents / (1/std) + mean, bit for bit */
    const int ts[3] = {1, 2, 5};
    for (int i = 0; i < 3; i++) {
        char a_name[64], b_name[64];
        snprintf(a_name, sizeof a_name, "t%d.latent_normalized", ts[i]);
        snprintf(b_name, sizeof b_name, "t%d.latent_denorm", ts[i]);
        vgen_tensor x, want, got;
        CHECK(!latent_view(a_name, &x) && !latent_view(b_name, &want));
        CHECK_EQ_INT(vgen_tensor_alloc(&got, VGEN_DTYPE_F32, 4, x.shape, NULL), 0);
        wvae_denormalize(vgen_wan_vae_get_config(g_vae), &x, 0, &got);
        CHECKF(!memcmp(got.data, want.data, vgen_tensor_bytes(&got)), "t%d: denormalization differs", ts[i]);
        vgen_tensor_release(&got);
    }
    /* and the decode uses it: decoding the fixture's denormalized latents with denormalize = 0 gives the same frames */
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    int64_t frames;
    int rc1, rc2;
    vgen_err err = {0};
    float *a = decode_video(g_vae, 2, &p, &frames, &rc1, &err);
    vgen_tensor z;
    float *b = calloc((size_t)(3 * frames * 32 * 48), sizeof(float));
    p.denormalize = 0;
    rc2 = (b && !latent_view("t2.latent_denorm", &z)) ? vgen_wan_vae_decode(g_vae, g_be, &z, &p, b, &err) : -1;
    CHECK(rc1 == 0 && rc2 == 0);
    if (a && b) CHECK(!memcmp(a, b, (size_t)(3 * frames * 32 * 48) * sizeof(float)));
    free(a), free(b);
}

static void test_decode_fixture(void) {
    const int ts[3] = {1, 2, 5};
    for (int i = 0; i < 3; i++) {
        vgen_wan_vae_params p = vgen_wan_vae_params_init();
        int64_t frames;
        int rc;
        vgen_err err = {0};
        float *video = decode_video(g_vae, ts[i], &p, &frames, &rc, &err);
        char name[64];
        snprintf(name, sizeof name, "t%d.video", ts[i]);
        size_t n = 0;
        const float *ref = ref_tensor(name, &n);
        CHECK_EQ_INT(rc, 0);
        CHECK(ref && n == (size_t)(3 * frames * 32 * 48));
        if (!rc && ref && video && n == (size_t)(3 * frames * 32 * 48)) {
            fixture_diff d = fixture_compare(video, ref, n);
            snprintf(name, sizeof name, "t%d.video (%lld frames)", ts[i], (long long)frames);
            report(name, d);
            CHECKF(fixture_within_f32(d), "%s outside the f32 class", name);
        }
        free(video);
    }
}

/* Collects tap chunks per stage name, frame-major ([T][C][H][W]) while appending. */
typedef struct stage_buf {
    char name[48];
    int64_t c, h, w, t;
    float *data;
} stage_buf;

typedef struct tap_store {
    stage_buf s[16];
    int n;
    int failed;
} tap_store;

static void tap_collect(void *user_data, const char *name, const vgen_tensor *x) {
    tap_store *ts = user_data;
    stage_buf *b = NULL;
    for (int i = 0; i < ts->n; i++)
        if (!strcmp(ts->s[i].name, name)) b = &ts->s[i];
    if (!b && ts->n < 16) {
        b = &ts->s[ts->n++];
        snprintf(b->name, sizeof b->name, "%s", name);
        b->c = x->shape[0], b->h = x->shape[2], b->w = x->shape[3];
    }
    if (!b || b->c != x->shape[0] || b->h != x->shape[2] || b->w != x->shape[3]) {
        ts->failed = 1;
        return;
    }
    const int64_t hw = b->h * b->w, nt = x->shape[1];
    float *grown = realloc(b->data, (size_t)((b->t + nt) * b->c * hw) * sizeof(float));
    if (!grown) {
        ts->failed = 1;
        return;
    }
    b->data = grown;
    const float *src = x->data;
    for (int64_t t = 0; t < nt; t++)
        for (int64_t c = 0; c < b->c; c++)
            memcpy(b->data + ((b->t + t) * b->c + c) * hw, src + (c * nt + t) * hw, (size_t)hw * sizeof(float));
    b->t += nt;
}

/* stage [C, T, H, W] from the frame-major store */
static float *stage_cthw(const stage_buf *b) {
    const int64_t hw = b->h * b->w;
    float *out = malloc((size_t)(b->c * b->t * hw) * sizeof(float));
    if (!out) return NULL;
    for (int64_t t = 0; t < b->t; t++)
        for (int64_t c = 0; c < b->c; c++)
            memcpy(out + (c * b->t + t) * hw, b->data + (t * b->c + c) * hw, (size_t)hw * sizeof(float));
    return out;
}

static void check_stages(vgen_wan_vae_mode mode) {
    static const char *names[] = {"post_quant_conv", "decoder.conv_in", "decoder.mid_block", "decoder.up_blocks.0",
                                  "decoder.up_blocks.1", "decoder.up_blocks.2", "decoder.up_blocks.3",
                                  "decoder.conv_out"};
    tap_store ts;
    memset(&ts, 0, sizeof ts);
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    p.mode = mode, p.tap = tap_collect, p.tap_user_data = &ts;
    int64_t frames;
    int rc;
    vgen_err err = {0};
    free(decode_video(g_vae, 2, &p, &frames, &rc, &err));
    CHECK_EQ_INT(rc, 0);
    CHECK(!ts.failed);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char rname[64];
        snprintf(rname, sizeof rname, "t2.%s", names[i]);
        size_t n = 0;
        const float *ref = ref_tensor(rname, &n);
        const stage_buf *b = NULL;
        for (int k = 0; k < ts.n; k++)
            if (!strcmp(ts.s[k].name, names[i])) b = &ts.s[k];
        CHECKF(b && ref && (size_t)(b->c * b->t * b->h * b->w) == n, "stage %s missing or mis-sized", names[i]);
        if (!b || !ref || (size_t)(b->c * b->t * b->h * b->w) != n) continue;
        float *got = stage_cthw(b);
        fixture_diff d = fixture_compare(got, ref, n);
        if (mode == VGEN_WAN_VAE_STREAM) report(rname, d);
        CHECKF(fixture_within_f32(d), "%s outside the f32 class", rname);
        free(got);
    }
    for (int k = 0; k < ts.n; k++) free(ts.s[k].data);
}

static void test_stages(void) {
    check_stages(VGEN_WAN_VAE_STREAM);
    check_stages(VGEN_WAN_VAE_WHOLE);
}

/* Counts the frames the callback sees and keeps a copy of each (rgb and pixels). */
typedef struct frame_log {
    int64_t n, expect_next;
    int order_ok, range_ok;
    float *pixels;   /* [frames][3 H W] */
    int64_t stop_after;  /* abort after this many frames (-1: never) */
    int sink_status;     /* returned by the callback */
} frame_log;

static int on_frame(void *user_data, const vgen_wan_vae_frame *f) {
    frame_log *lg = user_data;
    const int64_t px = 3 * (int64_t)f->height * f->width;
    if (f->index != lg->expect_next) lg->order_ok = 0;
    lg->expect_next = f->index + 1;
    for (int64_t i = 0; i < px; i++) {
        if (!(f->rgb[i] >= 0.0f && f->rgb[i] <= 1.0f) || f->rgb[i] != f->pixels[i] * 0.5f + 0.5f) lg->range_ok = 0;
    }
    if (lg->pixels) memcpy(lg->pixels + f->index * px, f->pixels, (size_t)px * sizeof(float));
    lg->n++;
    return lg->sink_status;
}

static int stop_after(void *user_data) {
    frame_log *lg = user_data;
    return lg->stop_after >= 0 && lg->n >= lg->stop_after;
}

static void test_stream_equals_whole(void) {
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    frame_log lg = {0, 0, 1, 1, NULL, -1, 0};
    const int64_t frames = 17, px = 3 * 32 * 48;
    lg.pixels = calloc((size_t)(frames * px), sizeof(float));
    p.on_frame = on_frame, p.frame_user_data = &lg;
    int64_t nf;
    int rc1, rc2;
    vgen_err err = {0};
    float *stream = decode_video(g_vae, 5, &p, &nf, &rc1, &err);
    p.on_frame = NULL, p.mode = VGEN_WAN_VAE_WHOLE;
    float *whole = decode_video(g_vae, 5, &p, &nf, &rc2, &err);
    CHECK(rc1 == 0 && rc2 == 0 && nf == frames);
    CHECK_EQ_INT(lg.n, frames);
    CHECK(lg.order_ok && lg.range_ok);
    if (stream && whole && lg.pixels) {
        CHECKF(!memcmp(stream, whole, (size_t)(frames * px) * sizeof(float)), "stream and whole decode differ");
        /* the callback's frames are the video's frames */
        int same = 1;
        for (int64_t f = 0; f < frames; f++)
            for (int c = 0; c < 3; c++)
                same &= !memcmp(lg.pixels + f * px + c * 32 * 48, stream + (c * frames + f) * 32 * 48, 32 * 48 * 4);
        CHECK(same);
        printf("    stream vs whole (5 latent frames, 17 output frames): bitwise identical: %s\n",
               memcmp(stream, whole, (size_t)(frames * px) * sizeof(float)) ? "no" : "yes");
    }
    free(stream), free(whole), free(lg.pixels);
}

/* The weights under the original Wan names (as ComfyUI's wan_2.1_vae.safetensors), bare or under a prefix: the config
 * derived from the shapes, and the decode bit-identical to the diffusers layout's. */
static void check_original_layout(const char *file, const char *prefix) {
    char path[1024];
    edit e = {EDIT_ORIGINAL_NAMES, NULL, 0, prefix, 0};
    CHECK_EQ_INT(write_edited(file, &e, path, sizeof path), 0);
    vgen_wan_vae *m = NULL;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_wan_vae_load(path, NULL, &m, &err), 0); /* config derived from the shapes */
    if (!m) return;
    CHECK_EQ_INT(vgen_wan_vae_get_layout(m), VGEN_WAN_VAE_LAYOUT_ORIGINAL);
    CHECK(!memcmp(vgen_wan_vae_get_config(m), vgen_wan_vae_get_config(g_vae), sizeof(vgen_wan_vae_config)));
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    int64_t frames;
    int rc1, rc2;
    float *a = decode_video(m, 2, &p, &frames, &rc1, &err);
    float *b = decode_video(g_vae, 2, &p, &frames, &rc2, &err);
    CHECK(rc1 == 0 && rc2 == 0);
    if (a && b) CHECK(!memcmp(a, b, (size_t)(3 * frames * 32 * 48) * sizeof(float)));
    free(a), free(b);
    vgen_wan_vae_free(&m);
}

static void test_original_layout(void) {
    check_original_layout("vae_original_names.safetensors", NULL);
    check_original_layout("vae_original_prefixed.safetensors", "first_stage_model.");
}

/* The fixture on the CPU backend (the fast conv3d / attention / norms): the f32 class, and stream == whole. */
static void test_cpu_backend(void) {
    vgen_backend *ref = g_be;
    g_be = make_backend(1);
    if (!g_be) {
        g_be = ref;
        CHECK(0);
        return;
    }
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    int64_t frames;
    int rc1, rc2;
    vgen_err err = {0};
    float *stream = decode_video(g_vae, 5, &p, &frames, &rc1, &err);
    p.mode = VGEN_WAN_VAE_WHOLE;
    float *whole = decode_video(g_vae, 5, &p, &frames, &rc2, &err);
    size_t n = 0;
    const float *ref_v = ref_tensor("t5.video", &n);
    CHECK(rc1 == 0 && rc2 == 0 && ref_v && n == (size_t)(3 * frames * 32 * 48));
    if (stream && whole && ref_v && !rc1 && !rc2) {
        fixture_diff d = fixture_compare(stream, ref_v, n);
        report("t5.video (cpu backend)", d);
        CHECKF(fixture_within_f32(d), "cpu backend outside the f32 class");
        fixture_diff dw = fixture_compare(stream, whole, n);
        printf("    cpu stream vs whole: %s (max|diff| %.3g)\n",
               memcmp(stream, whole, n * sizeof(float)) ? "differ" : "bitwise identical", dw.max_abs);
        CHECK(!memcmp(stream, whole, n * sizeof(float)));
    }
    free(stream), free(whole);
    vgen_backend_free(&g_be);
    g_be = ref;
}

/* ---- tiling ---------------------------------------------------------------------------------------------- */

/* PSNR floors (dB on [0, 1] frames) per tiling of the 4 x 6 fixture latent, ~0.5 dB under the measured values
 * (printed; docs/vae.md). The tiles are barely larger than the decoder's spatial context (and the mid-block
 * attention spans the whole frame), so these guard the blending against regressions, not image quality. */
typedef struct tile_case {
    int t, th, tw, ov;
    double psnr_min;
} tile_case;

static void tiled_psnr(const tile_case *tc, const float *untiled, int64_t frames, vgen_wan_vae_tile_order order,
                       float *out) {
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    p.tile_h = tc->th, p.tile_w = tc->tw, p.tile_overlap = tc->ov, p.tile_order = order;
    int64_t nf;
    int rc;
    vgen_err err = {0};
    float *tiled = decode_video(g_vae, tc->t, &p, &nf, &rc, &err);
    CHECK_EQ_INT(rc, 0);
    if (!tiled || rc) {
        free(tiled);
        return;
    }
    const size_t n = (size_t)(3 * frames * 32 * 48);
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    for (size_t i = 0; a && b && i < n; i++) a[i] = untiled[i] * 0.5f + 0.5f, b[i] = tiled[i] * 0.5f + 0.5f;
    double psnr = (a && b) ? vgen_wan_vae_psnr(a, b, n, 1.0) : 0;
    vgen_wan_vae_plan pl;
    vgen_wan_vae_plan_decode(g_vae, tc->t, 4, 6, &p, &pl, &err);
    printf("    t%d tiles %dx%d overlap %d (%dx%d tiles, %s): PSNR %.2f dB vs untiled (floor %.1f)\n", tc->t, tc->th,
           tc->tw, tc->ov, pl.tiles_y, pl.tiles_x,
           order == VGEN_WAN_VAE_TILES_FRAME_MAJOR ? "frame-major" : "tile-major", psnr, tc->psnr_min);
    CHECKF(psnr >= tc->psnr_min, "tiled PSNR %.2f < %.1f", psnr, tc->psnr_min);
    if (out) memcpy(out, tiled, n * sizeof(float));
    free(a), free(b), free(tiled);
}

static float *untiled_video(int t, int64_t *frames) {
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    int rc;
    vgen_err err = {0};
    float *v = decode_video(g_vae, t, &p, frames, &rc, &err);
    if (rc) {
        free(v);
        return NULL;
    }
    return v;
}

static void test_tiling(void) {
    static const tile_case main_case = {5, 4, 4, 2, 21.0}, more[] = {{2, 3, 4, 2, 20.3}, {2, 3, 3, 1, 18.8}};
    int64_t frames, frames2;
    float *untiled = untiled_video(5, &frames), *untiled2 = untiled_video(2, &frames2);
    CHECK(untiled && untiled2);
    const size_t n = (size_t)(3 * frames * 32 * 48);
    float *fm = malloc(n * sizeof(float)), *tm = malloc(n * sizeof(float));
    if (untiled && untiled2 && fm && tm) {
        tiled_psnr(&main_case, untiled, frames, VGEN_WAN_VAE_TILES_FRAME_MAJOR, fm);
        tiled_psnr(&main_case, untiled, frames, VGEN_WAN_VAE_TILES_TILE_MAJOR, tm);
        CHECKF(!memcmp(fm, tm, n * sizeof(float)), "frame-major and tile-major tilings differ");
        for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
            tiled_psnr(&more[i], untiled2, frames2, VGEN_WAN_VAE_TILES_FRAME_MAJOR, NULL);
        /* a single tile is the untiled decode */
        vgen_wan_vae_params one = vgen_wan_vae_params_init();
        one.tile_h = 4, one.tile_w = 6;
        int rc;
        vgen_err err = {0};
        float *same = decode_video(g_vae, 5, &one, &frames, &rc, &err);
        if (same) CHECK(!memcmp(same, untiled, n * sizeof(float)));
        free(same);
    }
    free(fm), free(tm), free(untiled), free(untiled2);
}

static void test_memory_plan(void) {
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    vgen_wan_vae_plan a, b, c;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_wan_vae_plan_decode(g_vae, 3, 4, 6, &p, &a, &err), 0);
    CHECK_EQ_INT(vgen_wan_vae_plan_decode(g_vae, 200, 4, 6, &p, &b, &err), 0);
    CHECK(a.total_bytes == b.total_bytes && a.total_bytes > 0); /* stream: flat in the frame count */
    p.mode = VGEN_WAN_VAE_WHOLE;
    CHECK_EQ_INT(vgen_wan_vae_plan_decode(g_vae, 200, 4, 6, &p, &c, &err), 0);
    CHECK(c.scratch_bytes > 10 * b.scratch_bytes);              /* whole: grows with it */
    printf("    plan 4x6 latent: stream %zu bytes (cache %zu, scratch %zu, frames %zu) for 3 or 200 frames; whole "
           "200 frames %zu\n", b.total_bytes, b.cache_bytes, b.scratch_bytes, b.frame_bytes, c.total_bytes);
    /* a budget below the untiled plan picks tiles and still decodes; frame-major tiles keep every tile's caches, so
     * only tile-major fits here and the (default) frame-major request falls back to it */
    vgen_wan_vae_params q = vgen_wan_vae_params_init();
    q.tile_overlap = 1;
    vgen_wan_vae_plan untiled, fit, fm;
    CHECK_EQ_INT(vgen_wan_vae_plan_decode(g_vae, 5, 4, 6, &q, &untiled, &err), 0);
    q.tile_h = q.tile_w = 4;
    CHECK_EQ_INT(vgen_wan_vae_plan_decode(g_vae, 5, 4, 6, &q, &fm, &err), 0);
    CHECK(fm.tile_order == VGEN_WAN_VAE_TILES_FRAME_MAJOR && fm.cache_bytes > untiled.cache_bytes);
    q.tile_h = q.tile_w = 0;
    q.memory_budget = untiled.total_bytes * 9 / 10;
    CHECK_EQ_INT(vgen_wan_vae_plan_decode(g_vae, 5, 4, 6, &q, &fit, &err), 0);
    CHECK(fit.tiles_x * fit.tiles_y > 1 && fit.total_bytes <= q.memory_budget);
    CHECK(fit.tile_order == VGEN_WAN_VAE_TILES_TILE_MAJOR);
    printf("    budget %zu: tiles %dx%d (%dx%d, %s), planned %zu (untiled %zu; 4x4 frame-major %zu)\n",
           q.memory_budget, fit.tile_h, fit.tile_w, fit.tiles_y, fit.tiles_x,
           fit.tile_order == VGEN_WAN_VAE_TILES_TILE_MAJOR ? "tile-major" : "frame-major", fit.total_bytes,
           untiled.total_bytes, fm.total_bytes);
    int64_t frames;
    int rc;
    free(decode_video(g_vae, 5, &q, &frames, &rc, &err));
    CHECK_EQ_INT(rc, 0);
    q.memory_budget = 1000;
    CHECK_EQ_INT(vgen_wan_vae_plan_decode(g_vae, 5, 4, 6, &q, &fit, &err), VGEN_ERR_BUDGET);
    CHECK_STR_CONTAINS(err.msg, "no tiling fits 1000 bytes");
}

/* ---- bad input ------------------------------------------------------------------------------------------- */

static void test_bad_latents(void) {
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    vgen_err err = {0};
    float *buf = calloc(16 * 2 * 4 * 6, sizeof(float));
    if (!buf) return;
    vgen_tensor z;
    vgen_tensor_view(&z, VGEN_DTYPE_F32, 4, (int64_t[]){15, 2, 4, 6}, buf, NULL);
    CHECK_EQ_INT(vgen_wan_vae_decode(g_vae, g_be, &z, &p, NULL, &err), VGEN_ERR_SHAPE);
    CHECK_STR_CONTAINS(err.msg, "15 channels");
    vgen_tensor_view(&z, VGEN_DTYPE_F32, 3, (int64_t[]){16, 8, 6}, buf, NULL);
    CHECK_EQ_INT(vgen_wan_vae_decode(g_vae, g_be, &z, &p, NULL, &err), VGEN_ERR_SHAPE);
    vgen_tensor_view(&z, VGEN_DTYPE_F32, 4, (int64_t[]){16, 2, 4, 6}, buf, NULL);
    buf[((3 * 2 + 1) * 4 + 2) * 6 + 5] = NAN; /* [c=3, f=1, y=2, x=5] */
    frame_log lg = {0, 0, 1, 1, NULL, -1, 0};
    p.on_frame = on_frame, p.frame_user_data = &lg;
    CHECK_EQ_INT(vgen_wan_vae_decode(g_vae, g_be, &z, &p, NULL, &err), VGEN_ERR_NUMERIC);
    CHECK_STR_CONTAINS(err.msg, "NaN at [c=3, f=1, y=2, x=5]");
    CHECK_EQ_INT(lg.n, 0);
    buf[((3 * 2 + 1) * 4 + 2) * 6 + 5] = INFINITY;
    CHECK_EQ_INT(vgen_wan_vae_decode(g_vae, g_be, &z, &p, NULL, &err), VGEN_ERR_NUMERIC);
    CHECK_STR_CONTAINS(err.msg, "Inf at");
    free(buf);
}

static void test_nonfinite_frame(void) {
    /* norm_out gains of 1e30 and conv_out weights x 1e10 (finite weights) make conv_out overflow to Inf: the
     * decode must fail naming frame 0 before the callback sees it */
    char path[1024];
    edit e = {EDIT_SCALE, "decoder.norm_out.gamma", 1e30f, "decoder.conv_out.weight", 1e10f};
    CHECK_EQ_INT(write_edited("vae_overflow.safetensors", &e, path, sizeof path), 0);
    vgen_wan_vae *m = NULL;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_wan_vae_load(path, NULL, &m, &err), 0);
    if (!m) return;
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    frame_log lg = {0, 0, 1, 1, NULL, -1, 0};
    p.on_frame = on_frame, p.frame_user_data = &lg;
    int64_t frames;
    int rc;
    free(decode_video(m, 2, &p, &frames, &rc, &err));
    CHECK_EQ_INT(rc, VGEN_ERR_NUMERIC);
    CHECK_STR_CONTAINS(err.msg, "decoded frame 0");
    CHECK_EQ_INT(lg.n, 0);
    vgen_wan_vae_free(&m);
}

static void test_abort_and_sink(void) {
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    frame_log lg = {0, 0, 1, 1, NULL, 1, 0};
    p.on_frame = on_frame, p.frame_user_data = &lg, p.abort = stop_after, p.abort_user_data = &lg;
    int64_t frames;
    int rc;
    vgen_err err = {0};
    free(decode_video(g_vae, 5, &p, &frames, &rc, &err));
    CHECK_EQ_INT(rc, VGEN_ERR_ABORTED);
    CHECK_EQ_INT(lg.n, 1); /* latent frame 0 gave frame 0, then the abort before latent frame 1 */
    CHECK_STR_CONTAINS(err.msg, "latent frame 1");
    frame_log sink = {0, 0, 1, 1, NULL, -1, VGEN_ERR_NO_SPACE};
    p.frame_user_data = &sink, p.abort = NULL;
    free(decode_video(g_vae, 2, &p, &frames, &rc, &err));
    CHECK_EQ_INT(rc, VGEN_ERR_NO_SPACE);
    CHECK_EQ_INT(sink.n, 1);
    CHECK_STR_CONTAINS(err.msg, "frame callback returned");
}

static void test_rgb8(void) {
    const float rgb[6] = {0.0f, 1.0f, 0.5f, 0.25f, 0.001f, 0.999f};
    vgen_wan_vae_frame f = {0, 1, 2, rgb, rgb};
    uint8_t out[6];
    vgen_wan_vae_frame_to_rgb8(&f, out);
    /* [H=1, W=2, 3]: pixel 0 = (rgb[0], rgb[2], rgb[4]), pixel 1 = (rgb[1], rgb[3], rgb[5]);
     * 127.5 -> 128, 63.75 -> 64 */
    CHECK(out[0] == 0 && out[1] == 128 && out[2] == 0 && out[3] == 255 && out[4] == 64 && out[5] == 255);
    CHECK(isinf(vgen_wan_vae_psnr(rgb, rgb, 6, 1.0)));
}

int main(void) {
    vgen_err err = {0};
    const char *which = getenv("VGEN_TEST_VAE_BACKEND");
    g_be = make_backend(which && !strcmp(which, "cpu"));
    g_io = fixture_open("vae/tiny/io.safetensors");
    if (vgen_wan_vae_load(FIX_DIR, NULL, &g_vae, &err)) fprintf(stderr, "cannot load the fixture VAE: %s\n", err.msg);
    if (!g_be || !g_io || !g_vae) return 1;
    printf("backend: %s\n", g_be->name);
    RUN(test_config);
    RUN(test_names);
    RUN(test_load_diffusers);
    RUN(test_load_errors);
    RUN(test_rgb8);
    RUN(test_decode_fixture);
    RUN(test_stages);
    RUN(test_denormalize);
    RUN(test_stream_equals_whole);
    RUN(test_original_layout);
    RUN(test_cpu_backend);
    RUN(test_tiling);
    RUN(test_memory_plan);
    RUN(test_bad_latents);
    RUN(test_nonfinite_frame);
    RUN(test_abort_and_sink);
    vgen_wan_vae_free(&g_vae);
    vgen_st_close(&g_io);
    vgen_backend_free(&g_be);
    return test_summary();
}

/* test_plan.c - the memory planner (pipeline/plan*.c, vgen plan):
 *   - its figures for the CPU backend against what the loaders and allocators hold on the tiny model, within 10%:
 *     text encoder (weights, session arena), DiT (weights in several formats, session arena), VAE (weights, the
 *     working set the loaded decoder plans); the session arenas are the measured allocations themselves
 *   - the GPU presets on the Wan2.1 configurations (samples/configs): 14B at 832x480x81 under 24 GB with rtx4090
 *     and under 32 GB with rtx5090, 1.3B under 8 GB with rtx4060
 *   - over budget: refused before any weight is read (the configuration folders hold no weights), with the
 *     smallest change that fits; vgen_generate refuses an over-budget request on the tiny model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "family.h"
#include "family_wan21.h"
#include "model.h"
#include "plan.h"
#include "preset.h"
#include "text_encoder.h"
#include "testutil.h"
#include "wan_dit.h"
#include "wan_vae.h"

#define ROOT VGEN_FIXTURES_DIR "/../.."
#define TINY ROOT "/samples/tiny-wan"
#define CFG13 ROOT "/samples/configs/wan2.1-t2v-1.3b"
#define CFG14 ROOT "/samples/configs/wan2.1-t2v-14b"
#define GIB 1073741824.0

static void check_close(const char *what, double planned, double measured) {
    const double rel = measured > 0 ? (planned - measured) / measured : (planned > 0 ? 1 : 0);
    printf("  %-34s planned %12.0f  measured %12.0f  (%+.2f%%)\n", what, planned, measured, 100 * rel);
    CHECK(rel <= 0.10 && rel >= -0.10);
}

static vgen_preset cpu_preset(const char *dit_weights) {
    vgen_preset p;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_preset_read(ROOT "/presets/cpu.json", &p, &err), 0);
    vgen_wformat f;
    CHECK_EQ_INT(vgen_wformat_from_name(dit_weights, &f), 0);
    p.components[VGEN_COMPONENT_DIT].weights = f;
    return p;
}

/* ---- planned vs held on the tiny model ------------------------------------------------------------------------ */

static void test_text_encoder(void) {
    const vgen_preset p = cpu_preset("int8_row");
    const vgen_component_plan *cp = &p.components[VGEN_COMPONENT_TEXT_ENCODER];
    vgen_err err = {0};
    vgen_part_plan pl;
    CHECK_EQ_INT(vgen_family_wan21.plan_text(TINY "/text_encoder", cp, 512, &pl, &err), 0);
    vgen_backend *be = NULL;
    CHECK_EQ_INT(vgen_backend_cpu_new(NULL, &be, &err), 0);
    vgen_text_encoder_params tp;
    vgen_text_encoder_params_init(&tp);
    tp.tokenizer_path = TINY "/tokenizer", tp.encoder_path = TINY "/text_encoder";
    tp.umt5.compute = cp->compute, tp.umt5.format = vgen_wformat_get(cp->weights)->name;
    vgen_text_encoder *te = NULL;
    CHECK_EQ_INT(vgen_text_encoder_new(&tp, be, &te, &err), 0);
    vgen_tensor ctx;
    int64_t n = 0;
    CHECK_EQ_INT(vgen_text_encoder_encode(te, "a red fox in snow", &ctx, &n, &err), 0);
    vgen_tensor_release(&ctx);
    size_t weights = 0, session = 0;
    vgen_text_encoder_memory(te, &weights, &session);
    check_close("text encoder weights (bf16)", (double)pl.weights, (double)weights);
    check_close("text encoder session arena", (double)pl.activations, (double)session);
    vgen_text_encoder_free(&te);
    vgen_backend_free(&be);
}

static void dit_case(const char *format) {
    const vgen_preset p = cpu_preset(format);
    const vgen_dit_shape shape = {.frames = 2, .height = 8, .width = 8, .ctx_len = 512};
    vgen_err err = {0};
    vgen_part_plan pl;
    CHECK_EQ_INT(vgen_family_wan21.plan_dit(TINY "/transformer", &p.components[VGEN_COMPONENT_DIT], &shape, &pl,
                                            &err), 0);
    const vgen_part_load a = {.path = TINY "/transformer", .plan = &p.components[VGEN_COMPONENT_DIT]};
    vgen_part *dit = NULL;
    CHECK_EQ_INT(vgen_family_wan21.dit_load(&a, &dit, &err), 0);
    vgen_backend *be = NULL;
    CHECK_EQ_INT(vgen_backend_cpu_new(NULL, &be, &err), 0);
    void *session = NULL;
    size_t session_bytes = 0;
    CHECK_EQ_INT(vgen_family_wan21.dit_session_new(dit, be, &shape, &session, &session_bytes, &err), 0);
    char what[64];
    snprintf(what, sizeof what, "DiT weights (%s)", format);
    check_close(what, (double)pl.weights, (double)(dit->owned_bytes + dit->mapped_bytes));
    check_close("DiT session arena", (double)pl.activations, (double)session_bytes);
    vgen_family_wan21.dit_session_free(&session);
    vgen_part_free(&dit);
    vgen_backend_free(&be);
}

static void test_vae(void) {
    const vgen_preset p = cpu_preset("int8_row");
    const vgen_component_plan *cp = &p.components[VGEN_COMPONENT_VAE];
    vgen_err err = {0};
    vgen_vae_request r = {.channels = 16, .frames = 3, .height = 8, .width = 8, .plan = cp,
                          .memory_budget = (size_t)1 << 30};
    vgen_part_plan pl;
    CHECK_EQ_INT(vgen_family_wan21.plan_vae(TINY "/vae", cp, &r, &pl, &err), 0);
    const vgen_part_load a = {.path = TINY "/vae", .plan = cp};
    vgen_part *vae = NULL;
    CHECK_EQ_INT(vgen_family_wan21.vae_load(&a, &vae, &err), 0);
    vgen_wan_vae_params vp;
    wan21_vae_params(cp, &r, &vp);
    vgen_wan_vae_plan held;
    CHECK_EQ_INT(vgen_wan_vae_plan_decode(vae->impl, 3, 8, 8, &vp, &held, &err), 0);
    check_close("VAE weights", (double)pl.weights, (double)(vae->owned_bytes + vae->mapped_bytes));
    check_close("VAE working set (loaded decoder's plan)", (double)pl.activations, (double)held.total_bytes);
    vgen_part_free(&vae);
}

/* ---- the GPU presets on the real configurations --------------------------------------------------------------- */

static vgen_plan plan_of(const char *model, const char *preset, int w, int h, int frames, vgen_status *st) {
    *st = VGEN_ERR_INTERNAL;
    vgen_context *ctx = NULL;
    vgen_context_params cp = vgen_context_params_init();
    CHECK_EQ_INT(vgen_context_new(&cp, &ctx), 0);
    const char *dirs[] = {ROOT "/presets"};
    vgen_preset *p = NULL;
    CHECK_EQ_INT(vgen_preset_load(ctx, preset, dirs, 1, &p), 0);
    vgen_model_params mp = vgen_model_params_init();
    mp.model_dir = model, mp.preset = p;
    vgen_generate_params gp = vgen_generate_params_init();
    gp.width = w, gp.height = h, gp.frames = frames;
    vgen_plan plan;
    memset(&plan, 0, sizeof plan);
    *st = vgen_plan_generation(ctx, &mp, &gp, &plan);
    if (*st) printf("  %s\n", vgen_context_last_error(ctx));
    vgen_preset_free(&p);
    vgen_context_free(&ctx);
    return plan;
}

static void expect_fit(const char *model, const char *preset, int w, int h, double under_gb) {
    vgen_status st;
    const vgen_plan p = plan_of(model, preset, w, h, 81, &st);
    CHECK_EQ_INT(st, 0);
    printf("  %-8s %4dx%-4d x81: device peak %5.2f GiB, host peak %5.2f GiB%s\n", preset, w, h, p.device_peak / GIB,
           p.host_peak / GIB, p.fits ? "" : "  (does not fit)");
    CHECK(p.fits);
    CHECK(p.device_peak > 0 && p.device_peak < under_gb * GIB);
}

static void test_gpu_presets(void) {
    expect_fit(CFG14, "rtx4090", 832, 480, 24);
    expect_fit(CFG14, "rtx5090", 832, 480, 32);
    expect_fit(CFG13, "rtx4060", 832, 480, 8);
    expect_fit(CFG14, "h100", 1280, 720, 80);
}

/* ---- refusals ------------------------------------------------------------------------------------------------- */

static const char k_gpu16[] =
    "{\"name\": \"gpu16_keep_fp8\", \"target\": {\"device\": \"cuda\", \"memory_budget_gb\": 16, "
    "\"host_memory_gb\": 64}, \"components\": {"
    "\"text_encoder\": {\"weights\": \"bf16\", \"compute\": \"bf16\", \"device\": \"cpu\", \"offload\": \"free_after_use\"},"
    "\"dit\": {\"weights\": \"fp8\", \"compute\": \"bf16\", \"device\": \"cuda\", \"offload\": \"keep\"},"
    "\"vae\": {\"weights\": \"f32\", \"compute\": \"f32\", \"device\": \"cuda\", \"offload\": \"free_after_use\", "
    "\"tile\": \"auto\"}}}";

static void test_advice(void) {
    vgen_status st;
    /* 14B with fp8 weights kept on a 16 GB card cannot fit; a smaller format or streaming can */
    const char *path = VGEN_TEST_TMPDIR "/gpu16_keep_fp8.json";
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fputs(k_gpu16, f);
    fclose(f);
    vgen_plan p = plan_of(CFG14, path, 832, 480, 81, &st);
    CHECK_EQ_INT(st, 0);
    printf("  advice: %s\n", p.summary);
    CHECK(!p.fits);
    CHECK(strstr(p.summary, "exceeds the budget") && strstr(p.summary, "smallest change that fits"));
}

static void test_refused_before_loading(void) {
    /* the 14B configuration folder has no weights: a load that read any would fail with NOT_FOUND; the cpu preset's
     * 16 GB cannot hold the 14B DiT (int8) next to the bf16 text encoder, so the load stops at the plan */
    vgen_context *ctx = NULL;
    vgen_context_params cp = vgen_context_params_init();
    CHECK_EQ_INT(vgen_context_new(&cp, &ctx), 0);
    vgen_model_params mp = vgen_model_params_init();
    mp.model_dir = CFG14;
    vgen_model *m = NULL;
    CHECK_EQ_INT(vgen_model_load(ctx, &mp, &m), VGEN_ERR_BUDGET);
    printf("  load refused: %s\n", vgen_context_last_error(ctx));
    CHECK(m == NULL);
    CHECK(strstr(vgen_context_last_error(ctx), "smallest change that fits") != NULL);

    /* the tiny model loads under the cpu preset; a video far too large for its 16 GB is refused by vgen_generate
     * before the text encoder is loaded, naming a change that fits */
    mp.model_dir = TINY;
    CHECK_EQ_INT(vgen_model_load(ctx, &mp, &m), 0);
    vgen_generate_params gp = vgen_generate_params_init();
    gp.width = 4096, gp.height = 4096, gp.frames = 401, gp.json = VGEN_TEST_TMPDIR "/plan_refused.json";
    CHECK_EQ_INT(vgen_generate(ctx, m, &gp), VGEN_ERR_BUDGET);
    printf("  generate refused: %s\n", vgen_context_last_error(ctx));
    CHECK(strstr(vgen_context_last_error(ctx), "--frames") || strstr(vgen_context_last_error(ctx), "--size"));
    FILE *f = fopen(gp.json, "rb");
    CHECK(f == NULL);
    if (f) fclose(f);
    vgen_model_free(&m);
    vgen_context_free(&ctx);
}

int main(void) {
    RUN(test_text_encoder);
    printf("dit\n");
    dit_case("int8_row");
    dit_case("int4_g64");
    dit_case("fp8_e4m3_row");
    dit_case("bf16");
    RUN(test_vae);
    RUN(test_gpu_presets);
    RUN(test_advice);
    RUN(test_refused_before_loading);
    return test_summary();
}

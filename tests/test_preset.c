/* test_preset.c - presets: every shipped preset parses; each malformed case fails naming the key and the file. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "preset.h"
#include "testutil.h"

#define PRESETS_DIR VGEN_FIXTURES_DIR "/../../presets"

static const char *k_good =
    "{\"name\": \"t\", \"target\": {\"device\": \"cuda\", \"memory_budget_gb\": 24, \"compute_capability\": \"8.9\"},"
    " \"components\": {"
    "  \"text_encoder\": {\"weights\": \"fp8\", \"compute\": \"bf16\", \"device\": \"cuda\", \"offload\": \"free_after_use\"},"
    "  \"dit\": {\"weights\": \"int4-g64\", \"compute\": \"bf16\", \"device\": \"cuda\", \"offload\": \"stream\", \"resident_blocks\": 4},"
    "  \"vae\": {\"weights\": \"bf16\", \"compute\": \"f32\", \"device\": \"cuda\", \"offload\": \"keep\", \"tile\": [256, 256]}}}";

static void test_shipped_presets_parse(void) {
    DIR *d = opendir(PRESETS_DIR);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", PRESETS_DIR, e->d_name);
        vgen_preset p;
        vgen_err err = {0};
        CHECKF(vgen_preset_read(path, &p, &err) == 0, "%s", err.msg);
        CHECKF(strlen(p.name) + 5 == len && strncmp(p.name, e->d_name, strlen(p.name)) == 0,
               "%s: name \"%s\" should match the file name", path, p.name);
        n++;
    }
    if (d) closedir(d);
    CHECK(n >= 1);
}

static void test_cpu_preset(void) {
    const char *dirs[] = {"/nonexistent", PRESETS_DIR};
    vgen_preset p;
    vgen_err err = {0};
    CHECKF(vgen_preset_find("cpu", dirs, 2, &p, &err) == 0, "%s", err.msg);
    CHECK(p.device == VGEN_DEVICE_CPU && p.memory_budget_gb > 0);
    CHECK(p.components[VGEN_COMPONENT_DIT].weights == VGEN_WF_INT8_ROW);
    CHECK(p.components[VGEN_COMPONENT_DIT].compute == VGEN_DTYPE_BF16);
    CHECK(p.components[VGEN_COMPONENT_TEXT_ENCODER].offload == VGEN_OFFLOAD_FREE_AFTER_USE);
    CHECK(p.components[VGEN_COMPONENT_VAE].tile_auto == 1);
    CHECK_EQ_INT(vgen_preset_find("no-such-preset", dirs, 2, &p, &err), VGEN_ERR_NOT_FOUND);
    CHECK_STR_CONTAINS(err.msg, "no preset named \"no-such-preset\"");
}

static void test_good_preset_fields(void) {
    vgen_preset p;
    vgen_err err = {0};
    CHECKF(vgen_preset_parse(k_good, strlen(k_good), "good.json", &p, &err) == 0, "%s", err.msg);
    CHECK(p.device == VGEN_DEVICE_CUDA && p.cc_major == 8 && p.cc_minor == 9);
    CHECK(p.components[VGEN_COMPONENT_DIT].offload == VGEN_OFFLOAD_STREAM);
    CHECK_EQ_INT(p.components[VGEN_COMPONENT_DIT].resident_blocks, 4);
    CHECK(p.components[VGEN_COMPONENT_DIT].weights == VGEN_WF_INT4_G64);
    CHECK(p.components[VGEN_COMPONENT_TEXT_ENCODER].weights == VGEN_WF_FP8_E4M3_ROW);
    CHECK(p.components[VGEN_COMPONENT_VAE].tile_w == 256 && p.components[VGEN_COMPONENT_VAE].tile_h == 256);
    CHECK_EQ_INT(p.fp8_activations, 0);
    /* the opt-in fp8 GEMM: cuda targets only */
    char buf[4096];
    const char *at = strstr(k_good, "\"8.9\"}");
    snprintf(buf, sizeof buf, "%.*s\"8.9\", \"fp8_activations\": true}%s", (int)(at - k_good), k_good, at + 6);
    CHECKF(vgen_preset_parse(buf, strlen(buf), "fp8.json", &p, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(p.fp8_activations, 1);
    const char *cpu = "{\"name\": \"c\", \"target\": {\"device\": \"cpu\", \"memory_budget_gb\": 8, \"fp8_activations\": true},"
                      " \"components\": {"
                      "  \"text_encoder\": {\"weights\": \"bf16\", \"compute\": \"bf16\", \"device\": \"cpu\", \"offload\": \"keep\"},"
                      "  \"dit\": {\"weights\": \"bf16\", \"compute\": \"bf16\", \"device\": \"cpu\", \"offload\": \"keep\"},"
                      "  \"vae\": {\"weights\": \"bf16\", \"compute\": \"f32\", \"device\": \"cpu\", \"offload\": \"keep\"}}}";
    CHECK_EQ_INT(vgen_preset_parse(cpu, strlen(cpu), "cpu.json", &p, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "fp8_activations\" needs device cuda");
}

/* Replaces the first occurrence of `from` in k_good with `to` and expects an error containing `expect`. */
static void expect_bad(const char *from, const char *to, const char *expect) {
    char buf[4096];
    const char *at = strstr(k_good, from);
    CHECKF(at != NULL, "test bug: \"%s\" not in the good preset", from);
    if (!at) return;
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - k_good), k_good, to, at + strlen(from));
    vgen_preset p;
    vgen_err err = {0};
    int rc = vgen_preset_parse(buf, strlen(buf), "bad.json", &p, &err);
    CHECKF(rc == VGEN_ERR_INVALID_ARGUMENT, "replacing %s: rc %d", from, rc);
    CHECKF(strstr(err.msg, expect) && strstr(err.msg, "bad.json"), "replacing %s: message \"%s\" should contain \"%s\"",
           from, err.msg, expect);
}

static void test_malformed_presets(void) {
    expect_bad("{\"name\"", "{\"colour\": 1, \"name\"", "unknown key \"colour\"");
    expect_bad("\"memory_budget_gb\": 24", "\"memory_budget_gb\": 24, \"vram\": 3", "unknown key \"target.vram\"");
    expect_bad("\"offload\": \"keep\"", "\"offload\": \"keep\", \"turbo\": true", "unknown key \"components.vae.turbo\"");
    expect_bad("\"vae\": {", "\"unet\": {}, \"vae\": {", "unknown key \"components.unet\"");
    expect_bad("\"int4-g64\"", "\"int5\"", "\"components.dit.weights\" is \"int5\"");
    expect_bad("\"compute\": \"f32\"", "\"compute\": \"f64\"", "\"compute\" is \"f64\", expected one of f32, bf16");
    expect_bad("\"offload\": \"stream\", \"resident_blocks\": 4", "\"offload\": \"stream\"", "resident_blocks\" must be");
    expect_bad("\"offload\": \"free_after_use\"", "\"offload\": \"free_after_use\", \"resident_blocks\": 2",
               "resident_blocks\" needs offload \"stream\"");
    expect_bad("\"resident_blocks\": 4", "\"resident_blocks\": 2.5", "resident_blocks\" must be");
    expect_bad("\"offload\": \"keep\"", "\"offload\": \"stream\", \"resident_blocks\": 1", "the vae cannot stream");
    expect_bad("\"memory_budget_gb\": 24", "\"memory_budget_gb\": -1", "memory_budget_gb\" must be a positive");
    expect_bad("\"memory_budget_gb\": 24", "\"memory_budget_gb\": \"24\"", "memory_budget_gb\" must be a positive");
    expect_bad("\"memory_budget_gb\": 24, ", "", "missing key \"target.memory_budget_gb\"");
    expect_bad("\"8.9\"", "\"eight\"", "compute_capability\" must be a string like");
    expect_bad("\"8.9\"}", "\"8.9\", \"fp8_activations\": 1}", "fp8_activations\" must be true or false");
    expect_bad("\"device\": \"cuda\", \"memory", "\"device\": \"tpu\", \"memory", "\"target.device\" is \"tpu\"");
    expect_bad("\"name\": \"t\"", "\"name\": \"Big Name\"", "\"name\" must be 1-32 of [a-z0-9_-]");
    expect_bad("[256, 256]", "[250, 256]", "\"components.vae.tile\" must be");
    expect_bad("\"resident_blocks\": 4}", "\"resident_blocks\": 4, \"tile\": \"auto\"}", "\"components.dit.tile\" applies to the vae only");
    expect_bad("\"dit\": {", "\"vae\": {", "\"components.dit\" is missing or not an object"); /* vae twice, no dit */
    expect_bad("\"name\": \"t\", ", "\"name\": \"t\", ,", "not valid JSON");

    /* a cuda component needs a cuda target */
    const char *cpu_target = "{\"name\": \"t\", \"target\": {\"device\": \"cpu\", \"memory_budget_gb\": 8},"
                             " \"components\": {"
                             "  \"text_encoder\": {\"weights\": \"bf16\", \"compute\": \"bf16\", \"device\": \"cuda\", \"offload\": \"keep\"},"
                             "  \"dit\": {\"weights\": \"bf16\", \"compute\": \"bf16\", \"device\": \"cpu\", \"offload\": \"keep\"},"
                             "  \"vae\": {\"weights\": \"bf16\", \"compute\": \"f32\", \"device\": \"cpu\", \"offload\": \"keep\"}}}";
    vgen_preset p;
    vgen_err err = {0};
    const char *no_components = "{\"name\": \"t\", \"target\": {\"device\": \"cpu\", \"memory_budget_gb\": 8}, "
                                "\"components\": []}";
    CHECK_EQ_INT(vgen_preset_parse(no_components, strlen(no_components), "x.json", &p, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "\"components\" is missing or not an object");
    CHECK_EQ_INT(vgen_preset_parse(cpu_target, strlen(cpu_target), "x.json", &p, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "\"components.text_encoder.device\" is cuda but target.device is cpu");
}

static void test_public_api(void) {
    vgen_context *ctx = NULL;
    CHECK_EQ_INT(vgen_context_new(NULL, &ctx), VGEN_OK);
    const char *dirs[] = {PRESETS_DIR};
    vgen_preset *p = NULL;
    CHECK_EQ_INT(vgen_preset_load(ctx, "cpu", dirs, 1, &p), VGEN_OK);
    CHECK(p && strcmp(vgen_preset_name(p), "cpu") == 0 && vgen_preset_description(p)[0]);
    vgen_preset_free(&p);
    CHECK(p == NULL);
    CHECK_EQ_INT(vgen_preset_load(ctx, "/nonexistent/p.json", dirs, 1, &p), VGEN_ERR_NOT_FOUND);
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "/nonexistent/p.json");
    vgen_context_free(&ctx);
}

int main(void) {
    RUN(test_shipped_presets_parse);
    RUN(test_cpu_preset);
    RUN(test_good_preset_fields);
    RUN(test_malformed_presets);
    RUN(test_public_api);
    return test_summary();
}

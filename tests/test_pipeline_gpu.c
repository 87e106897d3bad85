/* test_pipeline_gpu.c - a generation whose preset places the text encoder (int8), the DiT (int4, block streaming with
 * 1 resident block) and the VAE on cuda, on the tiny model:
 *   - without a usable CUDA device the run still succeeds on the CPU and the log says why it fell back;
 *   - with VGEN_CUDA_EMULATE=1 the device emulator stands in (the GPU code path: weights uploaded, blocks streamed
 *     through device slots with fences), and every frame is bit-identical to the CPU run's;
 *   - where a real GPU is usable, its frames are compared with the CPU's within 8-bit rounding noise instead.
 * The log names the backend each component ran on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preset.h"
#include "testutil.h"
#include "vgen.h"

#define TINY_WAN VGEN_FIXTURES_DIR "/../../samples/tiny-wan"
#define FRAMES 5
#define W 48
#define H 32

static const char *const k_gpu_preset =
    "{\"name\": \"gpu-test\", \"target\": {\"device\": \"cuda\", \"memory_budget_gb\": 8, \"host_memory_gb\": 16},"
    " \"components\": {"
    "\"text_encoder\": {\"weights\": \"int8_row\", \"compute\": \"bf16\", \"device\": \"cuda\", \"offload\": \"free_after_use\"},"
    "\"dit\": {\"weights\": \"int4_g64\", \"compute\": \"bf16\", \"device\": \"cuda\", \"offload\": \"stream\","
    " \"resident_blocks\": 1},"
    "\"vae\": {\"weights\": \"f32\", \"compute\": \"f32\", \"device\": \"cuda\", \"offload\": \"keep\", \"tile\": \"none\"}}}";

typedef struct run_out {
    uint8_t frames[FRAMES][W * H * 3];
    int n;
    char log[8192];
} run_out;

static void on_log(vgen_log_level level, const char *msg, void *ud) {
    run_out *o = ud;
    (void)level;
    size_t n = strlen(o->log);
    snprintf(o->log + n, sizeof o->log - n, "%s\n", msg);
}

static int on_frame(const vgen_frame *f, void *ud) {
    run_out *o = ud;
    if (f->index < FRAMES && f->width == W && f->height == H) memcpy(o->frames[f->index], f->rgb24, W * H * 3);
    o->n++;
    return 0;
}

static int generate(run_out *o) {
    vgen_context_params cp = vgen_context_params_init();
    cp.log = on_log, cp.log_user_data = o;
    vgen_context *ctx = NULL;
    vgen_preset preset;
    vgen_model *m = NULL;
    vgen_err err = {0};
    int rc = vgen_context_new(&cp, &ctx);
    if (!rc) rc = vgen_preset_parse(k_gpu_preset, strlen(k_gpu_preset), "gpu-test.json", &preset, &err);
    CHECKF(rc == 0, "preset: %s", err.msg);
    vgen_model_params mp = vgen_model_params_init();
    mp.model_dir = TINY_WAN;
    mp.preset = &preset;
    if (!rc) rc = vgen_model_load(ctx, &mp, &m);
    vgen_generate_params p = vgen_generate_params_init();
    p.prompt = "a red fox in snow";
    p.width = W, p.height = H, p.frames = FRAMES, p.steps = 2, p.guidance = 5.0, p.seed = 7;
    p.on_frame = on_frame, p.frame_user_data = o;
    if (!rc) rc = vgen_generate(ctx, m, &p);
    CHECKF(rc == VGEN_OK, "generate: %s", ctx ? vgen_context_last_error(ctx) : "no context");
    vgen_model_free(&m);
    vgen_context_free(&ctx);
    return rc;
}

static void test_fallback_and_emulator(void) {
    static run_out plain, emu;
    unsetenv("VGEN_CUDA_EMULATE");
    if (generate(&plain) != VGEN_OK) return;
    CHECK_EQ_INT(plain.n, FRAMES);
    const int real_gpu = strstr(plain.log, "GPU backend: cuda") != NULL;
    if (!real_gpu) CHECK_STR_CONTAINS(plain.log, "falling back to the CPU");

    setenv("VGEN_CUDA_EMULATE", "1", 1);
    int rc = generate(&emu);
    unsetenv("VGEN_CUDA_EMULATE");
    if (rc != VGEN_OK) return;
    CHECK_EQ_INT(emu.n, FRAMES);
    if (real_gpu) { /* the emulator is not used: a GPU exists; the CPU reference is the emulator's result */
        printf("  a CUDA device is usable: comparing its frames with the CPU's\n");
    } else {
        CHECK_STR_CONTAINS(emu.log, "device emulator stands in");
        CHECK_STR_CONTAINS(emu.log, "transformer weights on emu");
        CHECK_STR_CONTAINS(emu.log, "1 of 2 blocks resident");
        CHECK_STR_CONTAINS(emu.log, "tokenizer, on emu");
        CHECK_STR_CONTAINS(emu.log, "decode memory on emu");
    }
    int max_diff = 0;
    size_t same = 0;
    for (int f = 0; f < FRAMES; f++)
        for (int i = 0; i < W * H * 3; i++) {
            const int d = abs((int)plain.frames[f][i] - (int)emu.frames[f][i]);
            if (d > max_diff) max_diff = d;
            same += d == 0;
        }
    printf("  frames: %zu of %d bytes identical, max |diff| %d\n", same, FRAMES * W * H * 3, max_diff);
    if (real_gpu) CHECKF(max_diff <= 8, "GPU vs CPU frames differ by up to %d levels", max_diff);
    else CHECKF(max_diff == 0, "emulated GPU path vs CPU: frames differ by up to %d levels", max_diff);
}

int main(void) {
    RUN(test_fallback_and_emulator);
    return test_summary();
}

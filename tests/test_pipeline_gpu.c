/* test_pipeline_gpu.c - a generation whose preset places the text encoder (int8), the DiT (int4, block streaming with
 * 1 resident block) and the VAE on cuda, on the tiny model, against the same preset on the cpu:
 *   - where a real GPU is usable, its frames are within 8 levels (of 8 bits) of the CPU's;
 *   - otherwise the run still succeeds on the CPU (identical frames) and the log says why it fell back, and with
 *     VGEN_CUDA_EMULATE=1 the device emulator stands in (the GPU code path: weights uploaded, blocks streamed
 *     through device slots with fences) with every frame bit-identical to the CPU run's.
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

/* The same components on cuda (the run under test) and on the cpu (the reference). */
#define TEST_PRESET(name, dev)                                                                                      \
    "{\"name\": \"" name "\", \"target\": {\"device\": \"" dev "\", \"memory_budget_gb\": 8, "                 \
    "\"host_memory_gb\": 16}, \"components\": {"                                                                   \
    "\"text_encoder\": {\"weights\": \"int8_row\", \"compute\": \"bf16\", \"device\": \"" dev "\", "            \
    "\"offload\": \"free_after_use\"},"                                                                            \
    "\"dit\": {\"weights\": \"int4_g64\", \"compute\": \"bf16\", \"device\": \"" dev "\", \"offload\": \"stream\"," \
    " \"resident_blocks\": 1},"                                                                                    \
    "\"vae\": {\"weights\": \"f32\", \"compute\": \"f32\", \"device\": \"" dev "\", \"offload\": \"keep\", "      \
    "\"tile\": \"none\"}}}"

static const char *const k_gpu_preset = TEST_PRESET("gpu-test", "cuda");
static const char *const k_cpu_preset = TEST_PRESET("cpu-test", "cpu");

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

static int generate(const char *preset_json, run_out *o) {
    vgen_context_params cp = vgen_context_params_init();
    cp.log = on_log, cp.log_user_data = o;
    vgen_context *ctx = NULL;
    vgen_preset preset;
    vgen_model *m = NULL;
    vgen_err err = {0};
    int rc = vgen_context_new(&cp, &ctx);
    if (!rc) rc = vgen_preset_parse(preset_json, strlen(preset_json), "test.json", &preset, &err);
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

/* Largest difference between two runs' frames, in 8-bit levels. */
static int max_diff(const run_out *a, const run_out *b) {
    int worst = 0;
    for (int f = 0; f < FRAMES; f++)
        for (int i = 0; i < W * H * 3; i++) {
            const int d = abs((int)a->frames[f][i] - (int)b->frames[f][i]);
            if (d > worst) worst = d;
        }
    return worst;
}

static void test_gpu_path(void) {
    static run_out cpu, gpu, emu;
    unsetenv("VGEN_CUDA_EMULATE");
    if (generate(k_cpu_preset, &cpu) != VGEN_OK || generate(k_gpu_preset, &gpu) != VGEN_OK) return;
    CHECK_EQ_INT(cpu.n, FRAMES);
    CHECK_EQ_INT(gpu.n, FRAMES);
    if (strstr(gpu.log, "GPU backend: cuda")) { /* a real GPU: its frames against the CPU's, within rounding */
        const int d = max_diff(&cpu, &gpu);
        printf("  a CUDA device ran the generation: frames within %d levels of the CPU's\n", d);
        CHECKF(d <= 8, "GPU vs CPU frames differ by up to %d levels", d);
        return;
    }
    CHECK_STR_CONTAINS(gpu.log, "falling back to the CPU");
    CHECK_EQ_INT(max_diff(&cpu, &gpu), 0);

    setenv("VGEN_CUDA_EMULATE", "1", 1);
    const int rc = generate(k_gpu_preset, &emu);
    unsetenv("VGEN_CUDA_EMULATE");
    if (rc != VGEN_OK) return;
    CHECK_EQ_INT(emu.n, FRAMES);
    CHECK_STR_CONTAINS(emu.log, "device emulator stands in");
    CHECK_STR_CONTAINS(emu.log, "transformer weights on emu");
    CHECK_STR_CONTAINS(emu.log, "1 of 2 blocks resident");
    CHECK_STR_CONTAINS(emu.log, "tokenizer, on emu");
    CHECK_STR_CONTAINS(emu.log, "decode memory on emu");
    const int d = max_diff(&cpu, &emu);
    printf("  emulated GPU path: frames within %d levels of the CPU's\n", d);
    CHECKF(d == 0, "emulated GPU path vs CPU: frames differ by up to %d levels", d);
}

int main(void) {
    RUN(test_gpu_path);
    return test_summary();
}

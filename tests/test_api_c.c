/* test_api_c.c - a client of the public API and nothing else: it includes only vgen.h (and the C library) and links
 * only libvgen.so (tests/CMakeLists.txt builds it against the shared `vgen` target). It generates a video of the
 * bundled tiny model with the built-in preset and checks what a user would: the status, the file, the frames seen
 * by the callback and the progress reports. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vgen.h"

static int g_failed;

#define EXPECT(cond)                                                          \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
            g_failed = 1;                                                     \
        }                                                                     \
    } while (0)

typedef struct seen {
    int frames, last_phase, phases_in_order, denoise_done;
} seen;

static int on_frame(const vgen_frame *f, void *user_data) {
    seen *s = user_data;
    if (f->index == s->frames && f->width == 48 && f->height == 32 && f->rgb && f->rgb24) s->frames++;
    return 0;
}

static void on_progress(const vgen_progress_info *info, void *user_data) {
    seen *s = user_data;
    if ((int)info->phase < s->last_phase) s->phases_in_order = 0;
    s->last_phase = (int)info->phase;
    if (info->phase == VGEN_PHASE_DENOISE) s->denoise_done = (int)info->done;
}

int main(void) {
    EXPECT(strcmp(vgen_version_string(), "0.1.0") == 0 || vgen_version_number() > 0);
    vgen_context *ctx = NULL;
    EXPECT(vgen_context_new(NULL, &ctx) == VGEN_OK);
    if (!ctx) return 1;

    vgen_generate_params gp = vgen_generate_params_init();
    gp.prompt = "a red fox in snow";
    gp.width = 50, gp.height = 32, gp.frames = 5, gp.steps = 3, gp.seed = 42;
    gp.output = VGEN_TEST_TMPDIR "/api_c.mp4";
    EXPECT(vgen_generate_validate(ctx, NULL, &gp) == VGEN_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(vgen_context_last_error(ctx), "48x32") != NULL);
    gp.width = 48;

    vgen_model_params mp = vgen_model_params_init();
    mp.model_dir = VGEN_MODEL_DIR;
    vgen_model *model = NULL;
    vgen_status st = vgen_model_load(ctx, &mp, &model);
    if (st != VGEN_OK) fprintf(stderr, "load: %s\n", vgen_context_last_error(ctx));
    EXPECT(st == VGEN_OK && strcmp(vgen_model_family(model), "wan21") == 0);

    seen s = {0, 0, 1, 0};
    gp.on_frame = on_frame, gp.frame_user_data = &s;
    gp.progress = on_progress, gp.progress_user_data = &s;
    remove(gp.output);
    st = model ? vgen_generate(ctx, model, &gp) : VGEN_ERR_INVALID_ARGUMENT;
    if (st != VGEN_OK) fprintf(stderr, "generate: %s\n", vgen_context_last_error(ctx));
    struct stat sb;
    EXPECT(st == VGEN_OK);
    EXPECT(stat(gp.output, &sb) == 0 && sb.st_size > 0);
    EXPECT(s.frames == 5 && s.phases_in_order && s.denoise_done == 3);

    vgen_model_free(&model);
    EXPECT(model == NULL);
    vgen_context_free(&ctx);
    printf(g_failed ? "test_api_c: FAILED\n" : "test_api_c: ok (%d frames through libvgen.so)\n", s.frames);
    return g_failed;
}

/* test_pipeline_errors.c - vgen_model_load / vgen_generate on the tiny model off the happy path: abort (between
 * steps, inside the DiT's blocks, during the VAE decode, from the frame callback) leaves no file; an unwritable
 * output fails before any model work; bad sizes and frame counts suggest valid ones; an empty prompt works; a
 * missing component names itself and its path; a preset with an unknown key is refused; the built-in preset is
 * presets/cpu.json; single files; Euler; guidance 1; per-run loading of a free_after_use DiT; scheduler configs. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "generate.h"
#include "model.h"
#include "preset.h"
#include "record_json.h"
#include "scheduler_config.h"
#include "testutil.h"

#define FIX VGEN_FIXTURES_DIR
#define TINY_WAN FIX "/../../samples/tiny-wan"
#define TMP VGEN_TEST_TMPDIR "/pipeline_errors"
#define PRESETS FIX "/../../presets"

static const char *const k_f32_preset =
    "{\"name\": \"f32\", \"target\": {\"device\": \"cpu\", \"memory_budget_gb\": 8}, \"components\": {"
    "\"text_encoder\": {\"weights\": \"f32\", \"compute\": \"f32\", \"device\": \"cpu\", \"offload\": \"free_after_use\"},"
    "\"dit\": {\"weights\": \"f32\", \"compute\": \"f32\", \"device\": \"cpu\", \"offload\": \"%s\"},"
    "\"vae\": {\"weights\": \"f32\", \"compute\": \"f32\", \"device\": \"cpu\", \"offload\": \"keep\", \"tile\": \"none\"}}}";

/* ---- helpers ------------------------------------------------------------------------------------------------- */

typedef struct log_buf {
    char text[16384];
} log_buf;

static void capture(vgen_log_level level, const char *msg, void *ud) {
    log_buf *b = ud;
    size_t n = strlen(b->text);
    snprintf(b->text + n, sizeof b->text - n, "%d %s\n", (int)level, msg);
}

static vgen_context *new_ctx(log_buf *log) {
    vgen_context_params cp = vgen_context_params_init();
    cp.log = capture, cp.log_user_data = log, cp.log_level = VGEN_LOG_DEBUG;
    vgen_context *ctx = NULL;
    CHECK(vgen_context_new(&cp, &ctx) == VGEN_OK);
    return ctx;
}

/* Removes path and, for a real folder, what it holds. Symbolic links are removed, never followed (the test
 * models link into tests/fixtures). */
static void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
    if (!d) {
        unlink(path);
        return;
    }
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        remove_tree(p);
    }
    closedir(d);
    rmdir(path);
}

/* An empty folder TMP/name. */
static const char *fresh(char *buf, const char *name) {
    mkdir(VGEN_TEST_TMPDIR, 0755);
    mkdir(TMP, 0755);
    snprintf(buf, 512, "%s/%s", TMP, name);
    remove_tree(buf);
    mkdir(buf, 0755);
    return buf;
}

static int entries(const char *dir, char *names, size_t size) {
    int n = 0;
    names[0] = '\0';
    DIR *d = opendir(dir);
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        snprintf(names + strlen(names), size - strlen(names), "%s ", e->d_name);
    }
    if (d) closedir(d);
    return n;
}

#define CHECK_EMPTY(dir)                                                                  \
    do {                                                                                  \
        char names_[1024];                                                                \
        int n_ = entries((dir), names_, sizeof names_);                                   \
        CHECKF(n_ == 0, "%s should be empty, holds %d: %s", (dir), n_, names_);           \
    } while (0)

static vgen_model *load_model(vgen_context *ctx, const char *dit_offload) {
    char json[2048];
    vgen_preset preset;
    vgen_err err = {0};
    snprintf(json, sizeof json, k_f32_preset, dit_offload);
    CHECKF(vgen_preset_parse(json, strlen(json), "f32.json", &preset, &err) == 0, "%s", err.msg);
    vgen_model_params mp = vgen_model_params_init();
    mp.model_dir = TINY_WAN;
    mp.preset = &preset;
    vgen_model *m = NULL;
    CHECKF(vgen_model_load(ctx, &mp, &m) == VGEN_OK, "load: %s", vgen_context_last_error(ctx));
    return m;
}

/* The fixture's request: 48x32, 5 frames, 3 steps, guidance 5, seed 42, outputs in dir. */
static vgen_generate_params small_request(const char *dir, char paths[3][1024]) {
    vgen_generate_params p = vgen_generate_params_init();
    p.prompt = "a red fox in snow", p.negative_prompt = "blurry";
    p.width = 48, p.height = 32, p.frames = 5, p.steps = 3, p.seed = 42;
    snprintf(paths[0], 1024, "%s/out.mp4", dir);
    snprintf(paths[1], 1024, "%s/png", dir);
    snprintf(paths[2], 1024, "%s/out.json", dir);
    p.output = paths[0], p.png_dir = paths[1], p.json = paths[2];
    return p;
}

/* ---- abort --------------------------------------------------------------------------------------------------- */

typedef struct abort_state {
    int calls, stop_at;          /* abort callback: stop on call number stop_at (0: never) */
    int stop;                    /* or when set */
    int frames, stop_frame;      /* frame callback: refuse frame stop_frame (-1: never) */
    int set_stop_at_frame;       /* set stop when this frame arrives (-1: never) */
    int steps_done;
} abort_state;

static int abort_cb(void *ud) {
    abort_state *a = ud;
    a->calls++;
    return a->stop || (a->stop_at && a->calls >= a->stop_at);
}

static int frame_cb(const vgen_frame *f, void *ud) {
    abort_state *a = ud;
    a->frames++;
    if (f->index == a->set_stop_at_frame) a->stop = 1;
    return f->index == a->stop_frame;
}

static void progress_cb(const vgen_progress_info *in, void *ud) {
    abort_state *a = ud;
    if (in->phase == VGEN_PHASE_DENOISE) {
        a->steps_done = (int)in->done;
        if (in->done == 2) a->stop = 1; /* stop between steps 2 and 3 */
    }
}

static void run_abort_case(vgen_context *ctx, const vgen_model *m, const char *name, abort_state *a, int use_progress) {
    char dir[512], paths[3][1024];
    fresh(dir, name);
    vgen_generate_params p = small_request(dir, paths);
    p.abort = abort_cb, p.abort_user_data = a;
    p.on_frame = frame_cb, p.frame_user_data = a;
    if (use_progress) p.progress = progress_cb, p.progress_user_data = a;
    vgen_status st = vgen_generate(ctx, m, &p);
    CHECKF(st == VGEN_ERR_ABORTED, "%s: status %d (%s)", name, st, vgen_context_last_error(ctx));
    CHECKF(strstr(vgen_context_last_error(ctx), "abort") || strstr(vgen_context_last_error(ctx), "stopped"),
           "%s: message: %s", name, vgen_context_last_error(ctx));
    CHECK_EMPTY(dir);
}

static void test_abort(void) {
    log_buf log = {{0}};
    vgen_context *ctx = new_ctx(&log);
    vgen_model *m = ctx ? load_model(ctx, "keep") : NULL;
    if (!m) goto out;
    abort_state between = {.stop_frame = -1, .set_stop_at_frame = -1};
    run_abort_case(ctx, m, "between_steps", &between, 1);
    CHECKF(between.steps_done == 2 && between.frames == 0, "stopped after %d steps, %d frames", between.steps_done,
           between.frames);
    /* the DiT checks abort between its blocks: calls 1 (before the text encoder), 2 (before loading), then the
     * sampler's check before step 1, then block checks inside the first pass */
    abort_state blocks = {.stop_at = 5, .stop_frame = -1, .set_stop_at_frame = -1};
    run_abort_case(ctx, m, "inside_dit", &blocks, 0);
    CHECKF(strstr(vgen_context_last_error(ctx), "during step 1"), "message: %s", vgen_context_last_error(ctx));
    abort_state vae = {.stop_frame = -1, .set_stop_at_frame = 1};
    run_abort_case(ctx, m, "during_vae", &vae, 0);
    CHECKF(vae.frames == 2, "frames seen: %d", vae.frames);
    abort_state refuse = {.stop_frame = 3, .set_stop_at_frame = -1};
    run_abort_case(ctx, m, "frame_callback", &refuse, 0);
    CHECKF(refuse.frames == 4, "frames seen: %d", refuse.frames);
out:
    vgen_model_free(&m);
    vgen_context_free(&ctx);
}

/* ---- refused before any work ---------------------------------------------------------------------------------- */

static void expect_invalid(vgen_context *ctx, const vgen_generate_params *p, int code, const char *needle) {
    vgen_status st = vgen_generate_validate(ctx, NULL, p);
    CHECKF(st == code, "status %d, expected %d (%s)", st, code, vgen_context_last_error(ctx));
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), needle);
}

static void test_bad_values(void) {
    log_buf log = {{0}};
    vgen_context *ctx = new_ctx(&log);
    char dir[512], paths[3][1024];
    fresh(dir, "bad_values");
    vgen_generate_params p = small_request(dir, paths);
    CHECK(vgen_generate_validate(ctx, NULL, &p) == VGEN_OK);
    p.width = 50, p.height = 30;
    expect_invalid(ctx, &p, VGEN_ERR_INVALID_ARGUMENT, "nearest valid size is 48x32");
    p.width = 840, p.height = 470;
    expect_invalid(ctx, &p, VGEN_ERR_INVALID_ARGUMENT, "nearest valid size is 848x464");
    p.width = 48, p.height = 32, p.frames = 6;
    expect_invalid(ctx, &p, VGEN_ERR_INVALID_ARGUMENT, "(use 5)");
    p.frames = 80;
    expect_invalid(ctx, &p, VGEN_ERR_INVALID_ARGUMENT, "77 and 81 (use 81)");
    p.frames = 5, p.sampler = "ddim";
    expect_invalid(ctx, &p, VGEN_ERR_INVALID_ARGUMENT, "unipc or euler");
    p.sampler = NULL, p.steps = 0;
    expect_invalid(ctx, &p, VGEN_ERR_INVALID_ARGUMENT, "steps 0");
    p.steps = 3, p.prompt = "bad \xff utf-8";
    expect_invalid(ctx, &p, VGEN_ERR_INVALID_ARGUMENT, "prompt: invalid UTF-8 at byte 4");
    p.prompt = "ok", p.output = p.png_dir = p.json = NULL;
    expect_invalid(ctx, &p, VGEN_ERR_INVALID_ARGUMENT, "no output");
    CHECK_EMPTY(dir);
    vgen_context_free(&ctx);
}

static void test_unwritable_output(void) {
    log_buf log = {{0}};
    vgen_context *ctx = new_ctx(&log);
    vgen_model *m = ctx ? load_model(ctx, "keep") : NULL;
    char dir[512], paths[3][1024], file[1024], bad[1024];
    fresh(dir, "unwritable");
    snprintf(file, sizeof file, "%s/a_file", dir);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    vgen_generate_params p = small_request(dir, paths);
    snprintf(bad, sizeof bad, "%s/a_file/out.mp4", dir);
    p.output = bad;
    expect_invalid(ctx, &p, VGEN_ERR_IO, "a_file is not a folder");
    snprintf(bad, sizeof bad, "%s/missing/out.mp4", dir);
    expect_invalid(ctx, &p, VGEN_ERR_IO, "missing does not exist");
    p.output = paths[0], p.json = dir;
    expect_invalid(ctx, &p, VGEN_ERR_IO, "is a folder");
    snprintf(bad, sizeof bad, "%s/a_file/png", dir);
    p.json = paths[2], p.png_dir = bad;
    expect_invalid(ctx, &p, VGEN_ERR_IO, "png_dir");
    /* vgen_generate refuses it too, before opening the text encoder */
    if (m) {
        log.text[0] = '\0';
        const double t0 = vgen_now_s();
        CHECK(vgen_generate(ctx, m, &p) == VGEN_ERR_IO);
        CHECKF(vgen_now_s() - t0 < 0.05, "refusing took %.3f s", vgen_now_s() - t0);
        CHECKF(!strstr(log.text, "text encoder") && !strstr(log.text, "loading"), "work was done: %s", log.text);
    }
    remove(file);
    CHECK_EMPTY(dir);
    vgen_model_free(&m);
    vgen_context_free(&ctx);
}

/* ---- working variants ------------------------------------------------------------------------------------------ */

static void read_record(const char *path, vgen_run_record *rec) {
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    vgen_err err = {0};
    CHECKF(vgen_run_record_from_json(buf, n, rec, &err) == 0, "%s: %s", path, err.msg);
}

typedef struct count_taps {
    int contexts, passes, frames;
} count_taps;

static void count_context(void *ud, int cond, const float *c, int64_t rows, int64_t width) {
    (void)cond, (void)c, (void)rows, (void)width;
    ((count_taps *)ud)->contexts++;
}

static void count_pass(void *ud, int step, float t, int cond, const float *x, const float *v, size_t n) {
    (void)step, (void)t, (void)cond, (void)x, (void)v, (void)n;
    ((count_taps *)ud)->passes++;
}

/* Generates with p's changes into TMP/name/out.json and returns the record read back (release it). */
static int run_variant(vgen_context *ctx, const vgen_model *m, const char *name, vgen_generate_params *p,
                       count_taps *counts, vgen_run_record *rec) {
    char dir[512], paths[3][1024];
    fresh(dir, name);
    vgen_generate_params base = small_request(dir, paths);
    p->json = paths[2];
    p->output = p->png_dir = NULL;
    (void)base;
    const vgen_generate_taps taps = {.user_data = counts, .context = count_context, .denoise = count_pass};
    vgen_status st = vgen_generate_run(ctx, m, p, &taps);
    CHECKF(st == VGEN_OK, "%s: %s", name, vgen_context_last_error(ctx));
    if (st == VGEN_OK) read_record(paths[2], rec);
    return st == VGEN_OK;
}

static void test_variants(void) {
    log_buf log = {{0}};
    vgen_context *ctx = new_ctx(&log);
    vgen_model *m = ctx ? load_model(ctx, "free_after_use") : NULL;
    if (!m) goto out;
    CHECK(m->dit == NULL && m->vae != NULL);
    char dir[512], paths[3][1024];
    vgen_generate_params p = small_request(fresh(dir, "unused"), paths);
    vgen_run_record rec;
    count_taps c = {0};
    p.prompt = "", p.negative_prompt = NULL; /* the empty prompt: "</s>" only */
    if (run_variant(ctx, m, "empty_prompt", &p, &c, &rec)) {
        CHECK(rec.prompt && rec.prompt[0] == '\0' && rec.negative_prompt && rec.negative_prompt[0] == '\0');
        CHECK(c.contexts == 2 && c.passes == 6);
        vgen_run_record_release(&rec);
    }
    CHECK_STR_CONTAINS(log.text, "transformer freed");
    memset(&c, 0, sizeof c);
    p.prompt = "a fox", p.guidance = 1.0, p.sampler = "euler", p.shift = 5.0;
    if (run_variant(ctx, m, "euler_no_cfg", &p, &c, &rec)) {
        CHECK(rec.sampler && strcmp(rec.sampler, "euler") == 0 && rec.shift == 5.0 && rec.guidance == 1.0);
        CHECKF(c.contexts == 1 && c.passes == 3, "contexts %d, passes %d", c.contexts, c.passes);
        vgen_run_record_release(&rec);
    }
out:
    vgen_model_free(&m);
    vgen_context_free(&ctx);
}

/* The built-in preset (cpu: bf16 text encoder freed after use, int8 DiT, bf16 compute) on the tiny model. */
static void test_builtin_preset(void) {
    vgen_preset a, b;
    vgen_err err = {0};
    CHECK(vgen_model_builtin_preset(&a, &err) == 0);
    CHECKF(vgen_preset_read(PRESETS "/cpu.json", &b, &err) == 0, "%s", err.msg);
    CHECK(!strcmp(a.name, b.name) && !strcmp(a.description, b.description) && a.device == b.device);
    CHECK(a.memory_budget_gb == b.memory_budget_gb && a.host_memory_gb == b.host_memory_gb);
    CHECKF(memcmp(a.components, b.components, sizeof a.components) == 0, "presets/cpu.json and the built-in differ");
    log_buf log = {{0}};
    vgen_context *ctx = new_ctx(&log);
    vgen_model_params mp = vgen_model_params_init();
    mp.model_dir = TINY_WAN;
    vgen_model *m = NULL;
    CHECKF(vgen_model_load(ctx, &mp, &m) == VGEN_OK, "%s", vgen_context_last_error(ctx));
    char dir[512], paths[3][1024];
    vgen_generate_params p = small_request(fresh(dir, "unused"), paths);
    vgen_run_record rec;
    count_taps c = {0};
    if (m && run_variant(ctx, m, "cpu_preset", &p, &c, &rec)) {
        CHECK(rec.n_components == 3 && !strcmp(rec.preset, "cpu"));
        for (size_t i = 0; i < rec.n_components; i++) {
            const vgen_record_component *k = &rec.components[i];
            printf("  cpu preset: %s weights %s compute %s\n", k->name, k->weights, k->compute);
            if (!strcmp(k->name, "dit")) CHECK(!strcmp(k->weights, "int8_row") && !strcmp(k->compute, "bf16"));
        }
        vgen_run_record_release(&rec);
    }
    vgen_model_free(&m);
    vgen_context_free(&ctx);
}

/* ---- model folders and files ------------------------------------------------------------------------------------ */

static void expect_load_error(const vgen_model_params *mp, int code, const char *a, const char *b) {
    log_buf log = {{0}};
    vgen_context *ctx = new_ctx(&log);
    vgen_model *m = NULL;
    vgen_status st = vgen_model_load(ctx, mp, &m);
    CHECKF(st == code, "status %d, expected %d: %s", st, code, vgen_context_last_error(ctx));
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), a);
    if (b) CHECK_STR_CONTAINS(vgen_context_last_error(ctx), b);
    CHECK(m == NULL && !strstr(log.text, "loading the"));
    vgen_model_free(&m);
    vgen_context_free(&ctx);
}

static void link_part(const char *dir, const char *part) {
    char from[1024], to[1600];
    snprintf(from, sizeof from, "%s/%s", TINY_WAN, part);
    snprintf(to, sizeof to, "%s/%s", dir, part);
    char real[4096];
    CHECK(realpath(from, real) != NULL && symlink(real, to) == 0);
}

static void test_missing_component(void) {
    char dir[512], vae_path[600];
    fresh(dir, "model_without_vae");
    const char *parts[] = {"model_index.json", "transformer", "text_encoder", "tokenizer", "scheduler"};
    for (int i = 0; i < 5; i++) link_part(dir, parts[i]);
    vgen_model_params mp = vgen_model_params_init();
    mp.model_dir = dir;
    snprintf(vae_path, sizeof vae_path, "%s/vae", dir);
    expect_load_error(&mp, VGEN_ERR_NOT_FOUND, "component vae not found", vae_path);
    mp.vae = TINY_WAN "/vae/nope.safetensors";
    expect_load_error(&mp, VGEN_ERR_NOT_FOUND, "component vae", "nope.safetensors does not exist");
    mp.model_dir = TMP "/no_such_model";
    expect_load_error(&mp, VGEN_ERR_NOT_FOUND, "model folder", "no_such_model does not exist");
    mp = vgen_model_params_init();
    mp.transformer = TINY_WAN "/transformer/diffusion_pytorch_model.safetensors";
    expect_load_error(&mp, VGEN_ERR_NOT_FOUND, "component text_encoder: no model folder and no text_encoder file", NULL);
}

static void test_single_files(void) {
    log_buf log = {{0}};
    vgen_context *ctx = new_ctx(&log);
    vgen_model_params mp = vgen_model_params_init();
    mp.transformer = TINY_WAN "/transformer"; /* a folder: the tiny DiT's head size needs its config.json */
    mp.text_encoder = TINY_WAN "/text_encoder";
    mp.tokenizer = TINY_WAN "/tokenizer/tokenizer.json";
    mp.vae = TINY_WAN "/vae/diffusion_pytorch_model.safetensors";
    vgen_model *m = NULL;
    CHECKF(vgen_model_load(ctx, &mp, &m) == VGEN_OK, "%s", vgen_context_last_error(ctx));
    char dir[512], paths[3][1024];
    vgen_generate_params p = small_request(fresh(dir, "unused"), paths);
    vgen_run_record rec;
    count_taps c = {0};
    if (m && run_variant(ctx, m, "single_files", &p, &c, &rec)) {
        CHECK(rec.n_files == 4 && rec.shift == 3.0 && !strcmp(rec.sampler, "unipc"));
        CHECK(!strcmp(rec.files[0].path, mp.transformer) && rec.files[0].bytes > 0);
        vgen_run_record_release(&rec);
    }
    vgen_model_free(&m);
    vgen_context_free(&ctx);
}

static void test_preset_unknown_key(void) {
    char dir[512], path[600];
    fresh(dir, "preset");
    snprintf(path, sizeof path, "%s/odd.json", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("{\"name\": \"odd\", \"target\": {\"device\": \"cpu\", \"memory_budget_gb\": 4}, \"speed\": 11,"
              " \"components\": {}}", f);
        fclose(f);
    }
    log_buf log = {{0}};
    vgen_context *ctx = new_ctx(&log);
    vgen_preset *preset = NULL;
    CHECK(vgen_preset_load(ctx, path, NULL, 0, &preset) == VGEN_ERR_INVALID_ARGUMENT && preset == NULL);
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "unknown key \"speed\"");
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), path);
    vgen_context_free(&ctx);
}

static void expect_sched(const char *json, int code, const char *needle) {
    vgen_sched_config c;
    vgen_err err = {0};
    int rc = vgen_sched_config_parse(json, strlen(json), "s.json", &c, &err);
    CHECKF(rc == code, "%s: %d (%s)", json, rc, err.msg);
    if (needle) CHECK_STR_CONTAINS(err.msg, needle);
}

static void test_scheduler_configs(void) {
    vgen_sched_config c;
    vgen_err err = {0};
    CHECK(vgen_sched_config_read(FIX "/scheduler/unipc_shift5", &c, &err) == 0);
    CHECK(c.kind == VGEN_SAMPLER_UNIPC && c.shift == 5.0);
    CHECK(vgen_sched_config_read(FIX "/scheduler/euler_shift3/scheduler_config.json", &c, &err) == 0);
    CHECK(c.kind == VGEN_SAMPLER_EULER && c.shift == 3.0);
    CHECK(vgen_sched_config_read(FIX "/scheduler/nope", &c, &err) == VGEN_ERR_NOT_FOUND);
    expect_sched("{\"_class_name\": \"UniPCMultistepScheduler\", \"use_flow_sigmas\": true, \"solver_type\": \"bh1\"}",
                 VGEN_ERR_UNSUPPORTED, "\"solver_type\" is \"bh1\"");
    expect_sched("{\"_class_name\": \"UniPCMultistepScheduler\"}", VGEN_ERR_UNSUPPORTED, "use_flow_sigmas");
    expect_sched("{\"_class_name\": \"DDIMScheduler\"}", VGEN_ERR_UNSUPPORTED, "DDIMScheduler");
    expect_sched("{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": \"x\"}", VGEN_ERR_MALFORMED,
                 "\"shift\"");
    expect_sched("[1]", VGEN_ERR_MALFORMED, "s.json");
}

int main(void) {
    RUN(test_bad_values);
    RUN(test_unwritable_output);
    RUN(test_abort);
    RUN(test_variants);
    RUN(test_builtin_preset);
    RUN(test_missing_component);
    RUN(test_single_files);
    RUN(test_preset_unknown_key);
    RUN(test_scheduler_configs);
    return test_summary();
}

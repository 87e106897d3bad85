/* cmd_generate.c - `vgen generate` (also `vgen --model ...` with no command): text to video through include/vgen.h.
 *
 * Order: parse -> check every parameter and output (vgen_generate_validate) -> load the preset -> load the model
 * -> generate. So a bad size or an unwritable output folder fails in milliseconds, before any weight is read.
 * Ctrl-C (or SIGTERM) stops at the next step / block / frame boundary; the library then removes its temporary
 * files and the command exits 130. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"

#define PATH_BYTES 4096

typedef struct gen_opts {
    vgen_model_params mp;
    vgen_generate_params gp;
    const char *preset;
    int threads, verbose, quiet, no_json, seed_given;
    char json_path[PATH_BYTES];
} gen_opts;

static void usage(FILE *out) {
    fprintf(out,
            "usage: vgen [generate] --model DIR --prompt TEXT -o OUT.mp4 [options]\n"
            "model (a diffusers-style folder, or single files as ComfyUI has them; files override the folder):\n"
            "  --model DIR            model_index.json with transformer/ text_encoder/ tokenizer/ vae/ scheduler/\n"
            "  --transformer FILE     the DiT (.safetensors, also ComfyUI and fp8 'scaled' files)\n"
            "  --text-encoder FILE    the UMT5 encoder\n"
            "  --tokenizer PATH       tokenizer/ folder, tokenizer.json or spiece.model\n"
            "  --vae FILE             the Wan2.1 VAE\n"
            "  --scheduler FILE       a scheduler_config.json (default: the folder's, else UniPC, shift 3)\n"
            "  --preset NAME|FILE     precision and placement per component (default: cpu; see vgen presets)\n"
            "  --embed-cache DIR      cache prompt embeddings in DIR\n"
            "video:\n"
            "  -p, --prompt TEXT      what to generate (\"\" is allowed: an unconditioned video)\n"
            "  -n, --negative-prompt TEXT   what to steer away from (default: empty)\n"
            "  --size WxH             multiples of 16 (default 832x480)\n"
            "  --frames N             4k+1 frames (default 81)\n"
            "  --steps N              sampler steps (default 50)\n"
            "  --guidance G           classifier-free guidance scale; 1 = off (default 5)\n"
            "  --shift S              flow shift (default: the scheduler config's, 3 for Wan2.1)\n"
            "  --sampler unipc|euler  (default: the scheduler config's, unipc)\n"
            "  --seed N               (default: random, printed and recorded)\n"
            "  --fps N                (default 16)\n"
            "outputs (written to temporary files, renamed when complete):\n"
            "  -o, --output FILE.mp4  H.264 video; its comment tag holds the run record\n"
            "  --crf N                quality 0..51 (default 18)\n"
            "  --png-dir DIR          also write frame_00000.png ...\n"
            "  --json FILE            the run record (default: beside the video, OUT.json)\n"
            "  --no-json              no separate record file\n"
            "other: --threads N (default: all cores), -v (log details), -q (no progress)\n");
}

/* ---- option values -------------------------------------------------------------------------------------------- */

static int bad_value(const char *opt, const char *s, const char *want) {
    fprintf(stderr, "vgen generate: %s '%s': expected %s\n", opt, s, want);
    return CLI_EXIT_USAGE;
}

static int parse_int(const char *opt, const char *s, long lo, long hi, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        char want[64];
        snprintf(want, sizeof want, "an integer in %ld..%ld", lo, hi);
        return bad_value(opt, s, want);
    }
    *out = (int)v;
    return 0;
}

static int parse_double(const char *opt, const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return bad_value(opt, s, "a number");
    *out = v;
    return 0;
}

static int parse_seed(const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return bad_value("--seed", s, "an integer in 0..2^64-1");
    *out = (uint64_t)v;
    return 0;
}

static int parse_size(const char *s, int *w, int *h) {
    int a = 0, b = 0, n = 0;
    if (sscanf(s, "%d%*[xX]%d%n", &a, &b, &n) != 2 || s[n] || a < 1 || b < 1)
        return bad_value("--size", s, "WIDTHxHEIGHT, e.g. 832x480");
    *w = a;
    *h = b;
    return 0;
}

static uint64_t random_seed(void) {
    uint64_t s = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, &s, sizeof s) != (ssize_t)sizeof s) s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (fd >= 0) close(fd);
    return s >> 11; /* below 2^53: exact as a JSON number */
}

/* ---- parsing -------------------------------------------------------------------------------------------------- */

/* A string option: its value into *out. */
static int string_opt(const char *a, const char *const names[2], int argc, char **argv, int *i, const char **out) {
    if (strcmp(a, names[0]) != 0 && !(names[1] && strcmp(a, names[1]) == 0)) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "vgen generate: %s needs a value\n", a);
        return -CLI_EXIT_USAGE;
    }
    *out = argv[++*i];
    return 1;
}

typedef struct str_option {
    const char *names[2];
    size_t offset; /* of the const char * in gen_opts */
} str_option;

#define OPT_AT(o, off) ((const char **)((char *)(o) + (off)))

static const str_option k_strings[] = {
    {{"--model", "-m"}, offsetof(gen_opts, mp.model_dir)},
    {{"--transformer", NULL}, offsetof(gen_opts, mp.transformer)},
    {{"--text-encoder", NULL}, offsetof(gen_opts, mp.text_encoder)},
    {{"--tokenizer", NULL}, offsetof(gen_opts, mp.tokenizer)},
    {{"--vae", NULL}, offsetof(gen_opts, mp.vae)},
    {{"--scheduler", NULL}, offsetof(gen_opts, mp.scheduler)},
    {{"--embed-cache", NULL}, offsetof(gen_opts, mp.embed_cache_dir)},
    {{"--preset", NULL}, offsetof(gen_opts, preset)},
    {{"--prompt", "-p"}, offsetof(gen_opts, gp.prompt)},
    {{"--negative-prompt", "-n"}, offsetof(gen_opts, gp.negative_prompt)},
    {{"--sampler", NULL}, offsetof(gen_opts, gp.sampler)},
    {{"--output", "-o"}, offsetof(gen_opts, gp.output)},
    {{"--png-dir", NULL}, offsetof(gen_opts, gp.png_dir)},
    {{"--json", NULL}, offsetof(gen_opts, gp.json)},
};

static const char *const k_numeric[] = {"--size", "--frames", "--steps", "--fps", "--crf", "--threads",
                                        "--guidance", "--shift", "--seed", NULL};

/* A numeric option a with value v (NULL: none left). Returns 1 if a was one (parsed), 0 if not, or -exit code. */
static int numeric_opt(const char *a, const char *v, gen_opts *o) {
    int known = 0;
    for (int k = 0; k_numeric[k] && !known; k++) known = !strcmp(a, k_numeric[k]);
    if (!known) return 0;
    if (!v) {
        fprintf(stderr, "vgen generate: %s needs a value\n", a);
        return -CLI_EXIT_USAGE;
    }
    vgen_generate_params *g = &o->gp;
    int rc;
    if (!strcmp(a, "--size")) rc = parse_size(v, &g->width, &g->height);
    else if (!strcmp(a, "--frames")) rc = parse_int(a, v, 1, 100001, &g->frames);
    else if (!strcmp(a, "--steps")) rc = parse_int(a, v, 1, 10000, &g->steps);
    else if (!strcmp(a, "--fps")) rc = parse_int(a, v, 1, 240, &g->fps);
    else if (!strcmp(a, "--crf")) rc = parse_int(a, v, 0, 51, &g->crf);
    else if (!strcmp(a, "--threads")) rc = parse_int(a, v, 0, 4096, &o->threads);
    else if (!strcmp(a, "--guidance")) rc = parse_double(a, v, &g->guidance);
    else if (!strcmp(a, "--shift")) rc = parse_double(a, v, &g->shift);
    else rc = parse_seed(v, &g->seed), o->seed_given = 1;
    return rc ? -rc : 1;
}

static int flag_opt(const char *a, gen_opts *o) {
    if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) o->verbose = 1;
    else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) o->quiet = 1;
    else if (!strcmp(a, "--no-json")) o->no_json = 1;
    else return 0;
    return 1;
}

/* One argument at argv[*i]: 1 consumed, or -exit code. */
static int parse_one(int argc, char **argv, int *i, gen_opts *o) {
    const char *a = argv[*i];
    if (flag_opt(a, o)) return 1;
    for (size_t k = 0; k < sizeof k_strings / sizeof k_strings[0]; k++) {
        int r = string_opt(a, k_strings[k].names, argc, argv, i, OPT_AT(o, k_strings[k].offset));
        if (r) return r;
    }
    int r = numeric_opt(a, *i + 1 < argc ? argv[*i + 1] : NULL, o);
    if (r == 1) ++*i;
    if (r) return r;
    fprintf(stderr, "vgen generate: unexpected argument '%s' (see vgen generate --help)\n", a);
    return -CLI_EXIT_USAGE;
}

/* The record beside the video: OUT.mp4 -> OUT.json. */
static void default_json(gen_opts *o) {
    if (o->gp.json || o->no_json || !o->gp.output) return;
    const char *out = o->gp.output;
    size_t n = strlen(out);
    if (n >= 4 && !strcmp(out + n - 4, ".mp4")) n -= 4;
    if (n + 6 > sizeof o->json_path) return;
    memcpy(o->json_path, out, n);
    memcpy(o->json_path + n, ".json", 6);
    o->gp.json = o->json_path;
}

/* 0 when the options are complete, else an exit code. */
static int parse_args(int argc, char **argv, gen_opts *o) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return -1;
        }
        int r = parse_one(argc, argv, &i, o);
        if (r < 0) return -r;
    }
    if (!o->mp.model_dir && !o->mp.transformer) {
        fprintf(stderr, "vgen generate: give --model DIR (or --transformer FILE with the other components)\n");
        return CLI_EXIT_USAGE;
    }
    if (!o->gp.prompt) {
        fprintf(stderr, "vgen generate: give --prompt TEXT (--prompt \"\" for an unconditioned video)\n");
        return CLI_EXIT_USAGE;
    }
    if (!o->gp.output && !o->gp.png_dir) {
        fprintf(stderr, "vgen generate: give -o OUT.mp4 and/or --png-dir DIR\n");
        return CLI_EXIT_USAGE;
    }
    if (o->no_json) o->gp.json = NULL;
    default_json(o);
    if (!o->seed_given) o->gp.seed = random_seed();
    return 0;
}

/* ---- running -------------------------------------------------------------------------------------------------- */

static int on_abort(void *user_data) {
    (void)user_data;
    return cli_interrupted();
}

static int finish(vgen_context *ctx, vgen_status st, cli_progress *pr) {
    cli_progress_break(pr);
    if (st == VGEN_ERR_ABORTED && cli_interrupted()) {
        fprintf(stderr, "vgen: interrupted; no output was written\n");
        return CLI_EXIT_INTERRUPTED;
    }
    return cli_fail(ctx, st);
}

static void print_written(const gen_opts *o) {
    const vgen_generate_params *g = &o->gp;
    if (g->output) printf("wrote %s (%d frames, %dx%d, %d fps)\n", g->output, g->frames, g->width, g->height, g->fps);
    if (g->png_dir) printf("wrote %s/frame_*.png (%d frames)\n", g->png_dir, g->frames);
    if (g->json) printf("wrote %s\n", g->json);
}

/* The memory plan of the request, before any weight is read: over budget, the run stops here with the plan's
 * advice (vgen_generate would refuse it too, but only after vgen_model_load). */
static vgen_status refuse_over_budget(vgen_context *ctx, const gen_opts *o) {
    vgen_plan plan;
    vgen_status st = vgen_plan_generation(ctx, &o->mp, &o->gp, &plan);
    if (st != VGEN_OK || plan.fits) return st;
    fprintf(stderr, "vgen: %dx%d with %d frames does not fit the preset: %s\n(see: vgen plan)\n", o->gp.width,
            o->gp.height, o->gp.frames, plan.summary);
    return VGEN_ERR_BUDGET;
}

static int run(vgen_context *ctx, gen_opts *o, cli_progress *pr) {
    size_t n_dirs = 0;
    const char *const *dirs = cli_preset_dirs(&n_dirs);
    vgen_preset *preset = NULL;
    vgen_model *model = NULL;
    vgen_status st = vgen_preset_load(ctx, o->preset ? o->preset : "cpu", dirs, n_dirs, &preset);
    if (st == VGEN_OK && !o->quiet)
        fprintf(stderr, "vgen: loading %s (preset %s), seed %llu\n", o->mp.model_dir ? o->mp.model_dir : o->mp.transformer,
                vgen_preset_name(preset), (unsigned long long)o->gp.seed);
    o->mp.preset = preset;
    if (st == VGEN_OK) st = refuse_over_budget(ctx, o);
    if (st == VGEN_OK) st = vgen_model_load(ctx, &o->mp, &model);
    if (st == VGEN_OK) st = vgen_generate(ctx, model, &o->gp);
    vgen_model_free(&model);
    vgen_preset_free(&preset);
    if (st != VGEN_OK) return finish(ctx, st, pr);
    if (!o->quiet) print_written(o);
    return CLI_EXIT_OK;
}

int cli_cmd_generate(int argc, char **argv) {
    gen_opts o;
    memset(&o, 0, sizeof o);
    o.mp = vgen_model_params_init();
    o.gp = vgen_generate_params_init();
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
    cli_progress pr;
    cli_progress_init(&pr, o.quiet);
    o.mp.progress = cli_progress_load, o.mp.progress_user_data = &pr;
    o.mp.abort = on_abort;
    o.gp.progress = cli_progress_generate, o.gp.progress_user_data = &pr;
    o.gp.abort = on_abort;
    o.gp.log = cli_progress_log, o.gp.log_user_data = &pr;
    cli_trap_sigint();
    vgen_context_params cp = vgen_context_params_init();
    cp.n_threads = o.threads;
    cp.log = cli_progress_log, cp.log_user_data = &pr;
    cp.log_level = o.verbose ? VGEN_LOG_DEBUG : VGEN_LOG_WARN;
    vgen_context *ctx = NULL;
    vgen_status st = vgen_context_new(&cp, &ctx);
    if (st != VGEN_OK) return cli_fail(NULL, st);
    st = vgen_generate_validate(ctx, NULL, &o.gp);
    rc = st == VGEN_OK ? run(ctx, &o, &pr) : st == VGEN_ERR_INVALID_ARGUMENT ? (cli_fail(ctx, st), CLI_EXIT_USAGE)
                                                                              : cli_fail(ctx, st);
    vgen_context_free(&ctx);
    return rc;
}

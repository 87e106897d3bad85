/* cmd_plan.c - `vgen plan`: the memory plan of a generation (vgen_plan_generation), per phase, from the model's
 * configuration files only, and whether it fits the preset. Exit status 0 when it fits, 1 when it does not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct plan_opts {
    vgen_model_params mp;
    vgen_generate_params gp;
    const char *preset;
} plan_opts;

static void usage(FILE *out) {
    fprintf(out, "usage: vgen plan --model DIR [--preset NAME|FILE] [--size WxH] [--frames N] [--guidance G]\n"
                 "  --model DIR         a model folder (config.json files are enough: no weight is read)\n"
                 "  --transformer, --text-encoder, --vae PATH   components given separately, as for generate\n"
                 "  --preset NAME|FILE  (default: cpu)    --size WxH (default 832x480)    --frames N (default 81)\n"
                 "  --guidance G        1 = no second DiT pass (default 5)\n");
}

static int bad(const char *opt, const char *v) {
    fprintf(stderr, "vgen plan: bad value for %s: '%s'\n", opt, v ? v : "(missing)");
    return CLI_EXIT_USAGE;
}

static int parse(int argc, char **argv, plan_opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int n = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return -1;
        }
        if (!v) return bad(a, v);
        if (!strcmp(a, "--model") || !strcmp(a, "-m")) o->mp.model_dir = v;
        else if (!strcmp(a, "--transformer")) o->mp.transformer = v;
        else if (!strcmp(a, "--text-encoder")) o->mp.text_encoder = v;
        else if (!strcmp(a, "--tokenizer")) o->mp.tokenizer = v;
        else if (!strcmp(a, "--vae")) o->mp.vae = v;
        else if (!strcmp(a, "--preset")) o->preset = v;
        else if (!strcmp(a, "--size")) {
            if (sscanf(v, "%d%*[xX]%d%n", &o->gp.width, &o->gp.height, &n) != 2 || v[n] || o->gp.width < 1 ||
                o->gp.height < 1)
                return bad(a, v);
        } else if (!strcmp(a, "--frames")) {
            if (sscanf(v, "%d%n", &o->gp.frames, &n) != 1 || v[n] || o->gp.frames < 1) return bad(a, v);
        } else if (!strcmp(a, "--guidance")) {
            if (sscanf(v, "%lf%n", &o->gp.guidance, &n) != 1 || v[n]) return bad(a, v);
        } else {
            fprintf(stderr, "vgen plan: unknown option %s\n", a);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    if (!o->mp.model_dir && !o->mp.transformer) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static void print_row(const char *phase, const char *where, const vgen_plan_memory *m) {
    char w[32], a[32], s[32], t[32];
    printf("  %-13s %-7s %12s %12s %12s %12s\n", phase, where, cli_bytes((double)m->weights, w, sizeof w),
           cli_bytes((double)m->activations, a, sizeof a), cli_bytes((double)m->workspace, s, sizeof s),
           cli_bytes((double)m->total, t, sizeof t));
}

static void print_plan(const plan_opts *o, const char *preset, const vgen_plan *p) {
    char a[32], b[32];
    printf("plan: %dx%d, %d frames, guidance %g, preset %s (%lld DiT tokens per pass)\n", o->gp.width, o->gp.height,
           o->gp.frames, o->gp.guidance, preset, (long long)p->tokens);
    printf("  %-13s %-7s %12s %12s %12s %12s\n", "phase", "memory", "weights", "activations", "workspace", "peak");
    for (int i = 0; i < VGEN_PLAN_PHASES; i++) {
        const vgen_plan_phase *ph = &p->phases[i];
        if (ph->device.total) print_row(vgen_plan_phase_name((vgen_plan_phase_id)i), "device", &ph->device);
        print_row(vgen_plan_phase_name((vgen_plan_phase_id)i), "host", &ph->host);
    }
    if (p->vae_tile_w) printf("  VAE decode tiles: %dx%d pixels\n", p->vae_tile_w, p->vae_tile_h);
    else printf("  VAE decode: untiled\n");
    if (p->device_budget || p->device_peak)
        printf("  device peak %s of %s\n", cli_bytes((double)p->device_peak, a, sizeof a),
               p->device_budget ? cli_bytes((double)p->device_budget, b, sizeof b) : "no budget");
    printf("  host peak   %s of %s\n", cli_bytes((double)p->host_peak, a, sizeof a),
           p->host_budget ? cli_bytes((double)p->host_budget, b, sizeof b) : "no budget");
    if (p->fits) printf("fits\n");
    else printf("does not fit: %s\n", p->summary);
}

int cli_cmd_plan(int argc, char **argv) {
    plan_opts o = {.mp = vgen_model_params_init(), .gp = vgen_generate_params_init()};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
    vgen_context *ctx = cli_context_new(0);
    if (!ctx) return CLI_EXIT_FAIL;
    size_t n_dirs = 0;
    const char *const *dirs = cli_preset_dirs(&n_dirs);
    vgen_preset *preset = NULL;
    vgen_plan plan;
    vgen_status st = vgen_preset_load(ctx, o.preset ? o.preset : "cpu", dirs, n_dirs, &preset);
    o.mp.preset = preset;
    if (st == VGEN_OK) st = vgen_plan_generation(ctx, &o.mp, &o.gp, &plan);
    if (st == VGEN_OK) print_plan(&o, vgen_preset_name(preset), &plan);
    vgen_preset_free(&preset);
    rc = st != VGEN_OK ? cli_fail(ctx, st) : plan.fits ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    vgen_context_free(&ctx);
    return rc;
}

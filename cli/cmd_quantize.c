/* cmd_quantize.c - `vgen quantize IN OUT --format F [--keep REGEX]... [--rules FILE]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MAX_KEEP 64

static void usage(FILE *out) {
    fprintf(out,
            "usage: vgen quantize IN OUT [--format FORMAT] [--keep REGEX]... [--rules FILE] [-q]\n"
            "  IN        a .safetensors file, a sharded checkpoint (*.safetensors.index.json) or its folder\n"
            "  OUT       the quantized single-file .safetensors to write (atomically)\n"
            "  --format  int8 (default), fp8, fp8-tensor, int4 (= int4-g32), int4-g64, int4-g128,\n"
            "            int4-zp / int4-g64-zp / int4-g128-zp (with zero points)\n"
            "  --keep    keep tensors whose name matches REGEX (POSIX extended) in their original precision;\n"
            "            may be repeated\n"
            "  --rules   a file of lines \"keep REGEX\" or \"FORMAT REGEX\" (first match wins, after --keep)\n"
            "  -q        no progress output\n"
            "By default only 2-D linear weights inside repeated blocks are quantized; norms, biases, embeddings,\n"
            "modulation tables, the stem and the head keep their precision.\n");
}

typedef struct progress_state {
    int show;
    time_t last;
} progress_state;

static void on_progress(int64_t done, int64_t total, void *user_data) {
    progress_state *p = user_data;
    time_t now = time(NULL);
    if (!p->show || (done != total && now == p->last)) return;
    p->last = now;
    fprintf(stderr, "\rquantizing: %lld/%lld tensors", (long long)done, (long long)total);
    if (done == total) fprintf(stderr, "\n");
}

static int on_abort(void *user_data) {
    (void)user_data;
    return cli_interrupted();
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Bytes of tensor data in a checkpoint (a file, an index or a folder); -1 if it cannot be read. */
static long long data_bytes(vgen_context *ctx, const char *path) {
    vgen_model_file *f = NULL;
    if (vgen_model_file_open(ctx, path, &f) != VGEN_OK) return -1;
    long long n = (long long)vgen_model_file_data_bytes(f);
    vgen_model_file_free(&f);
    return n;
}

int cli_cmd_quantize(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL};
    const char *keep[MAX_KEEP];
    int n_pos = 0, quiet = 0;
    vgen_quantize_params qp = vgen_quantize_params_init();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "-q")) {
            quiet = 1;
        } else if (!strcmp(a, "--format") && has_value) {
            qp.format = argv[++i];
        } else if (!strcmp(a, "--rules") && has_value) {
            qp.rules_file = argv[++i];
        } else if (!strcmp(a, "--keep") && has_value) {
            if (qp.n_keep_patterns == MAX_KEEP) {
                fprintf(stderr, "vgen quantize: more than %d --keep patterns\n", MAX_KEEP);
                return CLI_EXIT_USAGE;
            }
            keep[qp.n_keep_patterns++] = argv[++i];
        } else if (a[0] == '-' || n_pos == 2) {
            fprintf(stderr, "vgen quantize: unexpected argument '%s' (see vgen quantize --help)\n", a);
            return CLI_EXIT_USAGE;
        } else {
            pos[n_pos++] = a;
        }
    }
    if (n_pos != 2) {
        fprintf(stderr, "vgen quantize: need IN and OUT (see vgen quantize --help)\n");
        return CLI_EXIT_USAGE;
    }
    qp.keep_patterns = keep;
    progress_state ps = {.show = !quiet && isatty(2), .last = 0};
    qp.progress = on_progress;
    qp.progress_user_data = &ps;
    qp.abort = on_abort;
    cli_trap_sigint();

    vgen_context *ctx = cli_context_new(0);
    if (!ctx) return CLI_EXIT_FAIL;
    vgen_status st = vgen_quantize_file(ctx, pos[0], pos[1], &qp);
    int rc = st == VGEN_OK ? CLI_EXIT_OK : cli_fail(ctx, st);
    if (st == VGEN_OK && !quiet) {
        char a[32], b[32];
        long long out_size = file_size(pos[1]), in_size = data_bytes(ctx, pos[0]);
        printf("wrote %s: %s (format %s; input tensors %s)\n", pos[1], cli_bytes((double)out_size, a, sizeof a),
               qp.format, in_size >= 0 ? cli_bytes((double)in_size, b, sizeof b) : "?");
    }
    vgen_context_free(&ctx);
    return rc;
}

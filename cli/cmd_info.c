/* cmd_info.c - `vgen info FILE_OR_DIR`: what a checkpoint holds. A diffusers model root (model_index.json) is
 * shown component by component. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void print_shape(const vgen_tensor_info *t, char *buf, size_t size) {
    size_t pos = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->n_dims && pos < size; d++)
        pos += (size_t)snprintf(buf + pos, size - pos, d ? ", %" PRId64 : "%" PRId64, t->shape[d]);
    if (pos < size) snprintf(buf + pos, size - pos, "]");
}

static void print_summary(const vgen_model_file *f, const char *path) {
    char b[32];
    size_t n = vgen_model_file_tensor_count(f), n_quant = 0;
    for (size_t i = 0; i < n; i++) {
        vgen_tensor_info t;
        if (vgen_model_file_tensor(f, i, &t) == VGEN_OK && t.quant_format) n_quant++;
    }
    printf("file:     %s\n", path);
    printf("layout:   %s\n", vgen_model_file_layout(f));
    printf("shards:   %zu\n", vgen_model_file_shard_count(f));
    printf("tensors:  %zu (%zu quantized by vgen), %s of data\n", n, n_quant,
           cli_bytes((double)vgen_model_file_data_bytes(f), b, sizeof b));
    size_t n_meta = vgen_model_file_metadata_count(f);
    if (n_meta) printf("metadata: %zu entries\n", n_meta);
    for (size_t i = 0; i < n_meta; i++) {
        const char *k, *v;
        if (vgen_model_file_metadata(f, i, &k, &v) == VGEN_OK && strncmp(k, "vgen.format.", 12) != 0 &&
            strncmp(k, "vgen.shape.", 11) != 0)
            printf("  %s = %.200s\n", k, v);
    }
}

static void print_tensors(const vgen_model_file *f) {
    printf("%-60s %-8s %-22s %12s  %s\n", "name", "dtype", "shape", "bytes", "format");
    for (size_t i = 0; i < vgen_model_file_tensor_count(f); i++) {
        vgen_tensor_info t;
        if (vgen_model_file_tensor(f, i, &t) != VGEN_OK) continue;
        char shape[96];
        print_shape(&t, shape, sizeof shape);
        printf("%-60s %-8s %-22s %12" PRIu64 "  %s\n", t.name, t.dtype, shape, t.n_bytes,
               t.quant_format ? t.quant_format : "-");
    }
}

static int info_one(vgen_context *ctx, const char *path, int list) {
    vgen_model_file *f = NULL;
    vgen_status st = vgen_model_file_open(ctx, path, &f);
    if (st != VGEN_OK) return cli_fail(ctx, st);
    print_summary(f, path);
    if (list) print_tensors(f);
    vgen_model_file_free(&f);
    return CLI_EXIT_OK;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A diffusers root: info on each weight-holding component folder. */
static int info_diffusers_root(vgen_context *ctx, const char *root, int list) {
    static const char *const parts[] = {"transformer", "transformer_2", "text_encoder", "vae"};
    int rc = CLI_EXIT_OK, found = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char sub[4096];
        if (snprintf(sub, sizeof sub, "%s/%s", root, parts[i]) >= (int)sizeof sub || !is_dir(sub)) continue;
        if (found++) printf("\n");
        printf("== %s ==\n", parts[i]);
        int r = info_one(ctx, sub, list);
        if (r != CLI_EXIT_OK) rc = r;
    }
    if (!found) {
        fprintf(stderr, "vgen: error: %s has model_index.json but no transformer/, text_encoder/ or vae/ folder\n", root);
        return CLI_EXIT_FAIL;
    }
    return rc;
}

int cli_cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int list = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: vgen info [--summary] FILE_OR_DIR\n"
                   "  FILE_OR_DIR: a .safetensors file, a *.safetensors.index.json, a folder holding one,\n"
                   "               or a diffusers model folder (model_index.json)\n"
                   "  --summary    omit the tensor table\n");
            return CLI_EXIT_OK;
        } else if (!strcmp(argv[i], "--summary")) {
            list = 0;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "vgen info: unexpected argument '%s' (see vgen info --help)\n", argv[i]);
            return CLI_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "vgen info: missing FILE_OR_DIR (see vgen info --help)\n");
        return CLI_EXIT_USAGE;
    }
    vgen_context *ctx = cli_context_new(0);
    if (!ctx) return CLI_EXIT_FAIL;
    char index[4096];
    int root = is_dir(path) && snprintf(index, sizeof index, "%s/model_index.json", path) < (int)sizeof index &&
               file_exists(index);
    int rc = root ? info_diffusers_root(ctx, path, list) : info_one(ctx, path, list);
    vgen_context_free(&ctx);
    return rc;
}

/* main.c - the vgen command: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command k_commands[] = {
    {"generate", cli_cmd_generate, "generate a video from a text prompt (also: vgen --model DIR --prompt ...)"},
    {"info", cli_cmd_info, "show the tensors, dtypes, shapes, layout and quantization of a model file or directory"},
    {"quantize", cli_cmd_quantize, "write a quantized copy of a safetensors checkpoint (int8, fp8, int4)"},
    {"plan", cli_cmd_plan, "print the memory plan of a generation per phase, and whether it fits the preset"},
    {"presets", cli_cmd_presets, "list the presets (precision and placement of each component)"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: vgen COMMAND [ARGS]   (vgen COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        fprintf(out, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(out, "  %-10s print the version\n", "version");
    fprintf(out, "\n  vgen --model DIR --prompt TEXT -o OUT.mp4 [options]   is vgen generate ...\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("vgen %s\n", vgen_version_string());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        if (!strcmp(argv[1], k_commands[i].name)) return k_commands[i].run(argc - 1, argv + 1);
    if (argv[1][0] == '-') return cli_cmd_generate(argc, argv); /* vgen --model DIR --prompt ... */
    fprintf(stderr, "vgen: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}

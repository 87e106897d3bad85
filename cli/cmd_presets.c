/* cmd_presets.c - `vgen presets`: list the presets vgen can find, with their descriptions. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *const *cli_preset_dirs(size_t *n) {
    static const char *const dirs[] = {VGEN_PRESETS_SOURCE_DIR, VGEN_PRESETS_INSTALL_DIR};
    *n = sizeof dirs / sizeof dirs[0];
    return dirs;
}

static int list_dir(vgen_context *ctx, const char *dir, int *shown) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int bad = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        vgen_preset *p = NULL;
        if (vgen_preset_load(ctx, path, NULL, 0, &p) != VGEN_OK) {
            fprintf(stderr, "vgen: warning: %s\n", vgen_context_last_error(ctx));
            bad++;
            continue;
        }
        printf("  %-12s %s\n", vgen_preset_name(p), vgen_preset_description(p));
        vgen_preset_free(&p);
        (*shown)++;
    }
    closedir(d);
    return bad;
}

int cli_cmd_presets(int argc, char **argv) {
    if (argc > 1) {
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
            printf("usage: vgen presets\n  lists the presets (presets/NAME.json) in the search directories\n");
            return CLI_EXIT_OK;
        }
        fprintf(stderr, "vgen presets: unexpected argument '%s'\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    vgen_context *ctx = cli_context_new(0);
    if (!ctx) return CLI_EXIT_FAIL;
    size_t n_dirs;
    const char *const *dirs = cli_preset_dirs(&n_dirs);
    int shown = 0, bad = 0;
    for (size_t i = 0; i < n_dirs; i++) {
        int before = shown;
        printf("%s:\n", dirs[i]);
        bad += list_dir(ctx, dirs[i], &shown);
        if (shown == before) printf("  (none)\n");
    }
    vgen_context_free(&ctx);
    return bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* cli.h - shared pieces of the vgen command (a thin client of include/vgen.h). */
#ifndef VGEN_CLI_H
#define VGEN_CLI_H

#include <stddef.h>

#include "vgen.h"

/* Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_INTERRUPTED = 130 };

/* A context logging warnings and errors to stderr. NULL on failure (message printed). */
vgen_context *cli_context_new(int verbose);
/* Prints "vgen: error: <last error>" (or the status string) and returns the matching exit code. */
int cli_fail(const vgen_context *ctx, vgen_status st);
/* "1.5 GiB" */
const char *cli_bytes(double bytes, char *buf, unsigned size);

/* SIGINT handling: after cli_trap_sigint(), cli_interrupted() turns non-zero on Ctrl-C. */
void cli_trap_sigint(void);
int cli_interrupted(void);

/* Where presets are looked up by name: the source tree's presets/, then the installed share/vgen/presets. */
const char *const *cli_preset_dirs(size_t *n);

int cli_cmd_generate(int argc, char **argv);
int cli_cmd_info(int argc, char **argv);
int cli_cmd_plan(int argc, char **argv);
int cli_cmd_presets(int argc, char **argv);
int cli_cmd_quantize(int argc, char **argv);

#endif

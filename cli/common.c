/* common.c - context, error printing, byte formatting and Ctrl-C for the vgen command. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static volatile sig_atomic_t g_interrupted; /* the CLI process's own state, not the library's */

static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
}

void cli_trap_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_interrupted(void) { return g_interrupted != 0; }

static void log_to_stderr(vgen_log_level level, const char *msg, void *user_data) {
    (void)user_data;
    if (level == VGEN_LOG_ERROR) return; /* errors are printed once, by cli_fail */
    static const char *const names[] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "vgen: %s: %s\n", names[level], msg);
}

vgen_context *cli_context_new(int verbose) {
    vgen_context_params p = vgen_context_params_init();
    p.log = log_to_stderr;
    p.log_level = verbose ? VGEN_LOG_DEBUG : VGEN_LOG_WARN;
    vgen_context *ctx = NULL;
    vgen_status st = vgen_context_new(&p, &ctx);
    if (st != VGEN_OK) fprintf(stderr, "vgen: error: cannot create a context: %s\n", vgen_strerror(st));
    return ctx;
}

int cli_fail(const vgen_context *ctx, vgen_status st) {
    const char *msg = ctx ? vgen_context_last_error(ctx) : "";
    fprintf(stderr, "vgen: error: %s\n", msg[0] ? msg : vgen_strerror(st));
    return st == VGEN_ERR_ABORTED ? CLI_EXIT_INTERRUPTED : CLI_EXIT_FAIL;
}

const char *cli_bytes(double bytes, char *buf, unsigned size) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}

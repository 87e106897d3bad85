/* progress.h - the progress display of `vgen generate` on stderr: a bar redrawn in place with the phase, units
 * done, rate (it/s) and ETA on a terminal; plain lines otherwise (a phase's start, at most one line every
 * `interval` seconds, and its end), so logs and CI output stay readable. */
#ifndef VGEN_CLI_PROGRESS_H
#define VGEN_CLI_PROGRESS_H

#include "vgen.h"

typedef struct cli_progress {
    int tty;            /* stderr is a terminal: redraw one line */
    int quiet;          /* print nothing */
    int open;           /* a bar line is drawn and not yet ended */
    double interval;    /* plain mode: seconds between lines */
    double last;        /* plain mode: when the last line was printed (phase elapsed seconds) */
} cli_progress;

void cli_progress_init(cli_progress *p, int quiet);
/* vgen_generate_params.progress (user_data = the cli_progress). */
void cli_progress_generate(const vgen_progress_info *info, void *user_data);
/* vgen_model_params.progress: components loaded. */
void cli_progress_load(int64_t done, int64_t total, void *user_data);
/* Ends an open bar line (before printing anything else). */
void cli_progress_break(cli_progress *p);
/* vgen_generate_params.log (user_data = the cli_progress): warnings and, with -v, information, below the bar. */
void cli_progress_log(vgen_log_level level, const char *message, void *user_data);

#endif

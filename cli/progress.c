/* progress.c - the progress bar / plain progress lines of `vgen generate` (see progress.h). */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 24

void cli_progress_init(cli_progress *p, int quiet) {
    memset(p, 0, sizeof *p);
    p->tty = isatty(2);
    p->quiet = quiet;
    p->interval = 5.0;
}

void cli_progress_break(cli_progress *p) {
    if (p->open) fputc('\n', stderr);
    p->open = 0;
}

static const char *unit_of(vgen_phase phase) {
    switch (phase) {
    case VGEN_PHASE_LOAD: return "components";
    case VGEN_PHASE_TEXT_ENCODER: return "prompts";
    case VGEN_PHASE_DENOISE: return "steps";
    case VGEN_PHASE_VAE_DECODE: return "frames";
    default: return "units";
    }
}

/* "1:05" / "1:02:05" */
static const char *clock_str(double s, char *buf, size_t size) {
    int t = s < 0 ? 0 : s > 359999.0 ? 359999 : (int)(s + 0.5); /* below 100 hours */
    if (t >= 3600) snprintf(buf, size, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, size, "%d:%02d", t / 60, t % 60);
    return buf;
}

/* "2.31 it/s" or "4.3 s/it" for slow steps; "" before the first unit. */
static const char *rate_str(const vgen_progress_info *in, char *buf, size_t size) {
    const char *u = in->phase == VGEN_PHASE_DENOISE ? "it" : unit_of(in->phase);
    buf[0] = '\0';
    if (in->rate <= 0) return buf;
    if (in->rate >= 1.0) snprintf(buf, size, "%.2f %s/s", in->rate, u);
    else snprintf(buf, size, "%.1f s/%s", 1.0 / in->rate, u);
    return buf;
}

static void draw_bar(cli_progress *p, const vgen_progress_info *in) {
    char bar[BAR_WIDTH + 1], rate[32], eta[32], el[32];
    int fill = in->total > 0 ? (int)(BAR_WIDTH * in->done / in->total) : 0;
    for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '-';
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r\033[K%-12s [%s] %lld/%lld %s  %s", vgen_phase_name(in->phase), bar, (long long)in->done,
            (long long)in->total, unit_of(in->phase), rate_str(in, rate, sizeof rate));
    if (in->done < in->total && in->eta_s >= 0) fprintf(stderr, "  ETA %s", clock_str(in->eta_s, eta, sizeof eta));
    if (in->done == in->total) fprintf(stderr, "  %s", clock_str(in->elapsed_s, el, sizeof el));
    p->open = 1;
    if (in->done == in->total) cli_progress_break(p);
    fflush(stderr);
}

static void plain_line(cli_progress *p, const vgen_progress_info *in) {
    char rate[32], eta[32];
    const int start = in->done == 0, end = in->done == in->total;
    if (!start && !end && in->elapsed_s - p->last < p->interval) return;
    p->last = in->elapsed_s;
    fprintf(stderr, "vgen: %s: %lld/%lld %s", vgen_phase_name(in->phase), (long long)in->done, (long long)in->total,
            unit_of(in->phase));
    if (!start && in->rate > 0) fprintf(stderr, ", %s", rate_str(in, rate, sizeof rate));
    if (!start && !end && in->eta_s >= 0) fprintf(stderr, ", ETA %s", clock_str(in->eta_s, eta, sizeof eta));
    if (end) fprintf(stderr, ", %.2f s", in->elapsed_s);
    fputc('\n', stderr);
}

void cli_progress_generate(const vgen_progress_info *info, void *user_data) {
    cli_progress *p = user_data;
    if (p->quiet) return;
    if (info->done == 0) p->last = 0;
    if (p->tty) draw_bar(p, info);
    else plain_line(p, info);
}

void cli_progress_load(int64_t done, int64_t total, void *user_data) {
    cli_progress *p = user_data;
    if (p->quiet || total == 0) return;
    vgen_progress_info in = {.phase = VGEN_PHASE_LOAD, .done = done, .total = total, .eta_s = -1};
    cli_progress_generate(&in, p);
}

void cli_progress_log(vgen_log_level level, const char *message, void *user_data) {
    static const char *const names[] = {"error", "warning", "info", "debug"};
    cli_progress *p = user_data;
    if (level == VGEN_LOG_ERROR) return; /* printed once, by cli_fail */
    cli_progress_break(p);
    fprintf(stderr, "vgen: %s: %s\n", names[level], message);
}

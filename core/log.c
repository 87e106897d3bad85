/* log.c - formats a message and hands it to the logger's callback. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void vgen_log(const vgen_logger *lg, vgen_log_level level, const char *fmt, ...) {
    if (!lg || !lg->fn || level > lg->level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lg->fn(level, msg, lg->user_data);
}

/* err.c - status strings and error messages. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *vgen_strerror(int status) {
    switch (status) {
    case VGEN_OK: return "success";
    case VGEN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case VGEN_ERR_OUT_OF_MEMORY: return "out of memory";
    case VGEN_ERR_IO: return "input/output error";
    case VGEN_ERR_MALFORMED: return "malformed input file";
    case VGEN_ERR_UNSUPPORTED: return "unsupported";
    case VGEN_ERR_SHAPE: return "wrong tensor shape or dtype";
    case VGEN_ERR_NOT_FOUND: return "not found";
    case VGEN_ERR_ABORTED: return "aborted";
    case VGEN_ERR_NO_SPACE: return "no space left on device";
    case VGEN_ERR_BUDGET: return "does not fit the memory budget";
    case VGEN_ERR_INTERNAL: return "internal error";
    case VGEN_ERR_NUMERIC: return "non-finite value (NaN or Inf)";
    default: return "unknown error";
    }
}

void vgen_err_clear(vgen_err *err) {
    if (!err) return;
    err->code = VGEN_OK;
    err->msg[0] = '\0';
}

/* Messages are one line whatever they quote (a key or a value from a file may hold a newline): control characters
 * become spaces. */
static void one_line(char *msg) {
    for (unsigned char *p = (unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f) *p = ' ';
}

int vgen_err_set(vgen_err *err, int code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    one_line(err->msg);
    return code;
}

int vgen_err_prefix(vgen_err *err, const char *fmt, ...) {
    if (!err) return VGEN_ERR_INTERNAL;
    char out[VGEN_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, sizeof out, fmt, ap);
    va_end(ap);
    size_t pos = n < 0 ? 0 : ((size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
    /* append ": " and the old message, truncating to fit */
    const char *parts[2] = {": ", err->msg};
    for (int i = 0; i < 2; i++) {
        size_t len = strlen(parts[i]);
        if (len > sizeof out - 1 - pos) len = sizeof out - 1 - pos;
        memcpy(out + pos, parts[i], len);
        pos += len;
    }
    out[pos] = '\0';
    one_line(out);
    memcpy(err->msg, out, sizeof out);
    return err->code;
}

/* err.h - error reporting inside the library: a status code plus one line naming the culprit.
 * Internal functions take a `vgen_err *` (may be NULL) and return a vgen_status; public functions copy the
 * message into their context. Nothing here is global. */
#ifndef VGEN_CORE_ERR_H
#define VGEN_CORE_ERR_H

#include "vgen.h"

#define VGEN_ERR_MSG_MAX 512

typedef struct vgen_err {
    int code;                    /* last vgen_status set, VGEN_OK if none */
    char msg[VGEN_ERR_MSG_MAX];  /* one line, no trailing newline */
} vgen_err;

void vgen_err_clear(vgen_err *err);

/* The code a failed call left in err, or fallback when err is NULL (or holds no failure). For callees that report
 * through err and return a pointer (alloc functions). */
static inline int vgen_err_code(const vgen_err *err, int fallback) { return err && err->code ? err->code : fallback; }

/* Records code and a printf-style message (truncated to fit) and returns code, so callers can write
 * `return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: header length %llu exceeds ...", path, n);`
 * err may be NULL. */
int vgen_err_set(vgen_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (e.g. the file name), keeping the code. Returns err->code. */
int vgen_err_prefix(vgen_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

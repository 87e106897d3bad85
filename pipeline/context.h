/* context.h - the library context behind vgen_context: logger, thread pool and the last error message. */
#ifndef VGEN_PIPELINE_CONTEXT_H
#define VGEN_PIPELINE_CONTEXT_H

#include "err.h"
#include "log.h"
#include "threadpool.h"
#include "vgen.h"

struct vgen_context {
    vgen_logger log;
    vgen_threadpool *pool;
    vgen_err err;          /* the last failed call's status and message */
};

/* Copies a failure into the context (logging it at error level) and returns its code; OK passes through. */
int vgen_ctx_fail(vgen_context *ctx, const vgen_err *err);

#endif

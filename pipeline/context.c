/* context.c - vgen_context: creation, last error, version. */
#include "context.h"

#include <stdio.h>
#include <stdlib.h>

const char *vgen_version_string(void) {
#define VGEN_STR2(x) #x
#define VGEN_STR(x) VGEN_STR2(x)
    return VGEN_STR(VGEN_VERSION_MAJOR) "." VGEN_STR(VGEN_VERSION_MINOR) "." VGEN_STR(VGEN_VERSION_PATCH);
}

int vgen_version_number(void) {
    return VGEN_VERSION_MAJOR * 10000 + VGEN_VERSION_MINOR * 100 + VGEN_VERSION_PATCH;
}

vgen_context_params vgen_context_params_init(void) {
    vgen_context_params p = {0};
    p.n_threads = 0;
    p.log_level = VGEN_LOG_INFO;
    return p;
}

vgen_status vgen_context_new(const vgen_context_params *params, vgen_context **out) {
    if (!out) return VGEN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    vgen_context_params p = params ? *params : vgen_context_params_init();
    vgen_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return VGEN_ERR_OUT_OF_MEMORY;
    ctx->log = (vgen_logger){p.log, p.log_user_data, p.log_level};
    int rc = vgen_threadpool_new(p.n_threads, &ctx->pool, &ctx->err);
    if (rc) {
        vgen_log(&ctx->log, VGEN_LOG_ERROR, "%s", ctx->err.msg);
        free(ctx);
        return (vgen_status)rc;
    }
    *out = ctx;
    return VGEN_OK;
}

void vgen_context_free(vgen_context **ctx) {
    if (!ctx || !*ctx) return;
    vgen_threadpool_free(&(*ctx)->pool);
    free(*ctx);
    *ctx = NULL;
}

const char *vgen_context_last_error(const vgen_context *ctx) { return ctx ? ctx->err.msg : ""; }

int vgen_ctx_fail(vgen_context *ctx, const vgen_err *err) {
    if (err->code == VGEN_OK) return VGEN_OK;
    if (&ctx->err != err) ctx->err = *err;
    vgen_log(&ctx->log, VGEN_LOG_ERROR, "%s", ctx->err.msg);
    return ctx->err.code;
}

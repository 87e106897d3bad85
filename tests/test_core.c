/* test_core.c - core runtime: errors, tensors, arena and memory counters, thread pool, logging, context. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "checked.h"
#include "err.h"
#include "log.h"
#include "tensor.h"
#include "testutil.h"
#include "threadpool.h"
#include "vgen.h"

static void test_status_strings(void) {
    for (int s = 0; s >= VGEN_ERR_NUMERIC; s--) {
        const char *m = vgen_strerror(s);
        CHECK(m && m[0] && strcmp(m, "unknown error") != 0);
    }
    CHECK(strcmp(vgen_strerror(-999), "unknown error") == 0);
}

static void test_err_set_and_prefix(void) {
    vgen_err e;
    vgen_err_clear(&e);
    CHECK_EQ_INT(e.code, VGEN_OK);
    CHECK_EQ_INT(vgen_err_set(&e, VGEN_ERR_MALFORMED, "tensor %s: bad", "x"), VGEN_ERR_MALFORMED);
    CHECK_EQ_INT(vgen_err_prefix(&e, "%s", "a.safetensors"), VGEN_ERR_MALFORMED);
    CHECK(strcmp(e.msg, "a.safetensors: tensor x: bad") == 0);
    CHECK_EQ_INT(vgen_err_set(NULL, VGEN_ERR_IO, "ignored"), VGEN_ERR_IO);
    /* a message longer than the buffer is truncated, never overflows */
    char big[2 * VGEN_ERR_MSG_MAX];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    vgen_err_set(&e, VGEN_ERR_IO, "%s", big);
    CHECK_EQ_INT(strlen(e.msg), VGEN_ERR_MSG_MAX - 1);
    vgen_err_prefix(&e, "%s", big);
    CHECK_EQ_INT(strlen(e.msg), VGEN_ERR_MSG_MAX - 1);
}

static void test_checked_math(void) {
    uint64_t r = 0;
    CHECK(vgen_mul_u64(1ull << 32, 1ull << 31, &r) && r == 1ull << 63);
    CHECK(!vgen_mul_u64(1ull << 32, 1ull << 32, &r));
    CHECK(!vgen_add_u64(UINT64_MAX, 1, &r));
    int64_t dims[3] = {1 << 20, 1 << 20, 1 << 24};
    CHECK(!vgen_shape_numel(dims, 3, &r));
    int64_t neg[2] = {4, -1};
    CHECK(!vgen_shape_numel(neg, 2, &r));
    int64_t ok[2] = {3, 5};
    CHECK(vgen_shape_numel(ok, 2, &r) && r == 15);
}

static void test_tensor(void) {
    vgen_err e;
    vgen_tensor t;
    int64_t shape[3] = {2, 3, 4};
    CHECK_EQ_INT(vgen_tensor_alloc(&t, VGEN_DTYPE_BF16, 3, shape, &e), VGEN_OK);
    CHECK_EQ_INT(vgen_tensor_numel(&t), 24);
    CHECK_EQ_INT(vgen_tensor_bytes(&t), 48);
    CHECK(t.owner == VGEN_OWNER_HEAP && t.data);
    vgen_tensor_release(&t);
    CHECK(t.data == NULL);
    int64_t huge[2] = {INT64_MAX, 4};
    CHECK_EQ_INT(vgen_tensor_alloc(&t, VGEN_DTYPE_F32, 2, huge, &e), VGEN_ERR_SHAPE);
    CHECK_STR_CONTAINS(e.msg, "too large");
    CHECK_EQ_INT(vgen_tensor_view(&t, VGEN_DTYPE_F32, 6, shape, NULL, &e), VGEN_ERR_SHAPE);
    char buf[64];
    CHECK(strcmp(vgen_shape_str(shape, 3, buf, sizeof buf), "[2, 3, 4]") == 0);
}

static void test_arena(void) {
    vgen_err e;
    vgen_memstat stat = {0};
    vgen_arena *a = NULL;
    CHECK_EQ_INT(vgen_arena_new(1000, &stat, &a, &e), VGEN_OK);
    CHECK_EQ_INT(stat.current, 1000);
    void *p = vgen_arena_alloc(a, 10, 1);
    void *q = vgen_arena_alloc(a, 100, 64);
    CHECK(p && q && ((uintptr_t)q % 64) == 0);
    size_t mark = vgen_arena_mark(a);
    CHECK(vgen_arena_alloc(a, 2000, 8) == NULL); /* does not fit: NULL, nothing consumed */
    CHECK_EQ_INT(vgen_arena_used(a), mark);
    CHECK(vgen_arena_alloc(a, 500, 8) != NULL);
    size_t peak = vgen_arena_peak(a);
    vgen_arena_reset(a, mark);
    CHECK_EQ_INT(vgen_arena_used(a), mark);
    CHECK_EQ_INT(vgen_arena_peak(a), peak);
    CHECK(vgen_arena_alloc(a, 1, 3) == NULL);   /* alignment not a power of two */
    CHECK(vgen_arena_alloc(a, SIZE_MAX, 8) == NULL); /* overflow-safe */
    vgen_arena_free(&a);
    CHECK(a == NULL);
    CHECK_EQ_INT(stat.current, 0);
    CHECK_EQ_INT(stat.peak, 1000);

    void *h = vgen_tracked_malloc(&stat, 300);
    CHECK(h != NULL);
    CHECK_EQ_INT(stat.current, 300);
    vgen_tracked_free(&stat, h, 300);
    CHECK_EQ_INT(stat.current, 0);
}

typedef struct pool_job {
    atomic_int hits[1000];
    atomic_int threads_seen[64];
} pool_job;

static void pool_task(void *arg, int64_t i, int thread) {
    pool_job *j = arg;
    atomic_fetch_add(&j->hits[i], 1);
    if (thread >= 0 && thread < 64) atomic_fetch_add(&j->threads_seen[thread], 1);
}

static void test_threadpool(void) {
    vgen_err e;
    for (int n = 1; n <= 4; n++) {
        vgen_threadpool *pool = NULL;
        CHECK_EQ_INT(vgen_threadpool_new(n, &pool, &e), VGEN_OK);
        CHECK_EQ_INT(vgen_threadpool_size(pool), n);
        for (int round = 0; round < 50; round++) { /* many jobs in a row: no lost wake-ups */
            pool_job *j = calloc(1, sizeof *j);
            vgen_threadpool_for(pool, 1000, pool_task, j);
            int all_once = 1, total = 0;
            for (int i = 0; i < 1000; i++) all_once &= atomic_load(&j->hits[i]) == 1;
            for (int t = 0; t < 64; t++) {
                total += atomic_load(&j->threads_seen[t]);
                if (t >= n) all_once &= atomic_load(&j->threads_seen[t]) == 0;
            }
            CHECKF(all_once && total == 1000, "pool of %d, round %d", n, round);
            free(j);
        }
        vgen_threadpool_for(pool, 0, pool_task, NULL); /* no tasks: no call */
        vgen_threadpool_free(&pool);
        CHECK(pool == NULL);
    }
    pool_job *j = calloc(1, sizeof *j);
    vgen_threadpool_for(NULL, 10, pool_task, j); /* NULL pool runs serially */
    CHECK_EQ_INT(atomic_load(&j->hits[9]), 1);
    free(j);
    vgen_threadpool *pool = NULL;
    CHECK_EQ_INT(vgen_threadpool_new(0, &pool, &e), VGEN_OK); /* 0 = all cores */
    CHECK(vgen_threadpool_size(pool) >= 1);
    vgen_threadpool_free(&pool);
}

typedef struct log_capture {
    int calls;
    vgen_log_level last_level;
    char last[128];
} log_capture;

static void capture_log(vgen_log_level level, const char *msg, void *user_data) {
    log_capture *c = user_data;
    c->calls++;
    c->last_level = level;
    snprintf(c->last, sizeof c->last, "%s", msg);
}

static void test_logging(void) {
    log_capture cap = {0};
    vgen_logger lg = {capture_log, &cap, VGEN_LOG_WARN};
    VGEN_LOGI(&lg, "dropped %d", 1);
    CHECK_EQ_INT(cap.calls, 0);
    VGEN_LOGW(&lg, "kept %d", 2);
    CHECK_EQ_INT(cap.calls, 1);
    CHECK(strcmp(cap.last, "kept 2") == 0 && cap.last_level == VGEN_LOG_WARN);
    vgen_log(NULL, VGEN_LOG_ERROR, "no logger is fine");
}

static void test_context(void) {
    log_capture cap = {0};
    vgen_context_params p = vgen_context_params_init();
    CHECK_EQ_INT(p.log_level, VGEN_LOG_INFO);
    p.n_threads = 2;
    p.log = capture_log;
    p.log_user_data = &cap;
    vgen_context *ctx = NULL;
    CHECK_EQ_INT(vgen_context_new(&p, &ctx), VGEN_OK);
    CHECK(strcmp(vgen_context_last_error(ctx), "") == 0);
    vgen_model_file *f = NULL;
    CHECK_EQ_INT(vgen_model_file_open(ctx, "/nonexistent/x.safetensors", &f), VGEN_ERR_NOT_FOUND);
    CHECK(f == NULL);
    CHECK_STR_CONTAINS(vgen_context_last_error(ctx), "/nonexistent/x.safetensors");
    CHECK_EQ_INT(cap.calls, 1); /* the failure was logged once, at error level */
    CHECK_EQ_INT(cap.last_level, VGEN_LOG_ERROR);
    vgen_context_free(&ctx);
    CHECK(ctx == NULL);
    vgen_context_free(&ctx); /* double free through the NULLed pointer is harmless */
    CHECK(strcmp(vgen_version_string(), "0.1.0") == 0);
    CHECK_EQ_INT(vgen_version_number(), VGEN_VERSION_MAJOR * 10000 + VGEN_VERSION_MINOR * 100 + VGEN_VERSION_PATCH);
}

int main(void) {
    RUN(test_status_strings);
    RUN(test_err_set_and_prefix);
    RUN(test_checked_math);
    RUN(test_tensor);
    RUN(test_arena);
    RUN(test_threadpool);
    RUN(test_logging);
    RUN(test_context);
    return test_summary();
}

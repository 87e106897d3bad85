/* testutil.h - a minimal test harness: CHECK macros that count, and a summary line ctest users can read.
 * A test file defines test functions, lists them in main with RUN(fn), and returns test_summary(). */
#ifndef VGEN_TESTUTIL_H
#define VGEN_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int tu_passed __attribute__((unused)), tu_failed __attribute__((unused)),
    tu_current_failed __attribute__((unused));

#define CHECK(cond) CHECKF(cond, "%s", #cond)
#define CHECKF(cond, ...)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);                     \
            fprintf(stderr, __VA_ARGS__);                                              \
            fprintf(stderr, "\n");                                                     \
            tu_current_failed = 1;                                                     \
        }                                                                              \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                             \
    do {                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                          \
        CHECKF(va_ == vb_, "%s == %s (%lld vs %lld)", #a, #b, va_, vb_);               \
    } while (0)
#define CHECK_STR_CONTAINS(hay, needle)                                                \
    CHECKF(strstr((hay), (needle)) != NULL, "\"%s\" should contain \"%s\"", (hay), (needle))
#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        double va_ = (double)(a), vb_ = (double)(b);                                   \
        CHECKF(fabs(va_ - vb_) <= (tol), "%s ~ %s (%.9g vs %.9g, tol %.3g)", #a, #b, va_, vb_, (double)(tol)); \
    } while (0)

#define RUN(fn)                                                                        \
    do {                                                                               \
        tu_current_failed = 0;                                                         \
        fn();                                                                          \
        if (tu_current_failed) { tu_failed++; fprintf(stderr, "[FAIL] %s\n", #fn); }   \
        else { tu_passed++; printf("[ ok ] %s\n", #fn); }                              \
    } while (0)

static inline int test_summary(void) {
    printf("%d passed, %d failed\n", tu_passed, tu_failed);
    return tu_failed ? 1 : 0;
}

#endif

/* fixture.h - helpers for tests that compare with the reference fixtures (tests/fixtures, see its manifest.json):
 * open a fixture file, fetch a tensor by name with its dtype and element count checked, and compare arrays under
 * the manifest's tolerance classes. Header-only (static functions) so each test stays one translation unit. */
#ifndef VGEN_TEST_FIXTURE_H
#define VGEN_TEST_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "safetensors.h"

/* Opens VGEN_FIXTURES_DIR/rel; NULL (and a message on stderr) if it cannot. */
static inline vgen_st_set *fixture_open(const char *rel) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", VGEN_FIXTURES_DIR, rel);
    vgen_st_set *set = NULL;
    vgen_err err = {0};
    if (vgen_st_open(path, &set, &err) != 0) {
        fprintf(stderr, "cannot open fixture %s: %s\n", path, err.msg);
        return NULL;
    }
    return set;
}

/* The tensor `name` if it exists with dtype `dtype`; its element count in *numel. NULL (with a message) otherwise. */
static inline const void *fixture_tensor(const vgen_st_set *set, const char *name, vgen_st_dtype dtype,
                                         size_t *numel) {
    const vgen_st_tensor *t = set ? vgen_st_find(set, name) : NULL;
    if (!t || t->dtype != dtype) {
        fprintf(stderr, "fixture tensor %s: %s\n", name, t ? "unexpected dtype" : "missing");
        return NULL;
    }
    *numel = (size_t)(t->n_bytes / vgen_st_dtype_size(dtype));
    return t->data;
}

typedef struct fixture_diff {
    double max_abs;    /* max |got - ref| */
    double ref_max;    /* max |ref| */
    double cosine;
} fixture_diff;

static inline fixture_diff fixture_compare(const float *got, const float *ref, size_t n) {
    fixture_diff d = {0, 0, 1};
    double dot = 0, ng = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)ref[i]);
        if (!(e <= d.max_abs)) d.max_abs = e; /* NaN propagates */
        if (fabs(ref[i]) > d.ref_max) d.ref_max = fabs(ref[i]);
        dot += (double)got[i] * ref[i], ng += (double)got[i] * got[i], nr += (double)ref[i] * ref[i];
    }
    d.cosine = (ng > 0 && nr > 0) ? dot / sqrt(ng * nr) : (ng == nr ? 1.0 : 0.0);
    return d;
}

/* The manifest's tolerance classes. */
static inline int fixture_within_f32(fixture_diff d) {
    return d.max_abs <= 1e-4 * fmax(1.0, d.ref_max) && d.cosine >= 0.99999;
}
static inline int fixture_within_bf16(fixture_diff d) {
    return d.max_abs <= 3e-2 * fmax(1.0, d.ref_max) && d.cosine >= 0.999;
}

#endif

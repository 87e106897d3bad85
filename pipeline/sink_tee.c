/* sink_tee.c - one sink feeding several: each frame is converted once (by the base) and handed to every member.
 * Any member's failure fails the tee, and the base then aborts every member. finish prepares all members (flush,
 * trailer, fsync) before renaming any, so a late failure (full disk at the mp4 trailer) leaves no partial set;
 * only a rename failure after others succeeded can leave some outputs in place (the message says which failed). */
#include <stdlib.h>
#include <string.h>

#include "sink_impl.h"

typedef struct tee_sink {
    vgen_sink **members;
    size_t n;
} tee_sink;

static int tee_send(void *impl, const uint8_t *rgb24, int64_t index, vgen_err *err) {
    tee_sink *t = impl;
    for (size_t i = 0; i < t->n; i++) {
        int rc = t->members[i]->ops->send(t->members[i]->impl, rgb24, index, err);
        if (rc) return rc;
    }
    return VGEN_OK;
}

static int tee_set_metadata(void *impl, const char *json, vgen_err *err) {
    tee_sink *t = impl;
    for (size_t i = 0; i < t->n; i++) {
        const vgen_sink_ops *ops = t->members[i]->ops;
        int rc = ops->set_metadata ? ops->set_metadata(t->members[i]->impl, json, err) : VGEN_OK;
        if (rc) return rc;
    }
    return VGEN_OK;
}

static int tee_prepare(void *impl, vgen_err *err) {
    tee_sink *t = impl;
    for (size_t i = 0; i < t->n; i++) {
        int rc = t->members[i]->ops->prepare(t->members[i]->impl, err);
        if (rc) return rc;
    }
    return VGEN_OK;
}

static int tee_commit(void *impl, vgen_err *err) {
    tee_sink *t = impl;
    for (size_t i = 0; i < t->n; i++) {
        int rc = t->members[i]->ops->commit(t->members[i]->impl, err);
        if (rc && i > 0)
            vgen_err_prefix(err, "%zu of %zu outputs were already renamed into place, the rest are removed", i, t->n);
        if (rc) return rc;
    }
    return VGEN_OK;
}

static void tee_abort(void *impl) {
    tee_sink *t = impl;
    for (size_t i = 0; i < t->n; i++) t->members[i]->ops->abort(t->members[i]->impl);
}

static void tee_destroy(void *impl) {
    tee_sink *t = impl;
    for (size_t i = 0; i < t->n; i++) vgen_sink_abort(&t->members[i]);
    free(t->members);
    free(t);
}

static const vgen_sink_ops tee_ops = {"tee", tee_send, tee_set_metadata, tee_prepare, tee_commit, tee_abort,
                                      tee_destroy};

/* All members present and of one size; one declared frame count (0 = unknown) among them. */
static int check_members(vgen_sink *const *sinks, size_t n, int64_t *n_frames, vgen_err *err) {
    *n_frames = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sinks[i]) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tee sink: member %zu is NULL", i);
        if (sinks[i]->width != sinks[0]->width || sinks[i]->height != sinks[0]->height)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tee sink: %s is %dx%d but %s is %dx%d",
                                sinks[i]->label, sinks[i]->width, sinks[i]->height, sinks[0]->label, sinks[0]->width,
                                sinks[0]->height);
        int64_t k = sinks[i]->n_expected;
        if (k && *n_frames && k != *n_frames)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tee sink: %s expects %lld frames, another %lld",
                                sinks[i]->label, (long long)k, (long long)*n_frames);
        if (k) *n_frames = k;
    }
    return VGEN_OK;
}

static void abort_all(vgen_sink *const *sinks, size_t n) {
    for (size_t i = 0; sinks && i < n; i++) {
        vgen_sink *s = sinks[i];
        vgen_sink_abort(&s);
    }
}

int vgen_sink_tee_open(vgen_sink *const *sinks, size_t n, vgen_sink **out, vgen_err *err) {
    int64_t n_frames = 0;
    int rc = VGEN_OK;
    if (!out || !sinks || n == 0) rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tee sink: no members");
    if (!rc) rc = check_members(sinks, n, &n_frames, err);
    tee_sink *t = rc ? NULL : calloc(1, sizeof *t);
    if (t) t->members = malloc(n * sizeof *t->members);
    if (!rc && (!t || !t->members)) rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "tee sink: out of memory");
    if (out) *out = NULL;
    if (rc) {
        if (t) free(t->members);
        free(t);
        abort_all(sinks, n);
        return rc;
    }
    memcpy(t->members, sinks, n * sizeof *sinks);
    t->n = n;
    vgen_sink_params p = vgen_sink_params_init();
    p.path = "tee";
    p.width = sinks[0]->width;
    p.height = sinks[0]->height;
    p.n_frames = n_frames;
    return vgen_sink_wrap(&tee_ops, t, &p, out, err);
}

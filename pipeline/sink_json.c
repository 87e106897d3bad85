/* sink_json.c - the JSON sink: writes the metadata text (the run record, record_json.h) to its path, atomically,
 * at finish. It takes no interest in the frames; it exists so that a tee finishes the record together with the
 * video (same text as the mp4 comment tag) and removes it with the rest on failure. */
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "sink_impl.h"

typedef struct json_sink {
    vgen_atomic_file file;
    char *path;
    char *text;  /* NULL until given */
} json_sink;

static int json_send(void *impl, const uint8_t *rgb24, int64_t index, vgen_err *err) {
    (void)impl;
    (void)rgb24;
    (void)index;
    (void)err;
    return VGEN_OK;
}

static int json_set_metadata(void *impl, const char *json, vgen_err *err) {
    json_sink *s = impl;
    char *copy = NULL;
    int rc = vgen_sink_strdup(json, &copy, err);
    if (rc) return rc;
    free(s->text);
    s->text = copy;
    return VGEN_OK;
}

/* Writes the text (with a final newline) to the temporary file (created at open, so that an unwritable
 * directory shows before the frames are computed) and fsyncs it. */
static int json_prepare(void *impl, vgen_err *err) {
    json_sink *s = impl;
    if (!s->text)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: no record was given (vgen_sink_set_metadata)",
                            s->path);
    size_t n = strlen(s->text);
    int rc = vgen_atomic_write(&s->file, s->text, n, err);
    if (!rc && (n == 0 || s->text[n - 1] != '\n')) rc = vgen_atomic_write(&s->file, "\n", 1, err);
    if (!rc) rc = vgen_atomic_prepare(&s->file, err);
    if (rc) vgen_atomic_abort(&s->file);
    return rc;
}

static int json_commit(void *impl, vgen_err *err) { return vgen_atomic_commit(&((json_sink *)impl)->file, err); }

static void json_abort(void *impl) { vgen_atomic_abort(&((json_sink *)impl)->file); }

static void json_destroy(void *impl) {
    json_sink *s = impl;
    json_abort(s);
    free(s->text);
    free(s->path);
    free(s);
}

static const vgen_sink_ops json_ops = {"json", json_send, json_set_metadata, json_prepare, json_commit, json_abort,
                                       json_destroy};

int vgen_sink_json_open(const vgen_sink_params *p, vgen_sink **out, vgen_err *err) {
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_sink_json_open: NULL output");
    *out = NULL;
    int rc = vgen_sink_check_params(p, "json", err);
    if (rc) return rc;
    json_sink *s = calloc(1, sizeof *s);
    if (!s) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", p->path);
    s->file = vgen_atomic_file_none();
    rc = vgen_sink_strdup(p->path, &s->path, err);
    if (!rc) rc = vgen_sink_strdup(p->metadata, &s->text, err);
    if (!rc) rc = vgen_atomic_open(&s->file, p->path, err);
    if (rc) {
        json_destroy(s);
        return rc;
    }
    return vgen_sink_wrap(&json_ops, s, p, out, err);
}

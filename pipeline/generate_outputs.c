/* generate_outputs.c - the outputs of a run: the mp4, the PNG folder and the JSON record as one tee of sinks
 * (sink.h). They are opened before the text encoder runs, so an output that cannot be created fails the run before
 * any model work; they receive each frame as the VAE emits it; the record (with the timings) is set just before
 * finish, which renames everything into place together. On failure or abort every temporary file is removed. */
#include <stdlib.h>

#include "generate.h"

typedef int (*sink_open_fn)(const vgen_sink_params *p, vgen_sink **out, vgen_err *err);

static vgen_sink_params base_params(const vgen_run *r, const char *path) {
    vgen_sink_params sp = vgen_sink_params_init();
    sp.path = path;
    sp.width = r->p.width;
    sp.height = r->p.height;
    sp.fps_num = r->p.fps;
    sp.fps_den = 1;
    sp.n_frames = r->p.frames;
    sp.log = r->log;
    sp.crf = r->p.crf;
    return sp;
}

int vgen_run_open_outputs(vgen_run *r) {
    const char *paths[3] = {r->p.output, r->p.png_dir, r->p.json};
    const sink_open_fn open[3] = {vgen_sink_mp4_open, vgen_sink_png_open, vgen_sink_json_open};
    vgen_sink *members[3] = {NULL, NULL, NULL};
    size_t n = 0;
    int rc = VGEN_OK;
    for (int i = 0; i < 3 && !rc; i++) {
        if (!paths[i]) continue;
        vgen_sink_params sp = base_params(r, paths[i]);
        rc = open[i](&sp, &members[n], r->err);
        if (!rc) n++;
    }
    if (rc) {
        for (size_t i = 0; i < n; i++) vgen_sink_abort(&members[i]);
        return rc;
    }
    return n ? vgen_sink_tee_open(members, n, &r->sink, r->err) : VGEN_OK;
}

int vgen_run_finish_outputs(vgen_run *r) {
    if (!r->sink) return VGEN_OK;
    char *json = NULL;
    int rc = vgen_run_record_text(r, &json, r->err);
    if (!rc) rc = vgen_sink_set_metadata(r->sink, json, r->err);
    free(json);
    if (rc) {
        vgen_sink_abort(&r->sink);
        return rc;
    }
    return vgen_sink_finish(&r->sink, r->err);
}

void vgen_run_abort_outputs(vgen_run *r) { vgen_sink_abort(&r->sink); }

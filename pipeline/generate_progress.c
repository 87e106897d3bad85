/* generate_progress.c - phase timing, progress reports (phase, units done, it/s, ETA), the abort check, and the
 * per-run loading of components the preset frees after use. */
#include <stdio.h>
#include <time.h>

#include "generate.h"

double vgen_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *vgen_phase_name(vgen_phase phase) {
    static const char *const names[VGEN_PHASE_COUNT] = {"load", "text_encoder", "denoise", "vae_decode"};
    return (phase >= 0 && phase < VGEN_PHASE_COUNT) ? names[phase] : "?";
}

static void report(vgen_run *r, int64_t done) {
    r->phase_done = done;
    if (!r->p.progress) return;
    vgen_progress_info info = {.phase = r->phase, .done = done, .total = r->phase_total, .eta_s = -1.0};
    info.elapsed_s = vgen_now_s() - r->phase_t0;
    if (done > 0 && info.elapsed_s > 0) {
        info.rate = (double)done / info.elapsed_s;
        info.eta_s = (double)(r->phase_total - done) / info.rate;
    }
    r->p.progress(&info, r->p.progress_user_data);
}

void vgen_run_phase_begin(vgen_run *r, vgen_phase phase, int64_t total) {
    r->phase = phase;
    r->phase_total = total;
    r->phase_t0 = vgen_now_s();
    report(r, 0);
}

void vgen_run_progress(vgen_run *r, int64_t done) { report(r, done); }

void vgen_run_phase_end(vgen_run *r) {
    const double dt = vgen_now_s() - r->phase_t0;
    r->seconds[r->phase] += dt;
    if (r->phase_done != r->phase_total) report(r, r->phase_total);
    VGEN_LOGI(&r->log, "%s: %.3f s", vgen_phase_name(r->phase), dt);
}

int vgen_run_abort_cb(void *run) {
    const vgen_run *r = run;
    return r->p.abort && r->p.abort(r->p.abort_user_data);
}

int vgen_run_check_abort(vgen_run *r, const char *where) {
    if (!vgen_run_abort_cb(r)) return VGEN_OK;
    return vgen_err_set(r->err, VGEN_ERR_ABORTED, "generation aborted %s", where);
}

void vgen_run_note_component(vgen_run *r, vgen_component c, const vgen_part *part) {
    snprintf(r->comp[c].weights, sizeof r->comp[c].weights, "%s", part->weights);
    snprintf(r->comp[c].compute, sizeof r->comp[c].compute, "%s", part->compute);
}

int vgen_run_load_part(vgen_run *r, vgen_component c) {
    const vgen_part **slot = c == VGEN_COMPONENT_DIT ? &r->dit : &r->vae;
    vgen_part **own = c == VGEN_COMPONENT_DIT ? &r->dit_own : &r->vae_own;
    *slot = c == VGEN_COMPONENT_DIT ? r->model->dit : r->model->vae;
    int rc = VGEN_OK;
    if (!*slot) {
        rc = vgen_run_check_abort(r, "before loading a component");
        if (!rc) vgen_run_phase_begin(r, VGEN_PHASE_LOAD, 1);
        if (!rc) rc = vgen_model_load_part(r->model, c, r->ctx->pool, &r->log, own, r->err);
        if (rc) return rc;
        *slot = *own;
        vgen_run_phase_end(r);
    }
    vgen_run_note_component(r, c, *slot);
    return VGEN_OK;
}

/* plan_advice.c - for a plan over budget: what exceeds which budget, and the smallest single change that fits,
 * tried in this order (each keeps more of what was asked than the next): a lower-precision DiT format, the text
 * encoder on the CPU, more block streaming, the DiT freed after denoising, fewer frames, a smaller size. */
#include <stdio.h>
#include <string.h>

#include "plan.h"

typedef struct trial {
    vgen_preset p;
    vgen_plan_request q;
    char what[128];
} trial;

static int fits(const vgen_model *m, const trial *t) {
    vgen_plan pl;
    vgen_err e = {0};
    return vgen_plan_compute(m, &t->p, &t->q, &pl, &e) == VGEN_OK && pl.fits;
}

static size_t format_bytes(vgen_wformat f) {
    size_t b = 0;
    vgen_wformat_data_bytes(f, 4096, 4096, &b);
    return b;
}

/* A DiT weight format smaller than the preset's: the largest one that fits. */
static int try_format(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, trial *t) {
    const vgen_wformat order[] = {VGEN_WF_BF16, VGEN_WF_INT8_ROW, VGEN_WF_INT4_G64};
    const char *names[] = {"bf16", "int8", "int4"};
    const size_t now = format_bytes(p->components[VGEN_COMPONENT_DIT].weights);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (format_bytes(order[i]) >= now) continue;
        *t = (trial){.p = *p, .q = *q};
        t->p.components[VGEN_COMPONENT_DIT].weights = order[i];
        snprintf(t->what, sizeof t->what, "DiT weights %s (preset: \"dit\": {\"weights\": \"%s\"})", names[i],
                 names[i]);
        if (fits(m, t)) return 1;
    }
    return 0;
}

static int try_text_on_cpu(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, trial *t) {
    if (p->components[VGEN_COMPONENT_TEXT_ENCODER].device != VGEN_DEVICE_CUDA) return 0;
    *t = (trial){.p = *p, .q = *q};
    t->p.components[VGEN_COMPONENT_TEXT_ENCODER].device = VGEN_DEVICE_CPU;
    snprintf(t->what, sizeof t->what, "the text encoder on the CPU (\"text_encoder\": {\"device\": \"cpu\"})");
    return fits(m, t);
}

/* Block streaming of the DiT with the most resident blocks that fit. */
static int try_stream(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, trial *t) {
    const vgen_component_plan *d = &p->components[VGEN_COMPONENT_DIT];
    if (d->device != VGEN_DEVICE_CUDA) return 0;
    const int start = d->offload == VGEN_OFFLOAD_STREAM ? d->resident_blocks - 1 : 64;
    for (int n = start; n >= 1; n--) {
        *t = (trial){.p = *p, .q = *q};
        t->p.components[VGEN_COMPONENT_DIT].offload = VGEN_OFFLOAD_STREAM;
        t->p.components[VGEN_COMPONENT_DIT].resident_blocks = n;
        snprintf(t->what, sizeof t->what, "DiT block streaming with %d resident blocks (\"dit\": {\"offload\": "
                 "\"stream\", \"resident_blocks\": %d})", n, n);
        if (fits(m, t)) return 1;
    }
    return 0;
}

static int try_free_dit(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, trial *t) {
    if (p->components[VGEN_COMPONENT_DIT].offload != VGEN_OFFLOAD_KEEP) return 0;
    *t = (trial){.p = *p, .q = *q};
    t->p.components[VGEN_COMPONENT_DIT].offload = VGEN_OFFLOAD_FREE_AFTER_USE;
    snprintf(t->what, sizeof t->what, "the DiT freed after denoising (\"dit\": {\"offload\": \"free_after_use\"})");
    return fits(m, t);
}

static int try_frames(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, trial *t) {
    const int step = m->family->temporal_factor;
    for (int f = q->frames - step; f >= 1; f -= step) {
        *t = (trial){.p = *p, .q = *q};
        t->q.frames = f;
        snprintf(t->what, sizeof t->what, "--frames %d", f);
        if (fits(m, t)) return 1;
    }
    return 0;
}

/* The largest size of the same aspect (both sides multiples of the family's) that fits. */
static int try_size(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, trial *t) {
    const int k = m->family->size_multiple;
    for (int w = q->width - k; w >= k; w -= k) {
        int h = (int)((double)q->height * w / q->width / k + 0.5) * k;
        if (h < k) h = k;
        *t = (trial){.p = *p, .q = *q};
        t->q.width = w, t->q.height = h;
        snprintf(t->what, sizeof t->what, "--size %dx%d", w, h);
        if (fits(m, t)) return 1;
    }
    return 0;
}

static void describe_excess(const vgen_plan *pl, char *buf, size_t size) {
    const double gib = 1073741824.0;
    if (pl->device_budget && pl->device_peak > pl->device_budget)
        snprintf(buf, size, "device peak %.2f GiB exceeds the budget of %.2f GiB", pl->device_peak / gib,
                 pl->device_budget / gib);
    else
        snprintf(buf, size, "host peak %.2f GiB exceeds the budget of %.2f GiB", pl->host_peak / gib,
                 pl->host_budget / gib);
}

int vgen_plan_advise(const vgen_model *m, const vgen_preset *p, const vgen_plan_request *q, vgen_plan *out,
                     vgen_err *err) {
    (void)err;
    char excess[160];
    describe_excess(out, excess, sizeof excess);
    int (*const tries[])(const vgen_model *, const vgen_preset *, const vgen_plan_request *, trial *) = {
        try_format, try_text_on_cpu, try_stream, try_free_dit, try_frames, try_size};
    trial t;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        if (tries[i](m, p, q, &t)) {
            snprintf(out->summary, sizeof out->summary, "%s; the smallest change that fits: %s", excess, t.what);
            return VGEN_OK;
        }
    }
    snprintf(out->summary, sizeof out->summary, "%s; no single change fits (try a smaller size, fewer frames and "
             "lower-precision weights together, or a larger budget)", excess);
    return VGEN_OK;
}

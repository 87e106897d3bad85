/* sink.c - the frame-sink base: argument checks, frame counting, float -> 8-bit conversion, sticky errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "sink_impl.h"

vgen_sink_params vgen_sink_params_init(void) {
    vgen_sink_params p;
    memset(&p, 0, sizeof p);
    p.fps_num = 16;
    p.fps_den = 1;
    p.crf = 18;
    p.preset = "medium";
    p.log.level = VGEN_LOG_INFO;
    return p;
}

int vgen_sink_check_params(const vgen_sink_params *p, const char *kind, vgen_err *err) {
    if (!p || !p->path || !*p->path)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s sink: no output path", kind);
    if (p->width < 1 || p->height < 1 || p->width > VGEN_SINK_MAX_SIDE || p->height > VGEN_SINK_MAX_SIDE)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: frame size %dx%d is not within 1..%d", p->path,
                            p->width, p->height, VGEN_SINK_MAX_SIDE);
    if (p->fps_num < 1 || p->fps_den < 1)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: frame rate %d/%d must be positive", p->path,
                            p->fps_num, p->fps_den);
    if (p->n_frames < 0)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: frame count %lld is negative", p->path,
                            (long long)p->n_frames);
    if (p->crf < 0 || p->crf > 51)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: crf %d is not within 0..51", p->path, p->crf);
    return VGEN_OK;
}

int vgen_sink_strdup(const char *s, char **out, vgen_err *err) {
    *out = NULL;
    if (!s) return VGEN_OK;
    *out = strdup(s);
    return *out ? VGEN_OK : vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory copying %zu bytes", strlen(s));
}

int vgen_sink_wrap(const vgen_sink_ops *ops, void *impl, const vgen_sink_params *p, vgen_sink **out,
                   vgen_err *err) {
    vgen_sink *s = calloc(1, sizeof *s);
    if (!s) {
        ops->abort(impl);
        ops->destroy(impl);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", p->path);
    }
    s->ops = ops;
    s->impl = impl;
    s->width = p->width;
    s->height = p->height;
    s->n_expected = p->n_frames;
    snprintf(s->label, sizeof s->label, "%s", p->path);
    *out = s;
    return VGEN_OK;
}

static inline uint8_t to_u8(float x) {
    if (!(x > 0.0f)) return 0;
    if (x >= 1.0f) return 255;
    return (uint8_t)(x * 255.0f + 0.5f);
}

int vgen_sink_float_to_rgb24(const float *rgb, int width, int height, uint8_t *rgb24, size_t *bad) {
    size_t plane = (size_t)width * (size_t)height;
    for (int c = 0; c < 3; c++) {
        const float *src = rgb + (size_t)c * plane;
        for (size_t i = 0; i < plane; i++) {
            if (!isfinite(src[i])) {
                *bad = (size_t)c * plane + i;
                return VGEN_ERR_NUMERIC;
            }
            rgb24[3 * i + (size_t)c] = to_u8(src[i]);
        }
    }
    return VGEN_OK;
}

/* Records the error just set in err as the sink's first and removes its temporaries. */
static int sink_fail(vgen_sink *s, int rc, const vgen_err *err) {
    s->failed.code = rc;
    snprintf(s->failed.msg, sizeof s->failed.msg, "%s", err ? err->msg : "a frame sink call failed");
    s->ops->abort(s->impl);
    return rc;
}

static int sink_repeat_failure(const vgen_sink *s, vgen_err *err) {
    return vgen_err_set(err, s->failed.code, "%s", s->failed.msg);
}

/* The conversion buffer, allocated at the first frame. */
static int sink_buffer(vgen_sink *s, vgen_err *err) {
    if (s->rgb24) return VGEN_OK;
    size_t n = 0;
    if (!vgen_mul_size((size_t)s->width * (size_t)s->height, 3, &n) || !(s->rgb24 = malloc(n)))
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory for a %dx%d frame", s->label, s->width,
                            s->height);
    return VGEN_OK;
}

static int sink_convert(vgen_sink *s, const float *rgb, vgen_err *err) {
    size_t bad = 0, plane = (size_t)s->width * (size_t)s->height;
    if (vgen_sink_float_to_rgb24(rgb, s->width, s->height, s->rgb24, &bad) == VGEN_OK) return VGEN_OK;
    size_t in_plane = bad % plane;
    return vgen_err_set(err, VGEN_ERR_NUMERIC, "%s: frame %lld has a NaN or Inf at channel %zu, y %zu, x %zu",
                        s->label, (long long)s->n_sent, bad / plane, in_plane / (size_t)s->width,
                        in_plane % (size_t)s->width);
}

int vgen_sink_send_frame(vgen_sink *s, const float *rgb, vgen_err *err) {
    if (!s || !rgb) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_sink_send_frame: NULL argument");
    if (s->failed.code != VGEN_OK) return sink_repeat_failure(s, err);
    int rc = VGEN_OK;
    if (s->n_expected && s->n_sent >= s->n_expected)
        rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: frame %lld is beyond the %lld frames declared",
                          s->label, (long long)s->n_sent, (long long)s->n_expected);
    if (!rc) rc = sink_buffer(s, err);
    if (!rc) rc = sink_convert(s, rgb, err);
    if (!rc) rc = s->ops->send(s->impl, s->rgb24, s->n_sent, err);
    if (rc) return sink_fail(s, rc, err);
    s->n_sent++;
    return VGEN_OK;
}

int vgen_sink_set_metadata(vgen_sink *s, const char *json, vgen_err *err) {
    if (!s || !json) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_sink_set_metadata: NULL argument");
    if (s->failed.code != VGEN_OK) return sink_repeat_failure(s, err);
    if (!s->ops->set_metadata) return VGEN_OK;
    int rc = s->ops->set_metadata(s->impl, json, err);
    return rc ? sink_fail(s, rc, err) : VGEN_OK;
}

int64_t vgen_sink_frame_count(const vgen_sink *s) { return s ? s->n_sent : 0; }

static void sink_free(vgen_sink *s) {
    s->ops->destroy(s->impl);
    free(s->rgb24);
    free(s);
}

static int sink_complete(vgen_sink *s, vgen_err *err) {
    if (s->failed.code != VGEN_OK) return sink_repeat_failure(s, err);
    if (s->n_sent == 0) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: no frames were sent", s->label);
    if (s->n_expected && s->n_sent != s->n_expected)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: only %lld of the %lld frames declared were sent",
                            s->label, (long long)s->n_sent, (long long)s->n_expected);
    return VGEN_OK;
}

int vgen_sink_finish(vgen_sink **sp, vgen_err *err) {
    if (!sp || !*sp) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_sink_finish: NULL sink");
    vgen_sink *s = *sp;
    *sp = NULL;
    int rc = sink_complete(s, err);
    if (!rc) rc = s->ops->prepare(s->impl, err);
    if (!rc) rc = s->ops->commit(s->impl, err);
    if (rc) s->ops->abort(s->impl);
    sink_free(s);
    return rc;
}

void vgen_sink_abort(vgen_sink **sp) {
    if (!sp || !*sp) return;
    (*sp)->ops->abort((*sp)->impl);
    sink_free(*sp);
    *sp = NULL;
}

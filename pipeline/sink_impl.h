/* sink_impl.h - what a sink implementation provides (sink_mp4.c, sink_png.c, sink_json.c, sink_tee.c) and the
 * shared base object of sink.c. Not for callers of sinks: they use sink.h. */
#ifndef VGEN_PIPELINE_SINK_IMPL_H
#define VGEN_PIPELINE_SINK_IMPL_H

#include "sink.h"

/* The operations of one kind of sink. The base (sink.c) checks arguments, counts frames, converts the float
 * frame to packed 8-bit RGB once, keeps the first error, and calls abort after any failure. */
typedef struct vgen_sink_ops {
    const char *kind; /* "mp4", "png", "json", "tee" */
    /* rgb24: packed [H, W, 3] uint8, rows top to bottom; index: 0-based frame number. */
    int (*send)(void *impl, const uint8_t *rgb24, int64_t index, vgen_err *err);
    /* NULL: the sink has no use for metadata. json: NULL-terminated, copied. */
    int (*set_metadata)(void *impl, const char *json, vgen_err *err);
    /* Everything that can fail short of the rename: flush the encoder, write the trailer, fsync. */
    int (*prepare)(void *impl, vgen_err *err);
    /* Rename into place. After a successful commit, abort removes nothing. */
    int (*commit)(void *impl, vgen_err *err);
    /* Removes temporaries and whatever the sink created; releases heavy resources. Idempotent. */
    void (*abort)(void *impl);
    /* Frees the memory (after commit or abort). */
    void (*destroy)(void *impl);
} vgen_sink_ops;

struct vgen_sink {
    const vgen_sink_ops *ops;
    void *impl;
    int width, height;
    int64_t n_expected;  /* 0 = unknown */
    int64_t n_sent;
    uint8_t *rgb24;      /* [H, W, 3], allocated at the first frame */
    vgen_err failed;     /* the first error; code VGEN_OK while healthy */
    char label[160];     /* for messages: the output path, or "tee" */
};

/* Checks what every sink needs: a path, 1 <= width, height <= VGEN_SINK_MAX_SIDE, fps > 0, n_frames >= 0,
 * crf in [0, 51]. */
#define VGEN_SINK_MAX_SIDE 16384
int vgen_sink_check_params(const vgen_sink_params *p, const char *kind, vgen_err *err);

/* Wraps an implementation in a base object. On failure (out of memory) impl is aborted and destroyed. */
int vgen_sink_wrap(const vgen_sink_ops *ops, void *impl, const vgen_sink_params *p, vgen_sink **out,
                   vgen_err *err);

/* Converts one frame: rgb float [3, H, W] -> rgb24 [H, W, 3] (round(255 x), clamped). Returns VGEN_OK, or
 * VGEN_ERR_NUMERIC with *bad the index of the first NaN/Inf in rgb. */
int vgen_sink_float_to_rgb24(const float *rgb, int width, int height, uint8_t *rgb24, size_t *bad);

/* strdup that sets err on failure; s NULL gives NULL without error. */
int vgen_sink_strdup(const char *s, char **out, vgen_err *err);

#endif

/* sink.h - frame sinks: where the frames decoded by the VAE go (DESIGN.md section 1).
 *
 * A sink is opened with the clip's geometry, fed one frame at a time as the VAE produces it, and then either
 * finished (flush, fsync, rename into place) or aborted (every temporary and every file it created removed).
 * The life cycle follows FFmpeg's send/receive encode loop:
 *
 *     vgen_sink *s;  vgen_sink_mp4_open(&p, &s, err);
 *     for each frame:  vgen_sink_send_frame(s, rgb, err);       (rgb: float [3, H, W] in [0, 1])
 *     vgen_sink_set_metadata(s, record_json, err);               (optional, any time before finish)
 *     vgen_sink_finish(&s, err)     or     vgen_sink_abort(&s);
 *
 * Input frame: the one canonical layout the VAE produces, float32 RGB, channel-first [3, H, W] (planes R, G, B,
 * rows top to bottom), contiguous, nominal range [0, 1]. Values outside are clamped; NaN or Inf is an error
 * (VGEN_ERR_NUMERIC). The sinks convert to 8 bits (round(255 x)) once per frame.
 *
 * Failure: the first error of any call is sticky. The sink removes its temporaries at once, later calls return
 * the same code and message, and finish/abort only free it. Messages name the file at fault. finish and abort
 * always free the sink and set the pointer to NULL.
 *
 * Sinks (one concern per file):
 *   sink_mp4.c   H.264 (libx264, CRF) in mp4, fallback encoders, the JSON record as the "comment" tag
 *   sink_png.c   a directory of frame_00000.png, ... 8-bit RGB, each written atomically
 *   sink_json.c  the JSON record beside the video (ignores the frames)
 *   sink_tee.c   several sinks fed together; a failure in any aborts all
 * Nothing here touches global state (FFmpeg's av_log callback and level are left alone). */
#ifndef VGEN_PIPELINE_SINK_H
#define VGEN_PIPELINE_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "log.h"

typedef struct vgen_sink vgen_sink;

#define VGEN_SINK_DEFAULT_ENCODERS "libx264,libopenh264,mpeg4"

typedef struct vgen_sink_params {
    const char *path;       /* mp4/json: the output file; png: the output directory (created if missing) */
    int width, height;      /* pixels; mp4 needs both even (yuv420p) */
    int fps_num, fps_den;   /* frame rate as a rational, e.g. 16/1 (Wan2.1) */
    int64_t n_frames;       /* frames that will be sent, 0 = unknown. When set, more is refused and finish
                               refuses fewer. */
    const char *metadata;   /* JSON text of the run record (record_json.h): the mp4 "comment" tag and the
                               contents of the json sink. May be NULL; vgen_sink_set_metadata replaces it. */
    vgen_logger log;        /* warnings (encoder fallback) and information; fn NULL = silent */
    /* mp4 only */
    const char *encoders;   /* comma-separated preference list of FFmpeg encoder names, first usable wins;
                               NULL or "" = VGEN_SINK_DEFAULT_ENCODERS */
    int crf;                /* quality, 0 (lossless) .. 51; default 18 (libx264 crf; mapped for the others) */
    const char *preset;     /* libx264 preset ("ultrafast" .. "veryslow"); default "medium" */
} vgen_sink_params;

/* Defaults: 16/1 fps, n_frames 0, crf 18, preset "medium", encoders NULL (= the default list), no log. */
vgen_sink_params vgen_sink_params_init(void);

/* Constructors: validate the params, create the temporary output, and return a sink ready for frames. */
int vgen_sink_mp4_open(const vgen_sink_params *p, vgen_sink **out, vgen_err *err);
int vgen_sink_png_open(const vgen_sink_params *p, vgen_sink **out, vgen_err *err);
int vgen_sink_json_open(const vgen_sink_params *p, vgen_sink **out, vgen_err *err);

/* A sink feeding sinks[0..n) (all of one width and height). It takes ownership of every sink passed, also on
 * failure (they are then aborted). finish makes every member durable first, then renames them all. */
int vgen_sink_tee_open(vgen_sink *const *sinks, size_t n, vgen_sink **out, vgen_err *err);

/* rgb: float [3, H, W], see above. */
int vgen_sink_send_frame(vgen_sink *s, const float *rgb, vgen_err *err);

/* Replaces the JSON text (mp4 comment tag, json file) that finish will write. Copied. */
int vgen_sink_set_metadata(vgen_sink *s, const char *json, vgen_err *err);

/* Frames accepted so far. */
int64_t vgen_sink_frame_count(const vgen_sink *s);

/* Flushes, fsyncs and renames the outputs into place, then frees *s. On any failure everything is removed. */
int vgen_sink_finish(vgen_sink **s, vgen_err *err);

/* Removes the temporaries and anything the sink created, then frees *s. NULL or *s NULL: nothing. */
void vgen_sink_abort(vgen_sink **s);

#endif

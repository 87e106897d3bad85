/* sink_mp4_enc.h - choosing and opening the video encoder of the mp4 sink.
 *
 * The params' encoder list (default "libx264,libopenh264,mpeg4") is tried in order; an encoder is usable when
 * this FFmpeg build has it, it is a video encoder taking yuv420p, the container can hold its codec, and
 * avcodec_open2 accepts the settings. Each one skipped is logged as a warning with the reason; if none is
 * usable the error lists every reason.
 *
 * Settings: yuv420p, limited range, BT.709 matrix/primaries/transfer tags, time base = 1/fps, automatic
 * threads. Quality: encoders with a "crf" option (libx264, libx265, ...) get crf and, when they have one, the
 * preset; others get a constant quantizer q = clamp(1 + crf / 6, 2, 31) (mpeg4: crf 18 -> q 4) and a bit-rate
 * target of 0.1 * 2^((23 - crf) / 6) bits per pixel (for rate-controlled ones such as libopenh264).
 * FFmpeg's own messages from the encoder are lowered one level (info -> verbose) through the context's
 * log_level_offset, so x264's statistics stay off stderr; av_log's global callback and level are untouched. */
#ifndef VGEN_PIPELINE_SINK_MP4_ENC_H
#define VGEN_PIPELINE_SINK_MP4_ENC_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "sink.h"

/* Opens the first usable encoder for p (size, fps, crf, preset, encoders, log) writing into ofmt. */
int vgen_mp4_open_encoder(const vgen_sink_params *p, const AVOutputFormat *ofmt, AVCodecContext **out,
                          vgen_err *err);

/* "<what> failed (<FFmpeg's text for averr>)" into err with code, prefixed by path. */
int vgen_mp4_av_error(vgen_err *err, int code, const char *path, const char *what, int averr);

#endif

/* sink_mp4_enc.c - the mp4 sink's encoder: preference list, fallback with logged reasons, quality settings. */
#include "sink_mp4_enc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/opt.h>

#define ENC_NAME_MAX 64
#define ENC_REASONS_MAX 384

int vgen_mp4_av_error(vgen_err *err, int code, const char *path, const char *what, int averr) {
    char text[AV_ERROR_MAX_STRING_SIZE];
    if (av_strerror(averr, text, sizeof text) < 0) snprintf(text, sizeof text, "FFmpeg error %d", averr);
    return vgen_err_set(err, code, "%s: %s failed (%s)", path, what, text);
}

static int codec_has_option(const AVCodec *codec, const char *name) {
    const AVClass *pc = codec->priv_class;
    return pc && av_opt_find((void *)&pc, name, NULL, 0, AV_OPT_SEARCH_FAKE_OBJ) != NULL;
}

static int codec_takes_yuv420p(const AVCodec *codec) {
    const enum AVPixelFormat *fmts = NULL;
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(61, 13, 100)
    if (avcodec_get_supported_config(NULL, codec, AV_CODEC_CONFIG_PIX_FORMAT, 0, (const void **)&fmts, NULL) < 0)
        return 0;
#else
    fmts = codec->pix_fmts;
#endif
    if (!fmts) return 1; /* unknown: let avcodec_open2 decide */
    for (; *fmts != AV_PIX_FMT_NONE; fmts++)
        if (*fmts == AV_PIX_FMT_YUV420P) return 1;
    return 0;
}

/* Why codec cannot be used (static text), or NULL when it looks usable. */
static const char *codec_unfit(const AVCodec *codec, const AVOutputFormat *ofmt) {
    if (!codec) return "not in this FFmpeg build";
    if (codec->type != AVMEDIA_TYPE_VIDEO) return "not a video encoder";
    if (!codec_takes_yuv420p(codec)) return "does not take yuv420p";
    if (avformat_query_codec(ofmt, codec->id, FF_COMPLIANCE_NORMAL) != 1) return "the container cannot hold it";
    return NULL;
}

static void set_geometry(AVCodecContext *c, const vgen_sink_params *p, const AVOutputFormat *ofmt) {
    c->width = p->width;
    c->height = p->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){p->fps_den, p->fps_num};
    c->framerate = (AVRational){p->fps_num, p->fps_den};
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->color_range = AVCOL_RANGE_MPEG;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;
    c->thread_count = 0;
    c->log_level_offset = AV_LOG_VERBOSE - AV_LOG_INFO;
    if (ofmt->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
}

/* crf (libx264 style) or a constant quantizer plus a bit-rate target; see the header. */
static int set_quality(AVCodecContext *c, const AVCodec *codec, const vgen_sink_params *p, AVDictionary **opts) {
    int rc = 0;
    if (codec_has_option(codec, "crf")) {
        rc = av_dict_set_int(opts, "crf", p->crf, 0);
    } else {
        int q = 1 + p->crf / 6;
        q = q < 2 ? 2 : (q > 31 ? 31 : q);
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * q;
        double bpp = 0.1 * pow(2.0, (23.0 - p->crf) / 6.0);
        c->bit_rate = (int64_t)(bpp * p->width * p->height * p->fps_num / p->fps_den);
    }
    if (rc >= 0 && p->preset && *p->preset && codec_has_option(codec, "preset"))
        rc = av_dict_set(opts, "preset", p->preset, 0);
    return rc;
}

/* Tries one encoder: on success *out is open; otherwise *why holds FFmpeg's reason. */
static int try_encoder(const AVCodec *codec, const vgen_sink_params *p, const AVOutputFormat *ofmt,
                       AVCodecContext **out, char *why, size_t why_size) {
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (!c) {
        snprintf(why, why_size, "out of memory");
        return AVERROR(ENOMEM);
    }
    AVDictionary *opts = NULL;
    set_geometry(c, p, ofmt);
    int rc = set_quality(c, codec, p, &opts);
    if (rc >= 0) rc = avcodec_open2(c, codec, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        if (av_strerror(rc, why, why_size) < 0) snprintf(why, why_size, "FFmpeg error %d", rc);
        avcodec_free_context(&c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Appends "name: why" to the list of reasons. */
static void add_reason(char *reasons, const char *name, const char *why) {
    size_t len = strlen(reasons);
    snprintf(reasons + len, ENC_REASONS_MAX - len, "%s%s: %s", len ? "; " : "", name, why);
}

/* The next comma-separated name of *list (spaces trimmed) into name; 0 when the list is exhausted. */
static int next_name(const char **list, char name[ENC_NAME_MAX]) {
    const char *s = *list;
    while (*s == ',' || *s == ' ') s++;
    if (!*s) return 0;
    size_t n = strcspn(s, ",");
    *list = s + n;
    while (n > 0 && s[n - 1] == ' ') n--;
    snprintf(name, ENC_NAME_MAX, "%.*s", (int)n, s);
    return 1;
}

static void log_choice(const vgen_sink_params *p, const char *name, const char *first, int n_skipped) {
    if (n_skipped)
        VGEN_LOGW(&p->log, "%s: using video encoder %s instead of %s (crf %d)", p->path, name, first, p->crf);
    else
        VGEN_LOGI(&p->log, "%s: video encoder %s (crf %d, preset %s)", p->path, name, p->crf,
                  p->preset ? p->preset : "-");
}

int vgen_mp4_open_encoder(const vgen_sink_params *p, const AVOutputFormat *ofmt, AVCodecContext **out,
                          vgen_err *err) {
    const char *list = p->encoders && *p->encoders ? p->encoders : VGEN_SINK_DEFAULT_ENCODERS;
    char name[ENC_NAME_MAX], first[ENC_NAME_MAX] = "", reasons[ENC_REASONS_MAX] = "";
    int n_skipped = 0;
    *out = NULL;
    for (const char *cur = list; next_name(&cur, name);) {
        if (!first[0]) snprintf(first, sizeof first, "%s", name);
        const AVCodec *codec = avcodec_find_encoder_by_name(name);
        char why[AV_ERROR_MAX_STRING_SIZE + 32] = "";
        const char *unfit = codec_unfit(codec, ofmt);
        if (unfit) snprintf(why, sizeof why, "%s", unfit);
        else if (try_encoder(codec, p, ofmt, out, why, sizeof why) == 0) {
            log_choice(p, name, first, n_skipped);
            return VGEN_OK;
        }
        VGEN_LOGW(&p->log, "%s: video encoder %s is unusable (%s); trying the next one", p->path, name, why);
        add_reason(reasons, name, why);
        n_skipped++;
    }
    return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: no usable video encoder in \"%s\" (%s)", p->path, list,
                        n_skipped ? reasons : "the list is empty");
}

/* sink_mp4.c - the mp4 sink: RGB -> yuv420p (libswscale), the send/receive encode loop (libavcodec), the mp4
 * muxer (libavformat) writing through our own AVIOContext into an atomic_file, so the output appears only when
 * finished and a full disk is reported as VGEN_ERR_NO_SPACE. The run record (JSON) is the container's "comment"
 * tag: the mp4 muxer writes tags in the moov box at the trailer, so vgen_sink_set_metadata works until finish.
 * Encoder choice and settings: sink_mp4_enc.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "atomic_file.h"
#include "sink_impl.h"
#include "sink_mp4_enc.h"

#define MP4_IO_BUFFER (64 * 1024)

#if LIBAVFORMAT_VERSION_MAJOR >= 61
typedef const uint8_t io_buf_t;
#else
typedef uint8_t io_buf_t;
#endif

typedef struct mp4_sink {
    vgen_atomic_file file;
    char *path;           /* for messages (file.path is released at commit) */
    char *metadata;       /* JSON text for the "comment" tag, or NULL */
    int width, height;
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *st;
    struct SwsContext *sws;
    AVFrame *frame;       /* yuv420p [H, W] */
    AVPacket *pkt;
} mp4_sink;

/* ---- output through the atomic file ------------------------------------------------------------------- */

static int io_write(void *opaque, io_buf_t *buf, int size) {
    mp4_sink *m = opaque;
    if (size < 0 || vgen_atomic_write(&m->file, buf, (size_t)size, NULL) != VGEN_OK)
        return AVERROR(m->file.last_errno ? m->file.last_errno : EIO);
    return size;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence) {
    mp4_sink *m = opaque;
    if (whence == AVSEEK_SIZE) {
        struct stat st;
        return fstat(m->file.fd, &st) == 0 ? (int64_t)st.st_size : AVERROR(errno);
    }
    off_t pos = lseek(m->file.fd, (off_t)offset, whence & ~AVSEEK_FORCE);
    return pos < 0 ? AVERROR(errno) : (int64_t)pos;
}

static int open_io(mp4_sink *m, vgen_err *err) {
    unsigned char *buf = av_malloc(MP4_IO_BUFFER);
    AVIOContext *io = buf ? avio_alloc_context(buf, MP4_IO_BUFFER, 1, m, NULL, io_write, io_seek) : NULL;
    if (!io) {
        av_free(buf);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", m->path);
    }
    m->fmt->pb = io;
    m->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    return VGEN_OK;
}

/* An FFmpeg failure as a vgen status: a failed write's errno wins (ENOSPC -> VGEN_ERR_NO_SPACE). */
static int mp4_fail(mp4_sink *m, vgen_err *err, int code, const char *what, int averr) {
    if (m->file.last_errno) return vgen_io_error(err, m->path, what, m->file.last_errno);
    if (averr == AVERROR(ENOMEM)) code = VGEN_ERR_OUT_OF_MEMORY;
    if (averr == AVERROR(ENOSPC) || averr == AVERROR(EDQUOT)) code = VGEN_ERR_NO_SPACE;
    return vgen_mp4_av_error(err, code, m->path, what, averr);
}

/* ---- setup -------------------------------------------------------------------------------------------- */

static int add_stream(mp4_sink *m, vgen_err *err) {
    m->st = avformat_new_stream(m->fmt, NULL);
    if (!m->st) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", m->path);
    m->st->time_base = m->enc->time_base;
    m->st->avg_frame_rate = m->enc->framerate;
    int rc = avcodec_parameters_from_context(m->st->codecpar, m->enc);
    if (rc >= 0 && m->metadata) rc = av_dict_set(&m->fmt->metadata, "comment", m->metadata, 0);
    if (rc >= 0) rc = avformat_write_header(m->fmt, NULL);
    return rc < 0 ? mp4_fail(m, err, VGEN_ERR_IO, "writing the mp4 header", rc) : VGEN_OK;
}

/* RGB24 (full range) -> yuv420p (limited range, BT.709 matrix, as tagged by the encoder settings). */
static int open_scaler(mp4_sink *m, vgen_err *err) {
    m->sws = sws_getContext(m->width, m->height, AV_PIX_FMT_RGB24, m->width, m->height, AV_PIX_FMT_YUV420P,
                            SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL);
    m->frame = av_frame_alloc();
    m->pkt = av_packet_alloc();
    if (!m->sws || !m->frame || !m->pkt)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory for the scaler", m->path);
    const int *rgb = sws_getCoefficients(SWS_CS_DEFAULT), *bt709 = sws_getCoefficients(SWS_CS_ITU709);
    if (sws_setColorspaceDetails(m->sws, rgb, 1, bt709, 0, 0, 1 << 16, 1 << 16) < 0)
        return vgen_err_set(err, VGEN_ERR_INTERNAL, "%s: swscale refused the BT.709 conversion", m->path);
    m->frame->format = AV_PIX_FMT_YUV420P;
    m->frame->width = m->width;
    m->frame->height = m->height;
    int rc = av_frame_get_buffer(m->frame, 0);
    return rc < 0 ? mp4_fail(m, err, VGEN_ERR_OUT_OF_MEMORY, "allocating a frame", rc) : VGEN_OK;
}

static int open_ffmpeg(mp4_sink *m, const vgen_sink_params *p, vgen_err *err) {
    int rc = avformat_alloc_output_context2(&m->fmt, NULL, "mp4", m->path);
    if (rc < 0 || !m->fmt) return mp4_fail(m, err, VGEN_ERR_UNSUPPORTED, "setting up the mp4 muxer", rc);
    rc = open_io(m, err);
    if (!rc) rc = vgen_mp4_open_encoder(p, m->fmt->oformat, &m->enc, err);
    if (!rc) rc = add_stream(m, err);
    if (!rc) rc = open_scaler(m, err);
    return rc;
}

/* Frees every FFmpeg object (idempotent). Writes nothing. */
static void release_ffmpeg(mp4_sink *m) {
    sws_freeContext(m->sws);
    m->sws = NULL;
    av_frame_free(&m->frame);
    av_packet_free(&m->pkt);
    avcodec_free_context(&m->enc);
    if (m->fmt && m->fmt->pb) {
        av_freep(&m->fmt->pb->buffer);
        avio_context_free(&m->fmt->pb);
    }
    avformat_free_context(m->fmt);
    m->fmt = NULL;
    m->st = NULL;
}

/* ---- the encode loop ---------------------------------------------------------------------------------- */

/* Sends frame (NULL = flush) and writes every packet the encoder has ready. */
static int encode(mp4_sink *m, const AVFrame *frame, vgen_err *err) {
    int rc = avcodec_send_frame(m->enc, frame);
    if (rc < 0) return mp4_fail(m, err, VGEN_ERR_INTERNAL, frame ? "encoding a frame" : "flushing the encoder", rc);
    for (;;) {
        rc = avcodec_receive_packet(m->enc, m->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return VGEN_OK;
        if (rc < 0) return mp4_fail(m, err, VGEN_ERR_INTERNAL, "receiving a packet from the encoder", rc);
        av_packet_rescale_ts(m->pkt, m->enc->time_base, m->st->time_base);
        m->pkt->stream_index = m->st->index;
        rc = av_interleaved_write_frame(m->fmt, m->pkt); /* takes the packet's reference */
        av_packet_unref(m->pkt);
        if (rc < 0) return mp4_fail(m, err, VGEN_ERR_IO, "writing a packet", rc);
    }
}

static int mp4_send(void *impl, const uint8_t *rgb24, int64_t index, vgen_err *err) {
    mp4_sink *m = impl;
    if (!m->enc) return vgen_err_set(err, VGEN_ERR_INTERNAL, "%s: the encoder is closed", m->path);
    int rc = av_frame_make_writable(m->frame);
    if (rc < 0) return mp4_fail(m, err, VGEN_ERR_OUT_OF_MEMORY, "preparing a frame", rc);
    const uint8_t *src[1] = {rgb24};
    const int stride[1] = {3 * m->width};
    if (sws_scale(m->sws, src, stride, 0, m->height, m->frame->data, m->frame->linesize) <= 0)
        return vgen_err_set(err, VGEN_ERR_INTERNAL, "%s: swscale failed on frame %lld", m->path, (long long)index);
    m->frame->pts = index;
    return encode(m, m->frame, err);
}

static int mp4_set_metadata(void *impl, const char *json, vgen_err *err) {
    mp4_sink *m = impl;
    char *copy = NULL;
    int rc = vgen_sink_strdup(json, &copy, err);
    if (rc) return rc;
    free(m->metadata);
    m->metadata = copy;
    return VGEN_OK;
}

/* Drains the encoder, writes the trailer (with the final comment tag), flushes, fsyncs. */
static int mp4_prepare(void *impl, vgen_err *err) {
    mp4_sink *m = impl;
    if (!m->enc) return vgen_err_set(err, VGEN_ERR_INTERNAL, "%s: the encoder is closed", m->path);
    int rc = encode(m, NULL, err);
    if (rc) return rc;
    int av = m->metadata ? av_dict_set(&m->fmt->metadata, "comment", m->metadata, 0) : 0;
    if (av >= 0) av = av_write_trailer(m->fmt);
    if (av >= 0) {
        avio_flush(m->fmt->pb);
        av = m->fmt->pb->error;
    }
    if (av < 0) return mp4_fail(m, err, VGEN_ERR_IO, "writing the mp4 trailer", av);
    release_ffmpeg(m);
    return vgen_atomic_prepare(&m->file, err);
}

static int mp4_commit(void *impl, vgen_err *err) { return vgen_atomic_commit(&((mp4_sink *)impl)->file, err); }

static void mp4_abort(void *impl) {
    mp4_sink *m = impl;
    release_ffmpeg(m);
    vgen_atomic_abort(&m->file);
}

static void mp4_destroy(void *impl) {
    mp4_sink *m = impl;
    mp4_abort(m);
    free(m->metadata);
    free(m->path);
    free(m);
}

static const vgen_sink_ops mp4_ops = {"mp4", mp4_send, mp4_set_metadata, mp4_prepare, mp4_commit, mp4_abort,
                                      mp4_destroy};

static int check_even(const vgen_sink_params *p, vgen_err *err) {
    if (p->width % 2 == 0 && p->height % 2 == 0) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                        "%s: frame size %dx%d: mp4 (yuv420p) needs an even width and height (Wan sizes are "
                        "multiples of 16)", p->path, p->width, p->height);
}

int vgen_sink_mp4_open(const vgen_sink_params *p, vgen_sink **out, vgen_err *err) {
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_sink_mp4_open: NULL output");
    *out = NULL;
    int rc = vgen_sink_check_params(p, "mp4", err);
    if (!rc) rc = check_even(p, err);
    if (rc) return rc;
    mp4_sink *m = calloc(1, sizeof *m);
    if (!m) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", p->path);
    m->file = vgen_atomic_file_none();
    m->width = p->width;
    m->height = p->height;
    rc = vgen_sink_strdup(p->path, &m->path, err);
    if (!rc) rc = vgen_sink_strdup(p->metadata, &m->metadata, err);
    if (!rc) rc = vgen_atomic_open(&m->file, p->path, err);
    if (!rc) rc = open_ffmpeg(m, p, err);
    if (rc) {
        mp4_destroy(m);
        return rc;
    }
    return vgen_sink_wrap(&mp4_ops, m, p, out, err);
}

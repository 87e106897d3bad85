/* test_sinks.c - the output sinks (pipeline/sink*.c), the run record (record_json*.c) and atomic_file.c.
 *
 * The mp4 outputs are decoded here with libavformat/libavcodec (never by running ffprobe) and compared with the
 * frames sent: count, size, frame rate, codec, the "comment" tag (the JSON record) and PSNR. PNG frames are read
 * back with libpng and must match the 8-bit input exactly. Failure paths (abort, too many or too few frames, NaN,
 * unwritable directory, full disk via /dev/full, unknown encoder, odd size) must leave nothing behind. Each test
 * works in its own empty directory under VGEN_TEST_TMPDIR. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
#include <png.h>

#include "atomic_file.h"
#include "record_json.h"
#include "sink.h"
#include "sink_impl.h"
#include "testutil.h"

#define TMP VGEN_TEST_TMPDIR
#define CLIP_W 64
#define CLIP_H 48
#define CLIP_N 17
#define PATH_MAX_T 1024

/* ---- files and directories ---------------------------------------------------------------------------- */

static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[PATH_MAX_T];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        remove_tree(p);
    }
    closedir(d);
    rmdir(path);
}

/* An empty directory TMP/sinks_<name>. */
static const char *fresh_dir(char *buf, const char *name) {
    snprintf(buf, PATH_MAX_T, "%s/sinks_%s", TMP, name);
    remove_tree(buf);
    mkdir(buf, 0755);
    return buf;
}

static const char *join(char *buf, const char *dir, const char *name) {
    int n = snprintf(buf, PATH_MAX_T, "%s/%s", dir, name);
    CHECKF(n > 0 && n < PATH_MAX_T, "path too long: %s/%s", dir, name);
    return buf;
}

/* Entries of dir (not . and ..); the names joined by spaces into list (for messages). */
static int count_entries(const char *dir, char *list, size_t size) {
    int n = 0;
    if (list) list[0] = '\0';
    DIR *d = opendir(dir);
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        n++;
        if (list) snprintf(list + strlen(list), size - strlen(list), "%s ", e->d_name);
    }
    if (d) closedir(d);
    return n;
}

#define CHECK_EMPTY_DIR(dir)                                                                      \
    do {                                                                                          \
        char names_[512];                                                                         \
        int n_ = count_entries((dir), names_, sizeof names_);                                     \
        CHECKF(n_ == 0, "%s should be empty, holds %d: %s", (dir), n_, names_);                   \
    } while (0)

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    if (n) *n = buf ? (size_t)len : 0;
    return buf;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- the synthetic clip ------------------------------------------------------------------------------- */

/* A smooth gradient moving right and down: float [3, H, W] in [0, 1]. */
static void make_frame(int t, int w, int h, float *rgb) {
    const double pi = 3.14159265358979323846;
    size_t plane = (size_t)w * (size_t)h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            rgb[i] = (float)(0.5 + 0.45 * sin(2.0 * pi * (x + 2.0 * t) / w));
            rgb[plane + i] = (float)(0.05 + 0.9 * (y + t) / (h + CLIP_N));
            rgb[2 * plane + i] = (float)(0.5 + 0.4 * cos(2.0 * pi * (x + y + t) / (w + h)));
        }
}

typedef struct clip {
    int w, h, n;
    float **frames;    /* [n] of [3, H, W] */
    uint8_t **rgb24;   /* [n] of [H, W, 3]: what the sinks should store */
} clip;

static clip clip_make(int w, int h, int n) {
    clip c = {w, h, n, calloc((size_t)n, sizeof(float *)), calloc((size_t)n, sizeof(uint8_t *))};
    for (int t = 0; t < n; t++) {
        c.frames[t] = malloc((size_t)w * h * 3 * sizeof(float));
        c.rgb24[t] = malloc((size_t)w * h * 3);
        make_frame(t, w, h, c.frames[t]);
        size_t bad = 0;
        vgen_sink_float_to_rgb24(c.frames[t], w, h, c.rgb24[t], &bad);
    }
    return c;
}

static void clip_free(clip *c) {
    for (int t = 0; t < c->n; t++) {
        free(c->frames[t]);
        free(c->rgb24[t]);
    }
    free(c->frames);
    free(c->rgb24);
}

/* Sends frames [from, to) of c; returns the first failure. */
static int send_frames(vgen_sink *s, const clip *c, int from, int to, vgen_err *err) {
    for (int t = from; t < to; t++) {
        int rc = vgen_sink_send_frame(s, c->frames[t], err);
        if (rc) return rc;
    }
    return VGEN_OK;
}

/* ---- log capture -------------------------------------------------------------------------------------- */

typedef struct log_buf {
    char text[4096];
    int n_warn;
} log_buf;

static void capture_log(vgen_log_level level, const char *msg, void *user_data) {
    log_buf *b = user_data;
    if (level == VGEN_LOG_WARN) b->n_warn++;
    size_t len = strlen(b->text);
    snprintf(b->text + len, sizeof b->text - len, "%s\n", msg);
}

/* ---- the run record used throughout ------------------------------------------------------------------- */

static vgen_run_record sample_record(void) {
    vgen_run_record r = vgen_run_record_init();
    r.model_family = "wan21";
    r.files[0] = (vgen_record_file){"dit", "/models/wan2.1_t2v_1.3B_bf16.safetensors", 2838200960ull, NULL};
    r.files[1] = (vgen_record_file){"text_encoder", "/models/umt5_xxl_fp8.safetensors", 6735906944ull,
                                    "9f2d4c06b7a1e3f5d8c0b2a4e6f8a0c2e4d6b8f0a2c4e6d8b0f2a4c6e8d0b2f4"};
    r.files[2] = (vgen_record_file){"vae", "/models/wan_2.1_vae.safetensors", 253815318ull, NULL};
    r.n_files = 3;
    r.components[0] = (vgen_record_component){"text_encoder", "fp8_e4m3_row", "bf16", "cuda"};
    r.components[1] = (vgen_record_component){"dit", "int8_row", "bf16", "cuda"};
    r.components[2] = (vgen_record_component){"vae", "bf16", "f32", "cuda"};
    r.n_components = 3;
    r.prompt = "A cat walks on the grass, \"realistic\" style.\n\xe4\xb8\x80\xe5\x8f\xaa\xe7\x8c\xab \xf0\x9f\x90\x88";
    r.negative_prompt = "blurry, low quality\tstatic";
    r.seed = 42;
    r.width = CLIP_W;
    r.height = CLIP_H;
    r.frames = CLIP_N;
    r.steps = 50;
    r.sampler = "unipc";
    r.shift = 5.0;
    r.guidance = 0.1 + 0.2; /* 0.30000000000000004: needs 17 digits */
    r.preset = "rtx4090";
    r.timings[0] = (vgen_record_phase){"text_encoder", 2.5};
    r.timings[1] = (vgen_record_phase){"denoise", 301.123456789};
    r.n_timings = 2;
    return r;
}

static char *record_text(const vgen_run_record *r) {
    char *text = NULL;
    vgen_err err;
    vgen_err_clear(&err);
    int rc = vgen_run_record_to_json(r, &text, &err);
    CHECKF(rc == VGEN_OK, "to_json: %s", err.msg);
    return text;
}

/* ---- decoding an mp4 in the test ---------------------------------------------------------------------- */

typedef struct decoded {
    int ok;
    int n_frames;
    int width, height;
    AVRational fps;
    enum AVCodecID codec;
    char *comment;               /* malloc'd, or NULL */
    enum AVColorSpace colorspace;/* of the first decoded frame */
    enum AVColorRange range;
    double psnr_min, psnr_mean;  /* against the clip, frame by frame in presentation order */
} decoded;

static double psnr_rgb24(const uint8_t *a, const uint8_t *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        se += d * d;
    }
    return se == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / (se / (double)n));
}

/* yuv420p (BT.709, limited range as tagged) -> RGB24, then PSNR against the clip. */
static void compare_frame(const AVFrame *f, const clip *c, struct SwsContext **sws, decoded *d) {
    if (!*sws) {
        d->colorspace = f->colorspace;
        d->range = f->color_range;
        *sws = sws_getContext(f->width, f->height, f->format, f->width, f->height, AV_PIX_FMT_RGB24,
                              SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL);
        int full = f->color_range == AVCOL_RANGE_JPEG;
        int cs = f->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
        if (*sws)
            sws_setColorspaceDetails(*sws, sws_getCoefficients(cs), full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                                     1 << 16, 1 << 16);
    }
    uint8_t *rgb = malloc((size_t)f->width * f->height * 3);
    int stride = 3 * f->width;
    if (*sws && rgb && d->n_frames < c->n && f->width == c->w && f->height == c->h) {
        sws_scale(*sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, &rgb, &stride);
        double p = psnr_rgb24(rgb, c->rgb24[d->n_frames], (size_t)c->w * c->h * 3);
        d->psnr_min = d->n_frames == 0 || p < d->psnr_min ? p : d->psnr_min;
        d->psnr_mean += p / c->n;
    }
    free(rgb);
    d->n_frames++;
}

static void drain(AVCodecContext *dec, AVFrame *f, const clip *c, struct SwsContext **sws, decoded *d) {
    while (avcodec_receive_frame(dec, f) == 0) {
        compare_frame(f, c, sws, d);
        av_frame_unref(f);
    }
}

static void decode_packets(AVFormatContext *fmt, AVCodecContext *dec, int stream, const clip *c, decoded *d) {
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    struct SwsContext *sws = NULL;
    while (pkt && f && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == stream && avcodec_send_packet(dec, pkt) >= 0) drain(dec, f, c, &sws, d);
        av_packet_unref(pkt);
    }
    if (f && avcodec_send_packet(dec, NULL) >= 0) drain(dec, f, c, &sws, d);
    sws_freeContext(sws);
    av_frame_free(&f);
    av_packet_free(&pkt);
}

static decoded decode_mp4(const char *path, const clip *c) {
    decoded d;
    memset(&d, 0, sizeof d);
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0) return d;
    int stream = avformat_find_stream_info(fmt, NULL) >= 0
                     ? av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0) : -1;
    const AVDictionaryEntry *tag = av_dict_get(fmt->metadata, "comment", NULL, 0);
    d.comment = tag ? strdup(tag->value) : NULL;
    if (stream >= 0) {
        const AVStream *st = fmt->streams[stream];
        const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
        d.codec = st->codecpar->codec_id;
        d.width = st->codecpar->width;
        d.height = st->codecpar->height;
        d.fps = st->avg_frame_rate;
        dec = codec ? avcodec_alloc_context3(codec) : NULL;
        if (dec && avcodec_parameters_to_context(dec, st->codecpar) >= 0 && avcodec_open2(dec, codec, NULL) >= 0) {
            decode_packets(fmt, dec, stream, c, &d);
            d.ok = 1;
        }
    }
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return d;
}

/* ---- sinks -------------------------------------------------------------------------------------------- */

static vgen_sink_params clip_params(const char *path, const clip *c) {
    vgen_sink_params p = vgen_sink_params_init();
    p.path = path;
    p.width = c->w;
    p.height = c->h;
    p.fps_num = 16;
    p.fps_den = 1;
    p.n_frames = c->n;
    return p;
}

/* Encodes the clip to dir/out.mp4 (metadata set at open, replaced before finish), decodes and checks it.
 * Returns the lowest PSNR of a frame. */
static double check_mp4_clip(const char *name, const char *encoders, int crf, enum AVCodecID want_codec,
                             double min_psnr, log_buf *log) {
    char dir[PATH_MAX_T], out[PATH_MAX_T];
    fresh_dir(dir, name);
    join(out, dir, "out.mp4");
    clip c = clip_make(CLIP_W, CLIP_H, CLIP_N);
    vgen_run_record rec = sample_record();
    char *early = record_text(&rec);
    rec.timings[rec.n_timings++] = (vgen_record_phase){"vae_decode", 12.75};
    char *final = record_text(&rec);
    vgen_sink_params p = clip_params(out, &c);
    p.encoders = encoders;
    p.crf = crf;
    p.metadata = early;
    p.log = (vgen_logger){capture_log, log, VGEN_LOG_DEBUG};
    vgen_err err;
    vgen_err_clear(&err);
    vgen_sink *s = NULL;
    int rc = vgen_sink_mp4_open(&p, &s, &err);
    if (!rc) rc = send_frames(s, &c, 0, c.n, &err);
    if (!rc) rc = vgen_sink_set_metadata(s, final, &err);
    if (!rc) rc = vgen_sink_finish(&s, &err);
    else vgen_sink_abort(&s);
    CHECKF(rc == VGEN_OK, "%s: %s", name, err.msg);
    CHECK_EQ_INT(count_entries(dir, NULL, 0), 1); /* out.mp4 only: no temporary left */

    decoded d = decode_mp4(out, &c);
    CHECK(d.ok);
    CHECK_EQ_INT(d.codec, want_codec);
    CHECK_EQ_INT(d.n_frames, CLIP_N);
    CHECK_EQ_INT(d.width, CLIP_W);
    CHECK_EQ_INT(d.height, CLIP_H);
    CHECKF(d.fps.num == 16 && d.fps.den == 1, "fps %d/%d", d.fps.num, d.fps.den);
    CHECK_EQ_INT(d.colorspace, AVCOL_SPC_BT709);
    CHECK_EQ_INT(d.range, AVCOL_RANGE_MPEG);
    CHECKF(d.psnr_min >= min_psnr, "%s: PSNR min %.2f dB < %.1f", name, d.psnr_min, min_psnr);
    printf("  %s (crf %d): %d frames %dx%d, PSNR min %.2f dB, mean %.2f dB (decoded yuv420p vs the 8-bit input)\n",
           name, crf, d.n_frames, d.width, d.height, d.psnr_min, d.psnr_mean);
    CHECKF(d.comment && strcmp(d.comment, final) == 0, "%s: the comment tag should be the final record", name);
    vgen_run_record back;
    rc = d.comment ? vgen_run_record_from_json(d.comment, strlen(d.comment), &back, &err) : VGEN_ERR_NOT_FOUND;
    CHECKF(rc == VGEN_OK && vgen_run_record_equal(&rec, &back), "comment parses back to the record: %s", err.msg);
    vgen_run_record_release(&back);
    free(d.comment);
    free(early);
    free(final);
    clip_free(&c);
    return d.psnr_min;
}

static void test_mp4_libx264(void) {
    if (!avcodec_find_encoder_by_name("libx264")) {
        printf("  libx264 is not in this FFmpeg build: checking the default list instead\n");
        log_buf log = {"", 0};
        check_mp4_clip("mp4_default", NULL, 18, AV_CODEC_ID_MPEG4, 30.0, &log);
        return;
    }
    log_buf log = {"", 0};
    double psnr = check_mp4_clip("mp4_x264", NULL, 18, AV_CODEC_ID_H264, 30.0, &log);
    CHECK_EQ_INT(log.n_warn, 0);
    CHECK_STR_CONTAINS(log.text, "video encoder libx264 (crf 18, preset medium)");
    /* crf 0 is lossless in YUV: what is left is the RGB -> yuv420p -> RGB conversion (chroma subsampling) */
    double ceiling = check_mp4_clip("mp4_x264_lossless", NULL, 0, AV_CODEC_ID_H264, 30.0, &log);
    CHECKF(ceiling >= psnr, "crf 0 (%.2f dB) should not be worse than crf 18 (%.2f dB)", ceiling, psnr);
}

/* An encoder missing from the build is skipped with a warning; the next one (mpeg4, always built) is used. */
static void test_mp4_fallback(void) {
    log_buf log = {"", 0};
    check_mp4_clip("mp4_fallback", "vgen_no_such_encoder, mpeg4", 18, AV_CODEC_ID_MPEG4, 30.0, &log);
    CHECK_EQ_INT(log.n_warn, 2);
    CHECK_STR_CONTAINS(log.text, "video encoder vgen_no_such_encoder is unusable (not in this FFmpeg build)");
    CHECK_STR_CONTAINS(log.text, "using video encoder mpeg4 instead of vgen_no_such_encoder");
}

static void test_mp4_bad_requests(void) {
    char dir[PATH_MAX_T], out[PATH_MAX_T];
    fresh_dir(dir, "mp4_bad");
    join(out, dir, "out.mp4");
    clip c = clip_make(CLIP_W, CLIP_H, 1);
    vgen_sink_params p = clip_params(out, &c);
    vgen_err err;
    vgen_sink *s = NULL;

    p.encoders = "vgen_no_such_encoder";
    CHECK_EQ_INT(vgen_sink_mp4_open(&p, &s, &err), VGEN_ERR_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, out);
    CHECK_STR_CONTAINS(err.msg, "no usable video encoder in \"vgen_no_such_encoder\" (vgen_no_such_encoder: not in "
                                "this FFmpeg build)");
    p.encoders = "pcm_s16le"; /* exists, but audio */
    CHECK_EQ_INT(vgen_sink_mp4_open(&p, &s, &err), VGEN_ERR_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "pcm_s16le: not a video encoder");
    p.encoders = "mpeg4";
    p.preset = "no-such-preset"; /* mpeg4 has no preset option: ignored */
    CHECK_EQ_INT(vgen_sink_mp4_open(&p, &s, &err), VGEN_OK);
    vgen_sink_abort(&s);
    if (avcodec_find_encoder_by_name("libx264")) {
        p.encoders = "libx264";
        CHECK_EQ_INT(vgen_sink_mp4_open(&p, &s, &err), VGEN_ERR_UNSUPPORTED); /* x264 refuses the preset */
        CHECK_STR_CONTAINS(err.msg, "libx264: ");
    }
    p.encoders = NULL;
    p.preset = "medium";
    p.width = 65;
    CHECK_EQ_INT(vgen_sink_mp4_open(&p, &s, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "65x48: mp4 (yuv420p) needs an even width and height");
    p.width = CLIP_W;
    p.crf = 52;
    CHECK_EQ_INT(vgen_sink_mp4_open(&p, &s, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "crf 52");
    p.crf = 18;
    p.fps_den = 0;
    CHECK_EQ_INT(vgen_sink_mp4_open(&p, &s, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL);
    CHECK_EMPTY_DIR(dir);
    clip_free(&c);
}

/* PNG frames are exact: 8-bit RGB in, the same bytes out (libpng's simplified reader). Odd sizes are fine. */
static void test_png_roundtrip(void) {
    char dir[PATH_MAX_T], frames[PATH_MAX_T], name[PATH_MAX_T];
    fresh_dir(dir, "png");
    join(frames, dir, "frames/"); /* a trailing slash names the same directory */
    clip c = clip_make(33, 17, 5);
    vgen_sink_params p = clip_params(frames, &c);
    vgen_err err;
    vgen_sink *s = NULL;
    int rc = vgen_sink_png_open(&p, &s, &err);
    if (!rc) rc = send_frames(s, &c, 0, c.n, &err);
    if (!rc) rc = vgen_sink_finish(&s, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    join(frames, dir, "frames");
    CHECK_EQ_INT(count_entries(frames, NULL, 0), c.n);
    for (int t = 0; t < c.n; t++) {
        char file[32];
        snprintf(file, sizeof file, "frame_%05d.png", t);
        png_image im;
        memset(&im, 0, sizeof im);
        im.version = PNG_IMAGE_VERSION;
        CHECK(png_image_begin_read_from_file(&im, join(name, frames, file)) != 0);
        CHECK_EQ_INT(im.width, 33);
        CHECK_EQ_INT(im.height, 17);
        CHECK_EQ_INT(im.format, PNG_FORMAT_RGB);
        uint8_t *px = malloc(PNG_IMAGE_SIZE(im));
        im.format = PNG_FORMAT_RGB;
        CHECK(px && png_image_finish_read(&im, NULL, px, 0, NULL) != 0);
        CHECKF(px && memcmp(px, c.rgb24[t], (size_t)33 * 17 * 3) == 0, "frame %d differs", t);
        free(px);
        png_image_free(&im);
    }
    clip_free(&c);
}

static int open_three(const char *dir, const clip *c, const char *json, vgen_sink **tee, vgen_err *err) {
    char mp4[PATH_MAX_T], png[PATH_MAX_T], rec[PATH_MAX_T];
    vgen_sink_params p = clip_params(join(mp4, dir, "out.mp4"), c);
    p.metadata = json;
    p.encoders = "libx264,mpeg4";
    p.preset = "ultrafast";
    vgen_sink *m[3] = {NULL, NULL, NULL};
    int rc = vgen_sink_mp4_open(&p, &m[0], err);
    p.path = join(png, dir, "out_frames");
    if (!rc) rc = vgen_sink_png_open(&p, &m[1], err);
    p.path = join(rec, dir, "out.json");
    if (!rc) rc = vgen_sink_json_open(&p, &m[2], err);
    if (rc) {
        for (int i = 0; i < 3; i++) vgen_sink_abort(&m[i]);
        return rc;
    }
    return vgen_sink_tee_open(m, 3, tee, err);
}

/* mp4 + png + json together; the record file and the comment tag carry the same text. */
static void test_tee_all(void) {
    char dir[PATH_MAX_T], path[PATH_MAX_T];
    fresh_dir(dir, "tee");
    clip c = clip_make(CLIP_W, CLIP_H, CLIP_N);
    vgen_run_record rec = sample_record();
    char *json = record_text(&rec);
    vgen_err err;
    vgen_sink *tee = NULL;
    int rc = open_three(dir, &c, NULL, &tee, &err);
    if (!rc) rc = send_frames(tee, &c, 0, c.n, &err);
    if (!rc) CHECK_EQ_INT(vgen_sink_frame_count(tee), CLIP_N);
    if (!rc) rc = vgen_sink_set_metadata(tee, json, &err);
    if (!rc) rc = vgen_sink_finish(&tee, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    CHECK_EQ_INT(count_entries(dir, NULL, 0), 3);
    CHECK_EQ_INT(count_entries(join(path, dir, "out_frames"), NULL, 0), CLIP_N);
    size_t n = 0;
    char *text = read_all(join(path, dir, "out.json"), &n);
    CHECK(text && n == strlen(json) + 1 && strncmp(text, json, n - 1) == 0 && text[n - 1] == '\n');
    vgen_run_record back;
    rc = text ? vgen_run_record_from_json(text, n, &back, &err) : VGEN_ERR_NOT_FOUND;
    CHECKF(rc == VGEN_OK && vgen_run_record_equal(&rec, &back), "out.json parses back: %s", err.msg);
    vgen_run_record_release(&back);
    decoded d = decode_mp4(join(path, dir, "out.mp4"), &c);
    CHECK_EQ_INT(d.n_frames, CLIP_N);
    CHECK(d.comment && strcmp(d.comment, json) == 0);
    free(d.comment);
    free(text);
    free(json);
    clip_free(&c);
}

/* Abort in the middle: no output, no temporary, and the frame directory the sink created is gone. */
static void test_abort_midstream(void) {
    char dir[PATH_MAX_T];
    fresh_dir(dir, "abort");
    clip c = clip_make(CLIP_W, CLIP_H, CLIP_N);
    vgen_err err;
    vgen_sink *tee = NULL;
    int rc = open_three(dir, &c, "{}", &tee, &err);
    if (!rc) rc = send_frames(tee, &c, 0, 5, &err);
    CHECKF(rc == VGEN_OK, "%s", err.msg);
    CHECK(count_entries(dir, NULL, 0) == 3); /* two temporaries and the frame directory */
    vgen_sink_abort(&tee);
    CHECK(tee == NULL);
    CHECK_EMPTY_DIR(dir);
    vgen_sink_abort(&tee); /* NULL: nothing */
    clip_free(&c);
}

/* A failure in any call removes everything at once; later calls repeat the first error. */
static void test_failures_remove_all(void) {
    char dir[PATH_MAX_T];
    fresh_dir(dir, "fail");
    clip c = clip_make(CLIP_W, CLIP_H, CLIP_N);
    vgen_err err;
    vgen_sink *tee = NULL;

    /* one frame too many */
    CHECK_EQ_INT(open_three(dir, &c, "{}", &tee, &err), VGEN_OK);
    CHECK_EQ_INT(send_frames(tee, &c, 0, c.n, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_sink_send_frame(tee, c.frames[0], &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "frame 17 is beyond the 17 frames declared");
    CHECK_EMPTY_DIR(dir);
    CHECK_EQ_INT(vgen_sink_set_metadata(tee, "{}", &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vgen_sink_finish(&tee, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "frame 17 is beyond");
    CHECK(tee == NULL);

    /* too few */
    CHECK_EQ_INT(open_three(dir, &c, "{}", &tee, &err), VGEN_OK);
    CHECK_EQ_INT(send_frames(tee, &c, 0, 3, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_sink_finish(&tee, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "only 3 of the 17 frames declared were sent");
    CHECK_EMPTY_DIR(dir);

    /* a NaN */
    CHECK_EQ_INT(open_three(dir, &c, "{}", &tee, &err), VGEN_OK);
    CHECK_EQ_INT(send_frames(tee, &c, 0, 2, &err), VGEN_OK);
    float keep = c.frames[2][CLIP_W * CLIP_H + 5 * CLIP_W + 7];
    c.frames[2][CLIP_W * CLIP_H + 5 * CLIP_W + 7] = NAN;
    CHECK_EQ_INT(vgen_sink_send_frame(tee, c.frames[2], &err), VGEN_ERR_NUMERIC);
    CHECK_STR_CONTAINS(err.msg, "frame 2 has a NaN or Inf at channel 1, y 5, x 7");
    c.frames[2][CLIP_W * CLIP_H + 5 * CLIP_W + 7] = keep;
    CHECK_EMPTY_DIR(dir);
    vgen_sink_abort(&tee);

    /* json sink without a record */
    CHECK_EQ_INT(open_three(dir, &c, NULL, &tee, &err), VGEN_OK);
    CHECK_EQ_INT(send_frames(tee, &c, 0, c.n, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_sink_finish(&tee, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "out.json: no record was given");
    CHECK_EMPTY_DIR(dir);
    clip_free(&c);
}

static void expect_open_error(int kind, const char *path, int code, const char *text) {
    clip c = clip_make(CLIP_W, CLIP_H, 1);
    vgen_sink_params p = clip_params(path, &c);
    vgen_err err;
    vgen_err_clear(&err);
    vgen_sink *s = NULL;
    int rc = kind == 0 ? vgen_sink_mp4_open(&p, &s, &err)
                       : (kind == 1 ? vgen_sink_png_open(&p, &s, &err) : vgen_sink_json_open(&p, &s, &err));
    CHECKF(rc == code, "%s: status %d (%s), want %d", path, rc, err.msg, code);
    CHECK_STR_CONTAINS(err.msg, path);
    CHECK_STR_CONTAINS(err.msg, text);
    CHECK(s == NULL);
    clip_free(&c);
}

/* Unwritable places: a missing directory, a regular file used as a directory, and (not as root, which ignores
 * permissions) a read-only directory. The error names the path; nothing is left. */
static void test_unwritable(void) {
    char dir[PATH_MAX_T], path[PATH_MAX_T], file[PATH_MAX_T];
    fresh_dir(dir, "unwritable");
    for (int kind = 0; kind < 3; kind++) {
        expect_open_error(kind, join(path, dir, "missing/out"), VGEN_ERR_IO, "(No such file or directory)");
        FILE *f = fopen(join(file, dir, "plain"), "w");
        if (f) fclose(f);
        expect_open_error(kind, join(path, dir, "plain/out"), VGEN_ERR_IO, "(Not a directory)");
        unlink(file);
        CHECK_EMPTY_DIR(dir);
    }
    if (geteuid() == 0) {
        printf("  running as root: the read-only directory case is skipped (root ignores permissions)\n");
        return;
    }
    char ro[PATH_MAX_T];
    mkdir(join(ro, dir, "ro"), 0555);
    expect_open_error(0, join(path, ro, "out.mp4"), VGEN_ERR_IO, "(Permission denied)");
    expect_open_error(1, join(path, ro, "frames"), VGEN_ERR_IO, "(Permission denied)");
    expect_open_error(2, join(path, ro, "out.json"), VGEN_ERR_IO, "(Permission denied)");
    CHECK_EMPTY_DIR(ro);
    rmdir(ro);
}

/* The fd of the file whose name starts with prefix (our temporary), found through /proc/self/fd. */
static int find_fd(const char *prefix) {
    DIR *d = opendir("/proc/self/fd");
    int found = -1;
    for (struct dirent *e = d ? readdir(d) : NULL; e && found < 0; e = readdir(d)) {
        char link[300], target[PATH_MAX_T];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (strncmp(target, prefix, strlen(prefix)) == 0) found = atoi(e->d_name);
    }
    if (d) closedir(d);
    return found;
}

/* A full disk: the temporary's descriptor is replaced by /dev/full in mid-stream, so the next write gets ENOSPC
 * exactly as on a full file system. The result is VGEN_ERR_NO_SPACE naming the output, and nothing is left. */
static void test_disk_full(void) {
    char dir[PATH_MAX_T], out[PATH_MAX_T], tmp_prefix[PATH_MAX_T + 8];
    fresh_dir(dir, "full");
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (full < 0) {
        printf("  /dev/full is missing: skipped\n");
        return;
    }
    char resolved[PATH_MAX_T];
    CHECK(realpath(dir, resolved) != NULL);
    join(out, resolved, "out.mp4");
    snprintf(tmp_prefix, sizeof tmp_prefix, "%s.tmp.", out);
    clip c = clip_make(CLIP_W, CLIP_H, CLIP_N);
    vgen_sink_params p = clip_params(out, &c);
    p.encoders = "mpeg4";
    vgen_err err;
    vgen_sink *s = NULL;
    CHECK_EQ_INT(vgen_sink_mp4_open(&p, &s, &err), VGEN_OK);
    CHECK_EQ_INT(send_frames(s, &c, 0, 3, &err), VGEN_OK);
    int fd = find_fd(tmp_prefix);
    CHECK(fd >= 0);
    if (fd >= 0) dup2(full, fd);
    int rc = send_frames(s, &c, 3, c.n, &err);
    if (!rc) rc = vgen_sink_finish(&s, &err);
    else vgen_sink_abort(&s);
    CHECK_EQ_INT(rc, VGEN_ERR_NO_SPACE);
    CHECK_STR_CONTAINS(err.msg, out);
    CHECK_STR_CONTAINS(err.msg, "No space left on device");
    CHECK_EMPTY_DIR(dir);

    /* the same through the helper alone */
    vgen_atomic_file f;
    CHECK_EQ_INT(vgen_atomic_open(&f, out, &err), VGEN_OK);
    dup2(full, f.fd);
    CHECK_EQ_INT(vgen_atomic_write(&f, "x", 1, &err), VGEN_ERR_NO_SPACE);
    vgen_atomic_abort(&f);
    CHECK_EMPTY_DIR(dir);
    close(full);
    clip_free(&c);
}

/* ---- atomic_file -------------------------------------------------------------------------------------- */

static void test_atomic_file(void) {
    char dir[PATH_MAX_T], path[PATH_MAX_T];
    fresh_dir(dir, "atomic");
    join(path, dir, "a.txt");
    vgen_err err;
    CHECK_EQ_INT(vgen_atomic_write_file(path, "old\n", 4, &err), VGEN_OK);
    vgen_atomic_file f, g;
    CHECK_EQ_INT(vgen_atomic_open(&f, path, &err), VGEN_OK);
    CHECK_EQ_INT(vgen_atomic_open(&g, path, &err), VGEN_OK); /* a second writer gets its own temporary */
    CHECK(f.tmp && g.tmp && strcmp(f.tmp, g.tmp) != 0);
    CHECK_EQ_INT(vgen_atomic_write(&f, "new\n", 4, &err), VGEN_OK);
    char *text = read_all(path, NULL);
    CHECK(text && strcmp(text, "old\n") == 0); /* readers see the old file until the commit */
    free(text);
    CHECK_EQ_INT(vgen_atomic_commit(&f, &err), VGEN_OK);
    text = read_all(path, NULL);
    CHECK(text && strcmp(text, "new\n") == 0);
    free(text);
    vgen_atomic_abort(&g);
    vgen_atomic_abort(&g); /* twice: harmless */
    CHECK_EQ_INT(count_entries(dir, NULL, 0), 1);
    CHECK(file_exists(path));
    CHECK_EQ_INT(vgen_atomic_write(&g, "x", 1, &err), VGEN_ERR_INVALID_ARGUMENT);
}

/* ---- the run record ----------------------------------------------------------------------------------- */

static void test_record_roundtrip(void) {
    vgen_run_record rec = sample_record();
    vgen_err err;
    for (int big = 0; big < 2; big++) {
        rec.seed = big ? UINT64_MAX - 6 : (UINT64_C(1) << 53);
        char *text = record_text(&rec);
        CHECK_STR_CONTAINS(text, big ? "\"seed\":\t\"18446744073709551609\"" : "\"seed\":\t9007199254740992");
        vgen_run_record back;
        CHECK_EQ_INT(vgen_run_record_from_json(text, strlen(text), &back, &err), VGEN_OK);
        CHECK(vgen_run_record_equal(&rec, &back));
        CHECK(back.guidance == 0.1 + 0.2);
        vgen_run_record_release(&back);
        CHECK(back.owner_ == NULL);
        free(text);
    }
    char dir[PATH_MAX_T], path[PATH_MAX_T];
    fresh_dir(dir, "record");
    CHECK_EQ_INT(vgen_run_record_write(&rec, join(path, dir, "out.json"), &err), VGEN_OK);
    size_t n = 0;
    char *text = read_all(path, &n);
    vgen_run_record back;
    CHECK_EQ_INT(text ? vgen_run_record_from_json(text, n, &back, &err) : -1, VGEN_OK);
    CHECK(vgen_run_record_equal(&rec, &back));
    vgen_run_record_release(&back);
    free(text);
    CHECK_EQ_INT(count_entries(dir, NULL, 0), 1);
    /* empty and NULL fields survive too */
    vgen_run_record empty = vgen_run_record_init();
    text = record_text(&empty);
    CHECK_EQ_INT(vgen_run_record_from_json(text, strlen(text), &back, &err), VGEN_OK);
    CHECK(vgen_run_record_equal(&empty, &back));
    vgen_run_record_release(&back);
    free(text);
}

static void expect_parse_error(const char *json, int code, const char *text) {
    vgen_run_record r;
    vgen_err err;
    vgen_err_clear(&err);
    CHECK_EQ_INT(vgen_run_record_from_json(json, strlen(json), &r, &err), code);
    CHECK_STR_CONTAINS(err.msg, text);
    CHECK(r.owner_ == NULL);
}

static void test_record_errors(void) {
    expect_parse_error("{\"schema\": \"vgen.run_record/1\", \"width\": \"832\"}", VGEN_ERR_MALFORMED,
                       "key \"width\": expected a non-negative integer");
    expect_parse_error("{\"schema\": \"vgen.run_record/1\", \"model\": {\"files\": [{\"bytes\": 1.5}]}}",
                       VGEN_ERR_MALFORMED, "key \"model.files[0].bytes\"");
    expect_parse_error("{\"schema\": \"vgen.run_record/1\", \"seed\": \"18446744073709551616\"}", VGEN_ERR_MALFORMED,
                       "key \"seed\"");
    expect_parse_error("{\"schema\": \"vgen.run_record/1\", \"timings_s\": {\"denoise\": null}}", VGEN_ERR_MALFORMED,
                       "key \"timings_s.denoise\": expected a finite number");
    expect_parse_error("{\"schema\": \"vgen.run_record/2\"}", VGEN_ERR_UNSUPPORTED, "schema \"vgen.run_record/2\"");
    expect_parse_error("{\"width\": 1}", VGEN_ERR_MALFORMED, "key \"schema\"");
    expect_parse_error("{\"schema\": \"vgen.run_record/1\",}", VGEN_ERR_MALFORMED, "invalid JSON at byte");
    expect_parse_error("[]", VGEN_ERR_MALFORMED, "not a JSON object");
    /* unknown keys are ignored: later versions of the schema still read */
    vgen_run_record r;
    const char *later = "{\"schema\": \"vgen.run_record/1\", \"steps\": 8, \"new_key\": [1, 2]}";
    CHECK_EQ_INT(vgen_run_record_from_json(later, strlen(later), &r, NULL), VGEN_OK);
    CHECK_EQ_INT(r.steps, 8);
    vgen_run_record_release(&r);

    vgen_run_record bad = sample_record();
    char *text = NULL;
    vgen_err err;
    bad.shift = NAN;
    CHECK_EQ_INT(vgen_run_record_to_json(&bad, &text, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "shift is not finite");
    bad = sample_record();
    bad.prompt = "caf\xe9";
    CHECK_EQ_INT(vgen_run_record_to_json(&bad, &text, &err), VGEN_ERR_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(err.msg, "prompt (entry 0) is not valid UTF-8");
    CHECK(text == NULL);
}

int main(void) {
    mkdir(TMP, 0755);
    RUN(test_record_roundtrip);
    RUN(test_record_errors);
    RUN(test_atomic_file);
    RUN(test_mp4_libx264);
    RUN(test_mp4_fallback);
    RUN(test_mp4_bad_requests);
    RUN(test_png_roundtrip);
    RUN(test_tee_all);
    RUN(test_abort_midstream);
    RUN(test_failures_remove_all);
    RUN(test_unwritable);
    RUN(test_disk_full);
    return test_summary();
}

/* test_pipeline.c - the whole pipeline against diffusers' WanPipeline on the tiny model (tests/fixtures/pipeline/tiny:
 * call.json and io.safetensors, made by tools/reference/gen_pipeline.py), fp32 compute: prompt embeddings, initial
 * noise (bit-exact), timesteps and sigmas, every DiT pass, every step's latents, the final latents and the 8-bit
 * frames (PSNR >= 40 dB). The same run writes the mp4, the PNG folder and the JSON record, which are read back here:
 * the mp4 with libavformat/libavcodec (frame count, size, fps, the record in its comment tag), the PNGs with libpng
 * (count, size), the JSON with the record parser (every field against the request). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <png.h>

#include "common/fixture.h"
#include "generate.h"
#include "preset.h"
#include "record_json.h"
#include "testutil.h"

#define TINY_WAN VGEN_FIXTURES_DIR "/../../samples/tiny-wan"
#define OUT_DIR VGEN_TEST_TMPDIR "/pipeline_fixture"
#define STEPS 3

static const char *const k_prompt =
    "A red fox running through a snowy forest at dawn, cinematic lighting, slow motion. Un renard roux \xf0\x9f\xa6\x8a";
static const char *const k_negative =
    "Bright tones, overexposed, static, blurred details, subtitles, worst quality, "
    "\xe8\x89\xb2\xe8\xb0\x83\xe8\x89\xb3\xe4\xb8\xbd\xef\xbc\x8c\xe8\xbf\x87\xe6\x9b\x9d";

/* Every component in f32, as the fixture was made. */
static const char *const k_f32_preset =
    "{\"name\": \"f32\", \"target\": {\"device\": \"cpu\", \"memory_budget_gb\": 8}, \"components\": {"
    "\"text_encoder\": {\"weights\": \"f32\", \"compute\": \"f32\", \"device\": \"cpu\", \"offload\": \"free_after_use\"},"
    "\"dit\": {\"weights\": \"f32\", \"compute\": \"f32\", \"device\": \"cpu\", \"offload\": \"keep\"},"
    "\"vae\": {\"weights\": \"f32\", \"compute\": \"f32\", \"device\": \"cpu\", \"offload\": \"keep\", \"tile\": \"none\"}}}";

/* ---- the comparison, through the run's taps ---------------------------------------------------------------- */

typedef struct worst {
    double max_abs, ref_max, cosine;
} worst;

typedef struct fixture_run {
    vgen_st_set *io;
    int n_ctx, n_denoise, n_steps, init_exact;
    worst ctx, pass, step, final;
    double timestep_err, sigma_err;
    uint8_t frames_u8[5][32 * 48 * 3];
    int n_frames;
} fixture_run;

static void fold(worst *w, fixture_diff d) {
    if (!(d.max_abs <= w->max_abs)) w->max_abs = d.max_abs;
    if (d.ref_max > w->ref_max) w->ref_max = d.ref_max;
    if (d.cosine < w->cosine) w->cosine = d.cosine;
}

static void compare(fixture_run *f, const char *name, const float *got, size_t n, worst *w) {
    size_t m = 0;
    const float *ref = fixture_tensor(f->io, name, VGEN_ST_F32, &m);
    CHECKF(ref && m == n, "%s: %zu elements, the fixture has %zu", name, n, m);
    if (!ref || m != n) return;
    fixture_diff d = fixture_compare(got, ref, n);
    fold(w, d);
    CHECKF(fixture_within_f32(d), "%s: max abs %.3g (ref max %.3g), cosine %.9f", name, d.max_abs, d.ref_max, d.cosine);
}

static void tap_context(void *ud, int cond, const float *ctx, int64_t rows, int64_t width) {
    fixture_run *f = ud;
    f->n_ctx++;
    compare(f, cond ? "prompt_embeds" : "negative_prompt_embeds", ctx, (size_t)(rows * width), &f->ctx);
}

static void tap_init(void *ud, const float *x, size_t n) {
    fixture_run *f = ud;
    size_t m = 0;
    const float *ref = fixture_tensor(f->io, "latents.init", VGEN_ST_F32, &m);
    f->init_exact = ref && m == n && memcmp(ref, x, n * sizeof(float)) == 0;
    CHECKF(f->init_exact, "the initial noise differs from torch.randn (seed 42)");
}

static void tap_schedule(void *ud, const vgen_schedule *s) {
    fixture_run *f = ud;
    size_t nt = 0, ns = 0;
    const int64_t *t = fixture_tensor(f->io, "timesteps", VGEN_ST_I64, &nt);
    const float *sig = fixture_tensor(f->io, "sigmas", VGEN_ST_F32, &ns);
    CHECK(t && sig && (int)nt == s->n_steps && (int)ns == s->n_steps + 1);
    for (int i = 0; t && sig && i < s->n_steps && i < (int)nt; i++)
        f->timestep_err = fmax(f->timestep_err, fabs((double)s->timesteps[i] - (double)t[i]));
    for (int i = 0; sig && i <= s->n_steps && i < (int)ns; i++)
        f->sigma_err = fmax(f->sigma_err, fabs((double)(float)s->sigmas[i] - (double)sig[i]));
    CHECKF(f->timestep_err == 0, "timesteps differ by %g", f->timestep_err);
    CHECKF(f->sigma_err <= 1e-6, "sigmas differ by %g", f->sigma_err);
}

static void tap_denoise(void *ud, int step, float t, int cond, const float *x, const float *v, size_t n) {
    fixture_run *f = ud;
    char name[64];
    (void)t;
    f->n_denoise++;
    snprintf(name, sizeof name, "step%d.latents_in", step);
    compare(f, name, x, n, &f->step);
    snprintf(name, sizeof name, "step%d.noise_pred_%s", step, cond ? "cond" : "uncond");
    compare(f, name, v, n, &f->pass);
}

static void tap_step(void *ud, int step, const float *x, size_t n) {
    fixture_run *f = ud;
    char name[64];
    f->n_steps++;
    snprintf(name, sizeof name, "step%d.latents_out", step);
    compare(f, name, x, n, &f->step);
    if (step == STEPS - 1) compare(f, "latents.final", x, n, &f->final);
}

static int on_frame(const vgen_frame *fr, void *ud) {
    fixture_run *f = ud;
    if (fr->index < 5 && fr->width == 48 && fr->height == 32) memcpy(f->frames_u8[fr->index], fr->rgb24, 32 * 48 * 3);
    f->n_frames++;
    return 0;
}

static double psnr_u8(const uint8_t *a, const uint8_t *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se == 0 ? INFINITY : 10.0 * log10(255.0 * 255.0 * (double)n / se);
}

/* ---- reading the outputs back ----------------------------------------------------------------------------------- */

typedef struct mp4_info {
    int ok, width, height, frames;
    AVRational fps;
    char *comment;
} mp4_info;

static int count_decoded(AVCodecContext *dec, AVFrame *f) {
    int n = 0;
    while (avcodec_receive_frame(dec, f) == 0) {
        n++;
        av_frame_unref(f);
    }
    return n;
}

static void decode_all(AVFormatContext *fmt, AVCodecContext *dec, int stream, mp4_info *m) {
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    while (pkt && f && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == stream && avcodec_send_packet(dec, pkt) >= 0) m->frames += count_decoded(dec, f);
        av_packet_unref(pkt);
    }
    if (f && avcodec_send_packet(dec, NULL) >= 0) m->frames += count_decoded(dec, f);
    av_frame_free(&f);
    av_packet_free(&pkt);
}

static mp4_info read_mp4(const char *path) {
    mp4_info m = {0};
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0) return m;
    int stream = avformat_find_stream_info(fmt, NULL) >= 0 ? av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)
                                                           : -1;
    const AVDictionaryEntry *tag = av_dict_get(fmt->metadata, "comment", NULL, 0);
    m.comment = tag ? strdup(tag->value) : NULL;
    if (stream >= 0) {
        const AVStream *st = fmt->streams[stream];
        const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
        m.width = st->codecpar->width;
        m.height = st->codecpar->height;
        m.fps = st->avg_frame_rate;
        dec = codec ? avcodec_alloc_context3(codec) : NULL;
        if (dec && avcodec_parameters_to_context(dec, st->codecpar) >= 0 && avcodec_open2(dec, codec, NULL) >= 0) {
            decode_all(fmt, dec, stream, &m);
            m.ok = 1;
        }
    }
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return m;
}

/* Width and height of a PNG file (0 if it is not one). */
static void png_size(const char *path, unsigned *w, unsigned *h) {
    *w = *h = 0;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (png_image_begin_read_from_file(&img, path)) {
        *w = img.width;
        *h = img.height;
    }
    png_image_free(&img);
}

static void check_pngs(const char *dir) {
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        unsigned w, h;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        png_size(path, &w, &h);
        CHECKF(w == 48 && h == 32, "%s: %ux%u, expected 48x32", path, w, h);
        CHECKF(strncmp(e->d_name, "frame_", 6) == 0, "unexpected file %s", path);
        n++;
    }
    if (d) closedir(d);
    CHECKF(n == 5, "%s holds %d PNG frames, expected 5", dir, n);
}

/* The record against the request; the same text must be in the mp4's comment tag. */
static void check_record(const char *text, const char *what) {
    vgen_run_record rec;
    vgen_err err = {0};
    CHECKF(text && vgen_run_record_from_json(text, strlen(text), &rec, &err) == 0, "%s: %s", what, err.msg);
    if (!text || err.code) return;
    CHECK(rec.prompt && strcmp(rec.prompt, k_prompt) == 0);
    CHECK(rec.negative_prompt && strcmp(rec.negative_prompt, k_negative) == 0);
    CHECK(rec.seed == 42 && rec.width == 48 && rec.height == 32 && rec.frames == 5 && rec.steps == STEPS);
    CHECK(rec.fps_num == 16 && rec.fps_den == 1 && rec.guidance == 5.0 && rec.shift == 3.0);
    CHECK(rec.sampler && strcmp(rec.sampler, "unipc") == 0);
    CHECK(rec.preset && strcmp(rec.preset, "f32") == 0);
    CHECK(rec.model_family && strcmp(rec.model_family, "wan21") == 0);
    CHECK(rec.vgen_version && strcmp(rec.vgen_version, vgen_version_string()) == 0);
    CHECK_EQ_INT(rec.n_files, 5);
    CHECK_EQ_INT(rec.n_components, 3);
    for (size_t i = 0; i < rec.n_components; i++)
        CHECKF(strcmp(rec.components[i].weights, "f32") == 0 && strcmp(rec.components[i].compute, "f32") == 0,
               "%s runs %s / %s", rec.components[i].name, rec.components[i].weights, rec.components[i].compute);
    int phases = 0;
    for (size_t i = 0; i < rec.n_timings; i++) phases += rec.timings[i].seconds >= 0;
    CHECK(rec.n_timings == 4 && phases == 4);
    vgen_run_record_release(&rec);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

static void check_outputs(void) {
    mp4_info m = read_mp4(OUT_DIR "/fox.mp4");
    CHECKF(m.ok, "cannot decode %s", OUT_DIR "/fox.mp4");
    CHECKF(m.frames == 5 && m.width == 48 && m.height == 32, "mp4: %d frames of %dx%d", m.frames, m.width, m.height);
    CHECKF(m.fps.num == 16 && m.fps.den == 1, "mp4: fps %d/%d", m.fps.num, m.fps.den);
    check_record(m.comment, "mp4 comment");
    char *json = slurp(OUT_DIR "/fox.json");
    check_record(json, "fox.json");
    CHECKF(json && m.comment && strncmp(json, m.comment, strlen(m.comment)) == 0, "the JSON file and the mp4 tag differ");
    free(json);
    free(m.comment);
    check_pngs(OUT_DIR "/png");
}

/* ---- the tests --------------------------------------------------------------------------------------------------- */

static vgen_model *load_f32(vgen_context *ctx) {
    vgen_preset preset;
    vgen_err err = {0};
    CHECKF(vgen_preset_parse(k_f32_preset, strlen(k_f32_preset), "f32.json", &preset, &err) == 0, "%s", err.msg);
    vgen_model_params mp = vgen_model_params_init();
    mp.model_dir = TINY_WAN;
    mp.preset = &preset;
    vgen_model *m = NULL;
    CHECKF(vgen_model_load(ctx, &mp, &m) == VGEN_OK, "load: %s", vgen_context_last_error(ctx));
    return m;
}

static void test_fixture_fp32(void) {
    static fixture_run f;
    memset(&f, 0, sizeof f);
    f.ctx.cosine = f.pass.cosine = f.step.cosine = f.final.cosine = 1;
    f.io = fixture_open("pipeline/tiny/io.safetensors");
    vgen_context *ctx = NULL;
    CHECK(f.io && vgen_context_new(NULL, &ctx) == VGEN_OK);
    vgen_model *m = ctx ? load_f32(ctx) : NULL;
    if (!f.io || !m) {
        vgen_model_free(&m);
        vgen_context_free(&ctx);
        vgen_st_close(&f.io);
        return;
    }
    mkdir(OUT_DIR, 0755);
    unlink(OUT_DIR "/fox.mp4"), unlink(OUT_DIR "/fox.json");
    vgen_generate_params p = vgen_generate_params_init();
    p.prompt = k_prompt, p.negative_prompt = k_negative;
    p.width = 48, p.height = 32, p.frames = 5, p.steps = STEPS, p.guidance = 5.0, p.seed = 42;
    p.output = OUT_DIR "/fox.mp4", p.png_dir = OUT_DIR "/png", p.json = OUT_DIR "/fox.json";
    p.on_frame = on_frame, p.frame_user_data = &f;
    const vgen_generate_taps taps = {&f, tap_context, tap_init, tap_schedule, tap_denoise, tap_step};
    CHECKF(vgen_generate_run(ctx, m, &p, &taps) == VGEN_OK, "generate: %s", vgen_context_last_error(ctx));
    CHECK(f.n_ctx == 2 && f.n_denoise == 2 * STEPS && f.n_steps == STEPS && f.n_frames == 5 && f.init_exact);
    size_t n = 0;
    const uint8_t *ref = fixture_tensor(f.io, "frames.u8", VGEN_ST_U8, &n);
    double psnr = ref && n == sizeof f.frames_u8 ? psnr_u8(&f.frames_u8[0][0], ref, n) : 0;
    CHECKF(psnr >= 40.0, "frames: PSNR %.2f dB against diffusers' uint8 frames", psnr);
    printf("  vs diffusers WanPipeline (fp32): embeds max %.2e cos %.9f | DiT passes max %.2e (ref %.2f) | step "
           "latents max %.2e | final latents max %.2e cos %.9f | timesteps exact, sigmas %.1e | noise %s | frames "
           "PSNR %.2f dB\n", f.ctx.max_abs, f.ctx.cosine, f.pass.max_abs, f.pass.ref_max, f.step.max_abs,
           f.final.max_abs, f.final.cosine, f.sigma_err, f.init_exact ? "bit-exact" : "DIFFERS", psnr);
    check_outputs();
    vgen_model_free(&m);
    vgen_context_free(&ctx);
    vgen_st_close(&f.io);
}

int main(void) {
    RUN(test_fixture_fp32);
    return test_summary();
}

/* generate_validate.c - vgen_generate_validate: every parameter and every output checked before anything heavy
 * runs, with messages that name the parameter and suggest a valid value. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "generate.h"
#include "json_strict.h"
#include "sink_impl.h"

#define MAX_FRAMES 100001
#define PATH_BYTES 4096

/* The multiple of m nearest to v (at least m; ties go up). */
static int nearest_multiple(int v, int m) {
    int lo = v / m * m, hi = lo + m;
    if (lo < m) return m;
    return v - lo < hi - v ? lo : hi;
}

static int check_size(const vgen_family *f, int w, int h, vgen_err *err) {
    const int m = f->size_multiple;
    if (w < 1 || h < 1 || w > VGEN_SINK_MAX_SIDE || h > VGEN_SINK_MAX_SIDE)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "size %dx%d: width and height must be in %d..%d", w, h, m,
                            VGEN_SINK_MAX_SIDE / m * m);
    if (w % m == 0 && h % m == 0) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "size %dx%d: width and height must be multiples of %d; the "
                        "nearest valid size is %dx%d", w, h, m, nearest_multiple(w, m), nearest_multiple(h, m));
}

static int check_frames(const vgen_family *f, int frames, vgen_err *err) {
    const int t = f->temporal_factor;
    if (frames < 1 || frames > MAX_FRAMES)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "frames %d: must be in 1..%d", frames, MAX_FRAMES);
    if ((frames - 1) % t == 0) return VGEN_OK;
    const int lo = (frames - 1) / t * t + 1, hi = lo + t;
    const int best = frames - lo < hi - frames ? lo : hi;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "frames %d: the frame count must be of the form %dk+1 (1, %d, "
                        "%d, ...); the nearest valid counts are %d and %d (use %d)", frames, t, 1 + t, 1 + 2 * t, lo,
                        hi, best);
}

static int check_text(const char *what, const char *s, vgen_err *err) {
    size_t bad = 0;
    const char *why = "";
    if (!s || vgen_utf8_validate((const uint8_t *)s, strlen(s), &bad, &why)) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: invalid UTF-8 at byte %zu (%s)", what, bad, why);
}

static int check_numbers(const vgen_generate_params *p, vgen_err *err) {
    if (p->steps < 1 || p->steps > VGEN_SCHEDULE_MAX_STEPS)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "steps %d: must be in 1..%d", p->steps,
                            VGEN_SCHEDULE_MAX_STEPS);
    if (!isfinite(p->guidance) || p->guidance < 0 || p->guidance > 100)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "guidance %g: must be in 0..100 (1 = no guidance)",
                            p->guidance);
    if (!isfinite(p->shift) || p->shift < 0 || p->shift > 1000)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "shift %g: must be > 0 (or 0 for the model's)", p->shift);
    if (p->fps < 1 || p->fps > 240)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "fps %d: must be in 1..240", p->fps);
    if (p->crf < 0 || p->crf > 51) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "crf %d: must be in 0..51", p->crf);
    if (p->sampler && strcmp(p->sampler, "unipc") != 0 && strcmp(p->sampler, "euler") != 0)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "sampler \"%.32s\": must be unipc or euler", p->sampler);
    return VGEN_OK;
}

/* Creates and removes a file in dir: the one test of writability that also holds for root and read-only mounts. */
static int probe_dir(const char *what, const char *path, const char *dir, vgen_err *err) {
    struct stat st;
    if (stat(dir, &st) != 0)
        return vgen_err_set(err, VGEN_ERR_IO, "%s %s: folder %s does not exist", what, path, dir);
    if (!S_ISDIR(st.st_mode)) return vgen_err_set(err, VGEN_ERR_IO, "%s %s: %s is not a folder", what, path, dir);
    char probe[PATH_BYTES];
    int n = snprintf(probe, sizeof probe, "%s/.vgen-probe-XXXXXX", dir);
    if (n < 0 || n >= (int)sizeof probe) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: path too long", what);
    int fd = mkstemp(probe);
    if (fd < 0)
        return vgen_err_set(err, VGEN_ERR_IO, "%s %s: cannot write in folder %s: %s", what, path, dir, strerror(errno));
    close(fd);
    unlink(probe);
    return VGEN_OK;
}

/* The folder holding path ("." for a bare name). */
static int parent_of(const char *path, char *out, vgen_err *err) {
    char tmp[PATH_BYTES];
    if (strlen(path) >= sizeof tmp) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "path too long: %.200s", path);
    strcpy(tmp, path);
    snprintf(out, PATH_BYTES, "%s", dirname(tmp));
    return VGEN_OK;
}

static int check_file_output(const char *what, const char *path, vgen_err *err) {
    struct stat st;
    char dir[PATH_BYTES];
    if (!path[0]) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: empty path", what);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return vgen_err_set(err, VGEN_ERR_IO, "%s %s: is a folder, not a file", what, path);
    int rc = parent_of(path, dir, err);
    return rc ? rc : probe_dir(what, path, dir, err);
}

static int check_png_dir(const char *path, vgen_err *err) {
    struct stat st;
    char dir[PATH_BYTES];
    if (!path[0]) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "png_dir: empty path");
    if (stat(path, &st) == 0) return probe_dir("png_dir", path, path, err);
    int rc = parent_of(path, dir, err);
    return rc ? rc : probe_dir("png_dir", path, dir, err);
}

static int check_outputs(const vgen_generate_params *p, vgen_err *err) {
    if (!p->output && !p->png_dir && !p->json && !p->on_frame)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "no output: give an mp4 path, a PNG folder, a JSON path "
                            "or a frame callback");
    if (p->output && p->json && strcmp(p->output, p->json) == 0)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "output and json are the same file %s", p->json);
    int rc = p->output ? check_file_output("output", p->output, err) : VGEN_OK;
    if (!rc && p->json) rc = check_file_output("json", p->json, err);
    if (!rc && p->png_dir) rc = check_png_dir(p->png_dir, err);
    return rc;
}

int vgen_generate_check(const vgen_model *model, const vgen_generate_params *p, vgen_err *err) {
    if (!p) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_generate: NULL params");
    const vgen_family *f = model ? model->family : &vgen_family_wan21;
    int rc = check_size(f, p->width, p->height, err);
    if (!rc) rc = check_frames(f, p->frames, err);
    if (!rc) rc = check_numbers(p, err);
    if (!rc) rc = check_text("prompt", p->prompt, err);
    if (!rc) rc = check_text("negative_prompt", p->negative_prompt, err);
    if (!rc) rc = check_outputs(p, err);
    return rc;
}

vgen_status vgen_generate_validate(vgen_context *ctx, const vgen_model *model, const vgen_generate_params *params) {
    if (!ctx) return VGEN_ERR_INVALID_ARGUMENT;
    vgen_err_clear(&ctx->err);
    vgen_generate_check(model, params, &ctx->err);
    return vgen_ctx_fail(ctx, &ctx->err);
}

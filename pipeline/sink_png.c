/* sink_png.c - the PNG sink: a directory of frame_00000.png, frame_00001.png, ... (8-bit RGB, libpng's simplified
 * API), each frame written atomically (temporary file + rename) as it arrives. The directory is created when
 * missing (its parent must exist). Abort removes the frames this sink wrote and the directory if it created it;
 * frames already in the directory from earlier runs are left alone (and replaced when the names coincide). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>

#include "atomic_file.h"
#include "sink_impl.h"

#define PNG_NAME_EXTRA 32 /* "/frame_" + digits + ".png" + NUL */

typedef struct png_sink {
    char *dir;
    char *name;           /* scratch for "<dir>/frame_NNNNN.png" */
    size_t name_size;
    int width, height;
    int created_dir;      /* the sink made the directory: abort removes it */
    int committed;        /* after commit, abort keeps everything */
    int64_t n_written;    /* frames 0 .. n_written-1 are in place */
    void *png;            /* encoded bytes of one frame */
    size_t png_cap;
} png_sink;

static const char *frame_name(png_sink *s, int64_t index) {
    snprintf(s->name, s->name_size, "%s/frame_%05lld.png", s->dir, (long long)index);
    return s->name;
}

static int png_send(void *impl, const uint8_t *rgb24, int64_t index, vgen_err *err) {
    png_sink *s = impl;
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)s->width;
    image.height = (png_uint_32)s->height;
    image.format = PNG_FORMAT_RGB;
    png_alloc_size_t size = s->png_cap;
    int ok = png_image_write_to_memory(&image, s->png, &size, 0, rgb24, 3 * s->width, NULL);
    const char *path = frame_name(s, index);
    if (!ok) {
        int rc = vgen_err_set(err, VGEN_ERR_INTERNAL, "%s: libpng failed (%s)", path, image.message);
        png_image_free(&image);
        return rc;
    }
    png_image_free(&image);
    int rc = vgen_atomic_write_file(path, s->png, size, err);
    if (!rc) s->n_written = index + 1;
    return rc;
}

static int png_prepare(void *impl, vgen_err *err) {
    (void)impl;
    (void)err;
    return VGEN_OK; /* every frame is already durable and in place */
}

static int png_commit(void *impl, vgen_err *err) {
    (void)err;
    ((png_sink *)impl)->committed = 1;
    return VGEN_OK;
}

static void png_abort(void *impl) {
    png_sink *s = impl;
    if (s->committed) return;
    for (int64_t i = 0; i < s->n_written; i++) unlink(frame_name(s, i));
    s->n_written = 0;
    if (s->created_dir) rmdir(s->dir);
    s->created_dir = 0;
}

static void png_destroy(void *impl) {
    png_sink *s = impl;
    png_abort(s);
    free(s->png);
    free(s->name);
    free(s->dir);
    free(s);
}

static const vgen_sink_ops png_ops = {"png", png_send, NULL, png_prepare, png_commit, png_abort, png_destroy};

/* Creates the directory, or checks that the existing path is a writable directory. */
static int make_dir(png_sink *s, vgen_err *err) {
    if (mkdir(s->dir, 0777) == 0) {
        s->created_dir = 1;
        return VGEN_OK;
    }
    if (errno != EEXIST) return vgen_io_error(err, s->dir, "creating the frame directory", errno);
    struct stat st;
    if (stat(s->dir, &st) != 0) return vgen_io_error(err, s->dir, "stat", errno);
    if (!S_ISDIR(st.st_mode))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: exists and is not a directory", s->dir);
    if (access(s->dir, W_OK | X_OK) != 0) return vgen_io_error(err, s->dir, "writing into the frame directory", errno);
    return VGEN_OK;
}

static int png_alloc(png_sink *s, const vgen_sink_params *p, vgen_err *err) {
    size_t len = strlen(p->path);
    while (len > 1 && p->path[len - 1] == '/') len--; /* "out/" names the directory "out" */
    s->dir = strndup(p->path, len);
    s->name_size = len + PNG_NAME_EXTRA;
    s->name = malloc(s->name_size);
    png_image image;
    memset(&image, 0, sizeof image);
    image.width = (png_uint_32)p->width;
    image.height = (png_uint_32)p->height;
    image.format = PNG_FORMAT_RGB;
    s->png_cap = PNG_IMAGE_PNG_SIZE_MAX(image);
    s->png = malloc(s->png_cap);
    if (!s->dir || !s->name || !s->png)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory for %dx%d PNG frames", p->path,
                            p->width, p->height);
    return VGEN_OK;
}

int vgen_sink_png_open(const vgen_sink_params *p, vgen_sink **out, vgen_err *err) {
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_sink_png_open: NULL output");
    *out = NULL;
    int rc = vgen_sink_check_params(p, "png", err);
    if (rc) return rc;
    png_sink *s = calloc(1, sizeof *s);
    if (!s) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", p->path);
    s->width = p->width;
    s->height = p->height;
    rc = png_alloc(s, p, err);
    if (!rc) rc = make_dir(s, err);
    if (rc) {
        png_destroy(s);
        return rc;
    }
    return vgen_sink_wrap(&png_ops, s, p, out, err);
}

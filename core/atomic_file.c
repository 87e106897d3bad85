/* atomic_file.c - temporary file beside the target, fsync, rename; unlink on abort. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ATOMIC_MAX_TRIES 1000

vgen_atomic_file vgen_atomic_file_none(void) {
    vgen_atomic_file f = {NULL, NULL, -1, 0};
    return f;
}

int vgen_io_error(vgen_err *err, const char *path, const char *what, int errnum) {
    int code = (errnum == ENOSPC || errnum == EDQUOT) ? VGEN_ERR_NO_SPACE : VGEN_ERR_IO;
    return vgen_err_set(err, code, "%s: %s failed (%s)", path, what, strerror(errnum));
}

void vgen_sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Creates "<path>.tmp.<pid>.<n>" for the first n that does not exist yet. */
static int create_tmp(vgen_atomic_file *f, vgen_err *err) {
    size_t len = strlen(f->path) + 48;
    f->tmp = malloc(len);
    if (!f->tmp) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", f->path);
    for (int n = 0; n < ATOMIC_MAX_TRIES; n++) {
        snprintf(f->tmp, len, "%s.tmp.%ld.%d", f->path, (long)getpid(), n);
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (f->fd >= 0) return VGEN_OK;
        if (errno != EEXIST) return vgen_io_error(err, f->path, "creating a temporary file beside it", errno);
    }
    return vgen_err_set(err, VGEN_ERR_IO, "%s: %d stale temporary files beside it; remove %s.tmp.*", f->path,
                        ATOMIC_MAX_TRIES, f->path);
}

int vgen_atomic_open(vgen_atomic_file *f, const char *path, vgen_err *err) {
    if (f) *f = vgen_atomic_file_none();
    if (!f || !path || !*path)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_atomic_open: NULL or empty path");
    f->path = strdup(path);
    if (!f->path) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    int rc = create_tmp(f, err);
    if (rc) {
        free(f->tmp);
        free(f->path);
        *f = vgen_atomic_file_none();
    }
    return rc;
}

int vgen_atomic_write(vgen_atomic_file *f, const void *bytes, size_t n, vgen_err *err) {
    if (!f || f->fd < 0 || (n && !bytes))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_atomic_write: file not open or NULL data");
    const uint8_t *p = bytes;
    while (n > 0) {
        ssize_t k = write(f->fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            f->last_errno = k < 0 ? errno : EIO;
            return vgen_io_error(err, f->path, "writing", f->last_errno);
        }
        p += k;
        n -= (size_t)k;
    }
    return VGEN_OK;
}

int vgen_atomic_prepare(vgen_atomic_file *f, vgen_err *err) {
    if (!f || !f->tmp) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_atomic_prepare: no file");
    if (f->fd < 0) return VGEN_OK;
    int rc = VGEN_OK;
    if (fsync(f->fd) != 0) rc = vgen_io_error(err, f->path, "fsync", errno);
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0 && !rc) rc = vgen_io_error(err, f->path, "close", errno);
    if (rc) vgen_atomic_abort(f);
    return rc;
}

int vgen_atomic_commit(vgen_atomic_file *f, vgen_err *err) {
    int rc = vgen_atomic_prepare(f, err);
    if (rc) return rc;
    if (rename(f->tmp, f->path) != 0) {
        rc = vgen_io_error(err, f->path, "rename into place", errno);
        vgen_atomic_abort(f);
        return rc;
    }
    vgen_sync_parent_dir(f->path);
    free(f->tmp);
    free(f->path);
    *f = vgen_atomic_file_none();
    return VGEN_OK;
}

void vgen_atomic_abort(vgen_atomic_file *f) {
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    if (f->tmp) unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    *f = vgen_atomic_file_none();
}

int vgen_atomic_write_file(const char *path, const void *bytes, size_t n, vgen_err *err) {
    vgen_atomic_file f = vgen_atomic_file_none();
    int rc = vgen_atomic_open(&f, path, err);
    if (!rc) rc = vgen_atomic_write(&f, bytes, n, err);
    if (!rc) rc = vgen_atomic_commit(&f, err);
    if (rc) vgen_atomic_abort(&f);
    return rc;
}

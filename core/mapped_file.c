/* mapped_file.c - read-only whole-file mappings. */
#include "mapped_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_error(const char *name, int e, vgen_err *err) {
    if (e == ENOENT || e == ENOTDIR)
        return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "%s: not found (%s)", name, strerror(e));
    return vgen_err_set(err, VGEN_ERR_IO, "%s: cannot open (%s)", name, strerror(e));
}

/* Maps fd's size bytes; an empty file maps nothing. */
static int map_fd(int fd, const char *name, const struct stat *st, vgen_mapped_file *f, vgen_err *err) {
    if (!S_ISREG(st->st_mode)) return vgen_err_set(err, VGEN_ERR_IO, "%s: not a regular file", name);
    if (st->st_size < 0 || (uint64_t)st->st_size > (uint64_t)SIZE_MAX)
        return vgen_err_set(err, VGEN_ERR_IO, "%s: file size %lld cannot be mapped", name, (long long)st->st_size);
    size_t size = (size_t)st->st_size;
    if (size == 0) return VGEN_OK;
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return vgen_err_set(err, VGEN_ERR_IO, "%s: mmap failed (%s)", name, strerror(errno));
    f->data = p;
    f->size = size;
    return VGEN_OK;
}

int vgen_mapped_file_open(const char *path, const char *display, vgen_mapped_file *f, vgen_err *err) {
    memset(f, 0, sizeof *f);
    const char *name = display ? display : path;
    int fd; /* O_NONBLOCK: opening a FIFO must not hang; it is then refused as not a regular file */
    do fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return open_error(name, errno, err);
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? vgen_err_set(err, VGEN_ERR_IO, "%s: cannot stat (%s)", name, strerror(errno))
                                 : map_fd(fd, name, &st, f, err);
    close(fd); /* the mapping stays valid after close */
    return rc;
}

void vgen_mapped_file_close(vgen_mapped_file *f) {
    if (!f) return;
    if (f->data) munmap((void *)(uintptr_t)f->data, f->size);
    memset(f, 0, sizeof *f);
}

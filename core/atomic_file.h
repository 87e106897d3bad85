/* atomic_file.h - writing a file so that readers see either the old file or the complete new one.
 *
 * The bytes go to a temporary file beside the target ("<path>.tmp.<pid>.<n>", created with O_EXCL so two writers
 * of one path never share it); commit fsyncs and closes it, renames it onto the target and fsyncs the directory
 * (best effort); abort closes and unlinks it. Commit is split in two (prepare: fsync + close; commit: rename) so
 * that a set of files can be made durable first and renamed together afterwards (sink_tee.c).
 *
 * Failed system calls become VGEN_ERR_NO_SPACE (ENOSPC, EDQUOT) or VGEN_ERR_IO, with a message naming the target
 * path, the operation and strerror. The struct is plain: the sinks embed it. */
#ifndef VGEN_CORE_ATOMIC_FILE_H
#define VGEN_CORE_ATOMIC_FILE_H

#include <stddef.h>

#include "err.h"

typedef struct vgen_atomic_file {
    char *path;   /* the target */
    char *tmp;    /* the temporary file beside it; NULL once renamed or removed */
    int fd;       /* open on tmp until prepare, commit or abort; -1 otherwise */
    int last_errno; /* errno of the last failed write (0 if none): lets callers behind other APIs
                       (an AVIOContext) recover ENOSPC */
} vgen_atomic_file;

/* An all-empty value ({NULL, NULL, -1, 0}); abort on it does nothing. */
vgen_atomic_file vgen_atomic_file_none(void);

/* Creates the temporary file for path. On failure f is left as vgen_atomic_file_none() and nothing exists. */
int vgen_atomic_open(vgen_atomic_file *f, const char *path, vgen_err *err);

/* Appends n bytes (retrying short writes and EINTR). */
int vgen_atomic_write(vgen_atomic_file *f, const void *bytes, size_t n, vgen_err *err);

/* fsync + close: the data is durable under the temporary name. Idempotent. On failure the temp is removed. */
int vgen_atomic_prepare(vgen_atomic_file *f, vgen_err *err);

/* prepare (if not done), rename onto the target, fsync the directory; frees the names. On failure the temp is
 * removed and the target untouched. */
int vgen_atomic_commit(vgen_atomic_file *f, vgen_err *err);

/* Closes and removes the temporary file (if any) and frees the names. Safe to call twice. */
void vgen_atomic_abort(vgen_atomic_file *f);

/* The whole cycle for a buffer already in memory: open, write, commit (abort on any failure). */
int vgen_atomic_write_file(const char *path, const void *bytes, size_t n, vgen_err *err);

/* Sets err for a failed system call on path: ENOSPC/EDQUOT give VGEN_ERR_NO_SPACE, anything else VGEN_ERR_IO.
 * Message: "<path>: <what> failed (<strerror>)". Returns the code. */
int vgen_io_error(vgen_err *err, const char *path, const char *what, int errnum);

/* fsync of the directory holding path, best effort (some file systems refuse it). */
void vgen_sync_parent_dir(const char *path);

#endif

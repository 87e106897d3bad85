/* backend_emu.c - the device emulator (backend_emu.h): buffers behind mprotect, the two queues and their checks,
 * construction. The op wrappers are in emu_ops.c. */
#include "emu/emu_impl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ref/backend_common.h"

static int emu_fail(vgen_err *err, const char *what, const char *why) {
    return vgen_err_set(err, VGEN_ERR_INTERNAL, "device emulator: %s: %s", what, why);
}

emu_buf *emu_find(emu_impl *im, const void *p, size_t bytes) {
    const uint8_t *q = p;
    for (size_t i = 0; i < im->n_bufs; i++) {
        emu_buf *b = &im->bufs[i];
        if (q >= b->p && q <= b->p + b->bytes && bytes <= (size_t)(b->p + b->bytes - q)) return b;
    }
    return NULL;
}

/* A failure here (mprotect on our own mapping, a free of a pointer never given out) is kept and reported by every
 * later call: the library does not abort. */
static void protect_all(emu_impl *im, int prot) {
    for (size_t i = 0; i < im->n_bufs; i++)
        if (mprotect(im->bufs[i].p, im->bufs[i].mapped, prot) != 0) im->broken = "mprotect failed";
}

int emu_check(vgen_backend *be, const char *what, vgen_err *err) {
    const char *why = emu_of(be)->broken;
    return why ? emu_fail(err, what, why) : VGEN_OK;
}

void emu_open(emu_impl *im) {
    im->compute_seq++;
    protect_all(im, PROT_READ | PROT_WRITE);
    im->open = 1;
}

void emu_close(emu_impl *im) {
    protect_all(im, PROT_NONE);
    im->open = 0;
}

int emu_touch(vgen_backend *be, const void *p, size_t bytes, const char *what, vgen_err *err) {
    if (!p) return emu_check(be, what, err);
    emu_impl *im = emu_of(be);
    if (im->broken) return emu_check(be, what, err);
    emu_buf *b = emu_find(im, p, bytes);
    if (!b) return emu_fail(err, what, "not device memory (a host pointer, or past the end of a buffer)");
    if (b->pending > im->compute_saw)
        return emu_fail(err, what, "reads a buffer whose upload_async the compute queue has not waited for");
    b->last_use = im->compute_seq + 1; /* the op about to run */
    return VGEN_OK;
}

int emu_touch_tensor(vgen_backend *be, const vgen_tensor *t, const char *what, vgen_err *err) {
    if (!t) return VGEN_OK;
    return emu_touch(be, t->data, vgen_tensor_bytes(t), what, err);
}

/* ---- device memory ---- */

static void *emu_alloc(vgen_backend *be, size_t bytes, vgen_err *err) {
    emu_impl *im = emu_of(be);
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t mapped = (bytes + page - 1) / page * page;
    if (mapped < bytes || (im->n_bufs == im->cap_bufs && im->cap_bufs > SIZE_MAX / 2 / sizeof(emu_buf))) {
        vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "device emulator: cannot allocate %zu bytes", bytes);
        return NULL;
    }
    if (im->n_bufs == im->cap_bufs) {
        size_t cap = im->cap_bufs ? 2 * im->cap_bufs : 64;
        emu_buf *nb = realloc(im->bufs, cap * sizeof *nb);
        if (!nb) {
            vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "device emulator: cannot grow the buffer table");
            return NULL;
        }
        im->bufs = nb, im->cap_bufs = cap;
    }
    void *p = mmap(NULL, mapped ? mapped : page, im->open ? PROT_READ | PROT_WRITE : PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "device emulator: cannot allocate %zu bytes (%zu in use)", bytes,
                     be->mem.current);
        return NULL;
    }
    im->bufs[im->n_bufs++] = (emu_buf){p, bytes, mapped ? mapped : page, 0, 0};
    vgen_memstat_add(&be->mem, bytes);
    return p;
}

static void emu_buf_free(vgen_backend *be, void *p, size_t bytes) {
    if (!p) return;
    emu_impl *im = emu_of(be);
    for (size_t i = 0; i < im->n_bufs; i++) {
        if (im->bufs[i].p != p) continue;
        munmap(im->bufs[i].p, im->bufs[i].mapped);
        im->bufs[i] = im->bufs[--im->n_bufs];
        vgen_memstat_sub(&be->mem, bytes);
        return;
    }
    im->broken = "buf_free of a pointer this backend never allocated";
}

/* ---- synchronous copies (compute queue) ---- */

static int sync_copy(vgen_backend *be, void *dst, const void *src, size_t bytes, int dst_dev, int src_dev,
                     const char *who, vgen_err *err) {
    if (!bytes) return emu_check(be, who, err);
    if (!dst || !src) return emu_fail(err, who, "NULL pointer");
    int rc = dst_dev ? emu_touch(be, dst, bytes, who, err) : VGEN_OK;
    if (!rc && src_dev) rc = emu_touch(be, src, bytes, who, err);
    if (!rc && !dst_dev && emu_find(emu_of(be), dst, 1)) rc = emu_fail(err, who, "destination is device memory");
    if (!rc && !src_dev && emu_find(emu_of(be), src, 1)) rc = emu_fail(err, who, "source is device memory");
    if (rc) return rc;
    emu_open(emu_of(be));
    memmove(dst, src, bytes);
    emu_close(emu_of(be));
    return VGEN_OK;
}

static int emu_upload(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err) {
    return sync_copy(be, dst, src, bytes, 1, 0, "upload", err);
}

static int emu_download(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err) {
    return sync_copy(be, dst, src, bytes, 0, 1, "download", err);
}

static int emu_copy(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err) {
    return sync_copy(be, dst, src, bytes, 1, 1, "copy", err);
}

static int emu_synchronize(vgen_backend *be, vgen_err *err) {
    int rc = emu_check(be, "synchronize", err);
    if (rc) return rc;
    emu_impl *im = emu_of(be);
    im->compute_saw = im->copy_seq;
    im->copy_saw = im->compute_seq;
    return VGEN_OK;
}

/* ---- staging memory, the copy queue, fences ---- */

static void *emu_host_alloc(vgen_backend *be, size_t bytes, vgen_err *err) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!p) {
        vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "device emulator: cannot allocate %zu bytes of staging", bytes);
        return NULL;
    }
    vgen_memstat_add(&be->host_mem, bytes);
    return p;
}

static void emu_host_free(vgen_backend *be, void *p, size_t bytes) {
    if (!p) return;
    vgen_memstat_sub(&be->host_mem, bytes);
    free(p);
}

static int emu_upload_async(vgen_backend *be, void *dst, const void *src, size_t bytes, vgen_err *err) {
    if (!bytes) return emu_check(be, "upload_async", err);
    emu_impl *im = emu_of(be);
    if (!dst || !src) return emu_fail(err, "upload_async", "NULL pointer");
    if (im->broken) return emu_check(be, "upload_async", err);
    emu_buf *b = emu_find(im, dst, bytes);
    if (!b) return emu_fail(err, "upload_async", "destination is not device memory");
    if (emu_find(im, src, 1)) return emu_fail(err, "upload_async", "source is device memory");
    if (b->last_use > im->copy_saw)
        return emu_fail(err, "upload_async", "overwrites a buffer that queued compute work may still read (the copy "
                        "queue has not waited for a fence recorded after it)");
    b->pending = ++im->copy_seq;
    const int was_open = im->open;
    if (!was_open) protect_all(im, PROT_READ | PROT_WRITE);
    memmove(dst, src, bytes);
    if (!was_open) protect_all(im, PROT_NONE);
    return VGEN_OK;
}

static int emu_fence_new(vgen_backend *be, vgen_fence **out, vgen_err *err) {
    (void)be;
    if (!out) return emu_fail(err, "fence_new", "out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "device emulator: cannot allocate a fence");
    return VGEN_OK;
}

static void emu_fence_free(vgen_backend *be, vgen_fence *f) {
    (void)be;
    free(f);
}

static int emu_fence_record(vgen_backend *be, vgen_fence *f, vgen_queue q, vgen_err *err) {
    if (!f) return emu_fail(err, "fence_record", "fence is NULL");
    f->q = q;
    f->pos = q == VGEN_QUEUE_COPY ? emu_of(be)->copy_seq : emu_of(be)->compute_seq;
    return VGEN_OK;
}

static int emu_fence_wait(vgen_backend *be, vgen_queue q, vgen_fence *f, vgen_err *err) {
    if (!f) return emu_fail(err, "fence_wait", "fence is NULL");
    emu_impl *im = emu_of(be);
    if (f->q == q) return VGEN_OK; /* a queue is ordered with itself */
    uint64_t *saw = q == VGEN_QUEUE_COMPUTE ? &im->compute_saw : &im->copy_saw;
    if (f->pos > *saw) *saw = f->pos;
    return VGEN_OK;
}

/* ---- construction ---- */

static bool emu_supports(const vgen_backend *be, vgen_op op, vgen_wformat format) {
    const vgen_backend *inner = ((const emu_impl *)be->impl)->inner;
    return inner->supports(inner, op, format);
}

static void emu_destroy(vgen_backend *be) {
    emu_impl *im = emu_of(be);
    if (!im) return;
    for (size_t i = 0; i < im->n_bufs; i++) munmap(im->bufs[i].p, im->bufs[i].mapped);
    free(im->bufs);
    vgen_backend_free(&im->inner);
    free(im);
    be->impl = NULL;
}

int vgen_backend_emu_new(vgen_backend *inner, vgen_backend **out, vgen_err *err) {
    if (!out || !inner) {
        vgen_backend_free(&inner);
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_backend_emu_new: NULL argument");
    }
    *out = NULL;
    vgen_backend *be = calloc(1, sizeof *be);
    emu_impl *im = calloc(1, sizeof *im);
    if (!be || !im) {
        free(be), free(im);
        vgen_backend_free(&inner);
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the device emulator");
    }
    im->inner = inner;
    be->name = "emu";
    be->device = VGEN_DEVICE_CPU;
    be->impl = im;
    be->pool = inner->pool;
    be->supports = emu_supports;
    be->alloc = emu_alloc;
    be->buf_free = emu_buf_free;
    be->upload = emu_upload;
    be->download = emu_download;
    be->copy = emu_copy;
    be->synchronize = emu_synchronize;
    be->host_addressable = false;
    be->host_alloc = emu_host_alloc;
    be->host_free = emu_host_free;
    be->upload_async = emu_upload_async;
    be->fence_new = emu_fence_new;
    be->fence_free = emu_fence_free;
    be->fence_record = emu_fence_record;
    be->fence_wait = emu_fence_wait;
    be->destroy = emu_destroy;
    emu_install_ops(be);
    *out = be;
    return VGEN_OK;
}

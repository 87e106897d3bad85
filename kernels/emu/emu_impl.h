/* emu_impl.h - the device emulator's state, shared by backend_emu.c (memory, queues) and emu_ops.c (ops). */
#ifndef VGEN_KERNELS_EMU_IMPL_H
#define VGEN_KERNELS_EMU_IMPL_H

#include <stdint.h>

#include "emu/backend_emu.h"

typedef struct emu_buf {
    uint8_t *p;             /* the mapping: PROT_NONE while closed */
    size_t bytes;           /* as asked of alloc */
    size_t mapped;          /* bytes rounded up to pages */
    uint64_t last_use;      /* compute sequence number of the last op that touched it */
    uint64_t pending;       /* copy sequence number of the last upload_async into it */
} emu_buf;

typedef struct emu_impl {
    vgen_backend *inner;
    emu_buf *bufs;
    size_t n_bufs, cap_bufs;
    int open;               /* buffers readable/writable (inside an op) */
    uint64_t compute_seq;   /* ops and synchronous copies run so far */
    uint64_t copy_seq;      /* upload_async calls so far */
    uint64_t compute_saw;   /* copies the compute queue has waited for */
    uint64_t copy_saw;      /* compute work the copy queue has waited for */
    const char *broken;     /* a failure no call could report when it happened; every later call fails */
} emu_impl;

struct vgen_fence {
    vgen_queue q;
    uint64_t pos;           /* the queue's sequence number when recorded */
};

static inline emu_impl *emu_of(vgen_backend *be) { return (emu_impl *)be->impl; }

/* The live buffer holding [p, p + bytes); NULL if none. */
emu_buf *emu_find(emu_impl *im, const void *p, size_t bytes);

/* Before compute work that touches [p, p + bytes): the range must be device memory and not pending. `what` names
 * the op and argument. Marks the buffer used. bytes 0 and p NULL passes (optional arguments). */
int emu_touch(vgen_backend *be, const void *p, size_t bytes, const char *what, vgen_err *err);
int emu_touch_tensor(vgen_backend *be, const vgen_tensor *t, const char *what, vgen_err *err);

/* VGEN_ERR_INTERNAL naming `what` once the emulator is broken (emu_impl.broken). */
int emu_check(vgen_backend *be, const char *what, vgen_err *err);

/* Opens every buffer for the inner backend (one sequence step of the compute queue) and closes them again. */
void emu_open(emu_impl *im);
void emu_close(emu_impl *im);

/* Installs the op wrappers (emu_ops.c). */
void emu_install_ops(vgen_backend *be);

#endif

/* backends.h - the backends the device tests compare: the CPU backend (ops installed) and the device emulator
 * (kernels/emu) over another CPU backend. Header-only; include testutil.h first (CHECKF). */
#ifndef VGEN_TEST_BACKENDS_H
#define VGEN_TEST_BACKENDS_H

#include "backend.h"
#include "cpu/ops_cpu.h"
#include "emu/backend_emu.h"

/* NULL (and a failed check) if it cannot be made. */
static inline vgen_backend *test_cpu_backend(void) {
    vgen_backend *be = NULL;
    vgen_err err = {0};
    CHECKF(vgen_backend_cpu_new(NULL, &be, &err) == 0, "cpu backend: %s", err.msg);
    if (be) vgen_cpu_ops_install(be); /* idempotent: until the constructor installs the ops itself */
    return be;
}

static inline vgen_backend *test_emu_backend(void) {
    vgen_backend *inner = test_cpu_backend(), *be = NULL;
    vgen_err err = {0};
    if (!inner) return NULL;
    CHECKF(vgen_backend_emu_new(inner, &be, &err) == 0, "emulator: %s", err.msg);
    return be;
}

#endif

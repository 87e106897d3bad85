/* backend_emu.h - the device emulator: a backend that behaves, for the code driving it, like a GPU backend.
 *
 * It runs every op on an inner CPU backend, but its buffers (alloc) are mapped PROT_NONE except while one of its
 * own ops or copies runs, so model code that touches device memory from the host crashes at once instead of working
 * by accident; every pointer an op receives must lie inside a live buffer of the emulator (host pointers are
 * refused with VGEN_ERR_INVALID_ARGUMENT naming the op and the argument). host_addressable is false, so callers
 * take the same path as with CUDA: weights uploaded, staging through host_alloc, block streaming with fences.
 *
 * The two queues are checked too. upload_async copies at once, but the destination buffer is marked pending until
 * the compute queue has waited for a fence recorded on the copy queue after the copy; an op or copy that touches a
 * pending buffer fails. An upload_async into a buffer that an op used after the last compute fence the copy queue
 * waited for fails as well (on a GPU the copy could overwrite data still being read). Errors are
 * VGEN_ERR_INTERNAL with "device emulator:" and what was wrong: they are bugs of the calling code.
 *
 * Only for tests and for VGEN_CUDA_EMULATE (docs/cuda.md): it is slower than the CPU backend (an mprotect per buffer
 * per op). */
#ifndef VGEN_KERNELS_BACKEND_EMU_H
#define VGEN_KERNELS_BACKEND_EMU_H

#include "backend.h"

/* Takes ownership of inner (a CPU backend) in every case: freed with the emulator, or at once on failure. */
int vgen_backend_emu_new(vgen_backend *inner, vgen_backend **out, vgen_err *err);

#endif

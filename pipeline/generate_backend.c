/* generate_backend.c - the backends of a run: the CPU backend always, and the GPU backend when the preset places a
 * component on cuda. Without a usable CUDA device (or in a build without CUDA) those components run on the CPU and
 * the log says why. VGEN_CUDA_EMULATE=1 puts the device emulator (kernels/emu) in the missing GPU's place: the same
 * code path as CUDA (weights uploaded, block streaming), checked on the CPU; for tests, not for speed.
 *
 * On the GPU backend: the DiT (vgen_dit_place: resident or streamed blocks), the text encoder (its layers uploaded
 * per session, the embedding table kept in host memory) and the VAE (weights uploaded per decode, caches and
 * scratch in device memory, each frame downloaded), each where the preset places it. */
#include <stdlib.h>
#include <string.h>

#include "emu/backend_emu.h"
#include "generate.h"
#include "cpu/ops_cpu.h"
#ifdef VGEN_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

static int cpu_backend(vgen_run *r, vgen_backend **out, vgen_err *err) {
    int rc = vgen_backend_cpu_new(r->ctx->pool, out, err);
    if (!rc) vgen_cpu_ops_install(*out); /* idempotent: until the backend constructor installs the ops itself */
    return rc;
}

static int wants_gpu(const vgen_run *r) {
    for (int c = 0; c < VGEN_COMPONENT_COUNT; c++)
        if (r->model->preset.components[c].device == VGEN_DEVICE_CUDA) return 1;
    return 0;
}

static int emulate(void) {
    const char *e = getenv("VGEN_CUDA_EMULATE");
    return e && strcmp(e, "1") == 0;
}

/* The CUDA backend, or VGEN_ERR_UNSUPPORTED with the reason in why. */
static int cuda_backend(vgen_run *r, vgen_err *why) {
#ifdef VGEN_HAVE_CUDA
    vgen_cuda_options o;
    vgen_cuda_options_init(&o);
    o.fp8_activations = r->model->preset.fp8_activations;
    return vgen_backend_cuda_new(&o, &r->gpu, why);
#else
    (void)r;
    return vgen_err_set(why, VGEN_ERR_UNSUPPORTED, "this build of vgen has no CUDA backend (configure with "
                        "-DVGEN_CUDA=ON)");
#endif
}

/* The GPU, and a warning when it is older than the preset was made for. */
static void log_gpu(vgen_run *r) {
    const vgen_preset *p = &r->model->preset;
    int major = 0, minor = 0;
#ifdef VGEN_HAVE_CUDA
    vgen_cuda_compute_capability(r->gpu, &major, &minor);
#endif
    VGEN_LOGI(&r->log, "GPU backend: %s, compute capability %d.%d%s", r->gpu->name, major, minor,
              p->fp8_activations ? ", fp8 activations" : "");
    if (p->cc_major && (major < p->cc_major || (major == p->cc_major && minor < p->cc_minor)))
        VGEN_LOGW(&r->log, "preset %s is made for compute capability %d.%d or newer; this GPU is %d.%d (formats it "
                  "lacks hardware for are dequantized to bf16)", p->name, p->cc_major, p->cc_minor, major, minor);
}

static int open_gpu(vgen_run *r) {
    vgen_err why = {0};
    if (cuda_backend(r, &why) == VGEN_OK) {
        log_gpu(r);
        return VGEN_OK;
    }
    if (why.code != VGEN_ERR_UNSUPPORTED) return vgen_err_set(r->err, why.code, "%s", why.msg);
    if (!emulate()) {
        VGEN_LOGW(&r->log, "preset %s places components on cuda, but %s: falling back to the CPU for them",
                  r->model->preset.name, why.msg);
        return VGEN_OK;
    }
    vgen_backend *inner = NULL;
    int rc = cpu_backend(r, &inner, r->err);
    if (!rc) rc = vgen_backend_emu_new(inner, &r->gpu, r->err);
    if (!rc) VGEN_LOGW(&r->log, "%s; VGEN_CUDA_EMULATE=1: the device emulator stands in for the GPU", why.msg);
    return rc;
}

int vgen_run_open_backends(vgen_run *r) {
    int rc = cpu_backend(r, &r->be, r->err);
    if (!rc && wants_gpu(r)) rc = open_gpu(r);
    return rc;
}

vgen_backend *vgen_run_backend(const vgen_run *r, vgen_component c) {
    if (r->gpu && r->model->preset.components[c].device == VGEN_DEVICE_CUDA) return r->gpu;
    return r->be;
}

/* test_vae_device.c - the Wan VAE decoder (vae/) on a backend whose memory the host cannot touch (kernels/emu: the
 * device emulator, the stand-in for CUDA where no GPU exists), against the CPU backend it wraps:
 *   - the fixture decode (tests/fixtures/vae/tiny), stream and whole, untiled and tiled (frame-major and
 *     tile-major), gives bit-identical frames (memcmp), and the debug taps see the same stages;
 *   - the emulator's device memory peak is exactly the weights plus the plan (vgen_wan_vae_plan_decode: scratch +
 *     caches), the CPU backend's is the plan (its weights stay where they were loaded), and both fall back to 0;
 *   - a decoded frame that overflows fails with the same VGEN_ERR_NUMERIC message on both, before any frame is
 *     emitted;
 *   - the emulator refuses a host pointer given to copy_strided. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/fixture.h"
#include "ref/ops_ref.h"
#include "safetensors.h"
#include "testutil.h"
#include "common/backends.h"
#include "wan_vae.h"
#include "wan_vae_internal.h" /* to scale weights of a loaded copy (the overflow case) */

#define FIX_DIR VGEN_FIXTURES_DIR "/vae/tiny/diffusers"
#define FRAME_PX (3 * 32 * 48)

static vgen_st_set *g_io;
static vgen_wan_vae *g_vae;
static vgen_backend *g_cpu, *g_emu;

/* A latent fixture tensor as a [16, F, 4, 6] view (the batch of 1 dropped). */
static int latent_view(const char *name, vgen_tensor *z) {
    const vgen_st_tensor *t = vgen_st_find(g_io, name);
    if (!t || t->dtype != VGEN_ST_F32 || t->n_dims != 5) return -1;
    return vgen_tensor_view(z, VGEN_DTYPE_F32, 4, t->shape + 1, (void *)t->data, NULL);
}

/* Folds every tap chunk into one FNV-1a hash (names and bytes, in call order). */
typedef struct tap_hash {
    uint64_t h;
    int n;
} tap_hash;

static void hash_bytes(tap_hash *t, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) t->h = (t->h ^ b[i]) * 1099511628211ull;
}

static void tap_fold(void *user_data, const char *name, const vgen_tensor *x) {
    tap_hash *t = user_data;
    hash_bytes(t, name, strlen(name));
    hash_bytes(t, x->data, vgen_tensor_bytes(x));
    t->n++;
}

/* A decode of fixture latent tF on be into a new video [3, frames, 32, 48]; the backend's device memory peak of
 * this decode in *peak. */
static float *decode_on(vgen_backend *be, const vgen_wan_vae *m, int t, const vgen_wan_vae_params *p, size_t *peak,
                        int *rc, vgen_err *err) {
    char name[64];
    snprintf(name, sizeof name, "t%d.latent_normalized", t);
    vgen_tensor z;
    *rc = -1;
    if (latent_view(name, &z)) return NULL;
    const int64_t frames = vgen_wan_vae_frames_out(vgen_wan_vae_get_config(m), t);
    float *video = calloc((size_t)(frames * FRAME_PX), sizeof(float));
    if (!video) return NULL;
    be->mem.peak = be->mem.current;
    *rc = vgen_wan_vae_decode(m, be, &z, p, video, err);
    *peak = be->mem.peak;
    CHECKF(be->mem.current == 0, "%s: %zu device bytes left after the decode", be->name, be->mem.current);
    return video;
}

/* The case on both backends: bit-identical frames, taps, and the device memory the plan predicts. */
static void compare_case(const char *what, int t, const vgen_wan_vae_params *p) {
    vgen_err err = {0};
    vgen_wan_vae_plan plan;
    CHECK_EQ_INT(vgen_wan_vae_plan_decode(g_vae, t, 4, 6, p, &plan, &err), 0);
    vgen_wan_vae_params pc = *p, pe = *p;
    tap_hash hc = {1469598103934665603ull, 0}, he = hc;
    pc.tap = tap_fold, pc.tap_user_data = &hc;
    pe.tap = tap_fold, pe.tap_user_data = &he;
    size_t peak_cpu = 0, peak_emu = 0;
    int rc_cpu, rc_emu;
    float *a = decode_on(g_cpu, g_vae, t, &pc, &peak_cpu, &rc_cpu, &err);
    if (rc_cpu) fprintf(stderr, "%s, cpu: %s\n", what, err.msg);
    float *b = decode_on(g_emu, g_vae, t, &pe, &peak_emu, &rc_emu, &err);
    if (rc_emu) fprintf(stderr, "%s, emulator: %s\n", what, err.msg);
    CHECK(rc_cpu == 0 && rc_emu == 0);
    const size_t n = (size_t)(vgen_wan_vae_frames_out(vgen_wan_vae_get_config(g_vae), t) * FRAME_PX);
    const int same = a && b && !memcmp(a, b, n * sizeof(float));
    const size_t weights = vgen_wan_vae_weight_bytes(g_vae), working = plan.scratch_bytes + plan.cache_bytes;
    printf("    %-34s frames %s; taps %d/%d %s; device peak: emulator %zu = weights %zu + plan %zu (scratch %zu + "
           "cache %zu): %s; cpu %zu\n", what, same ? "bit-identical" : "DIFFER", hc.n, he.n,
           hc.h == he.h ? "same" : "DIFFER", peak_emu, weights, working, plan.scratch_bytes, plan.cache_bytes,
           peak_emu == weights + working ? "exact" : "MISMATCH", peak_cpu);
    CHECKF(same, "%s: frames differ between the CPU backend and the emulator", what);
    CHECKF(hc.h == he.h && hc.n == he.n, "%s: taps differ", what);
    CHECKF(peak_emu == weights + working, "%s: emulator peak %zu != weights %zu + plan %zu", what, peak_emu, weights,
           working);
    CHECKF(peak_cpu == working, "%s: cpu peak %zu != plan %zu", what, peak_cpu, working);
    free(a), free(b);
}

static void test_untiled(void) {
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    compare_case("t1 stream", 1, &p);
    compare_case("t5 stream", 5, &p);
    p.mode = VGEN_WAN_VAE_WHOLE;
    compare_case("t5 whole", 5, &p);
    p = vgen_wan_vae_params_init();
    p.denormalize = 0;
    compare_case("t2 stream, no denormalization", 2, &p);
}

static void test_tiled(void) {
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    p.tile_h = 4, p.tile_w = 4, p.tile_overlap = 2;
    p.tap = NULL;
    compare_case("t5 tiles 4x4/2 frame-major", 5, &p);
    p.tile_order = VGEN_WAN_VAE_TILES_TILE_MAJOR;
    compare_case("t5 tiles 4x4/2 tile-major", 5, &p);
    p = vgen_wan_vae_params_init();
    p.tile_h = 3, p.tile_w = 3, p.tile_overlap = 1;
    compare_case("t2 tiles 3x3/1 frame-major", 2, &p);
}

/* norm_out gains of 1e30 and conv_out weights x 1e10 (finite) make conv_out overflow to Inf. */
static int count_frame(void *user_data, const vgen_wan_vae_frame *f) {
    (void)f;
    (*(int *)user_data)++;
    return 0;
}

static void test_nonfinite_frame(void) {
    vgen_wan_vae *m = NULL;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_wan_vae_load(FIX_DIR, NULL, &m, &err), 0);
    if (!m) return;
    float *g = (float *)(uintptr_t)m->norm_out_gamma, *w = (float *)m->conv_out.w.data;
    for (int i = 0; i < m->cfg.base_dim; i++) g[i] = 1e30f;
    for (int64_t i = 0; i < vgen_tensor_numel(&m->conv_out.w); i++) w[i] *= 1e10f;
    char msg[2][VGEN_ERR_MSG_MAX];
    vgen_backend *bes[2] = {g_cpu, g_emu};
    for (int i = 0; i < 2; i++) {
        vgen_wan_vae_params p = vgen_wan_vae_params_init();
        int seen = 0, rc;
        size_t peak;
        p.on_frame = count_frame, p.frame_user_data = &seen;
        free(decode_on(bes[i], m, 2, &p, &peak, &rc, &err));
        CHECK_EQ_INT(rc, VGEN_ERR_NUMERIC);
        CHECK_STR_CONTAINS(err.msg, "decoded frame 0");
        CHECK_EQ_INT(seen, 0);
        snprintf(msg[i], sizeof msg[i], "%s", err.msg);
    }
    printf("    %s: %s\n", g_emu->name, msg[1]);
    CHECKF(!strcmp(msg[0], msg[1]), "messages differ: \"%s\" vs \"%s\"", msg[0], msg[1]);
    vgen_wan_vae_free(&m);
}

static void test_emu_refuses_host(void) {
    vgen_err err = {0};
    float host[8] = {0};
    float *dev = g_emu->alloc(g_emu, sizeof host, &err);
    CHECK(dev != NULL);
    if (!dev) return;
    const int64_t shape[1] = {8}, one[1] = {1};
    CHECK_EQ_INT(g_emu->copy_strided(g_emu, host, one, dev, one, shape, 1, sizeof(float), &err), VGEN_ERR_INTERNAL);
    CHECK_STR_CONTAINS(err.msg, "device emulator");
    CHECK_EQ_INT(g_emu->copy_strided(g_emu, dev, one, dev + 4, one, shape, 1, sizeof(float), &err),
                 VGEN_ERR_INVALID_ARGUMENT); /* ranges overlap */
    const int64_t half[1] = {4};
    CHECK_EQ_INT(g_emu->copy_strided(g_emu, dev, one, dev + 4, one, half, 1, sizeof(float), &err), 0);
    g_emu->buf_free(g_emu, dev, sizeof host);
    CHECK_EQ_INT((int)g_emu->mem.current, 0);
}

int main(void) {
    vgen_err err = {0};
    g_cpu = test_cpu_backend();
    g_emu = test_emu_backend();
    g_io = fixture_open("vae/tiny/io.safetensors");
    if (vgen_wan_vae_load(FIX_DIR, NULL, &g_vae, &err)) fprintf(stderr, "cannot load the fixture VAE: %s\n", err.msg);
    if (!g_cpu || !g_emu || !g_io || !g_vae) return 1;
    RUN(test_untiled);
    RUN(test_tiled);
    RUN(test_nonfinite_frame);
    RUN(test_emu_refuses_host);
    vgen_wan_vae_free(&g_vae);
    vgen_st_close(&g_io);
    vgen_backend_free(&g_cpu);
    vgen_backend_free(&g_emu);
    return test_summary();
}

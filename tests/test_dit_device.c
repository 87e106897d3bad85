/* test_dit_device.c - the DiT on a backend whose memory the host cannot touch (kernels/emu: the device emulator, the
 * stand-in for CUDA where no GPU exists):
 *   - the emulator itself catches a host pointer given to an op, a read before an async upload was waited for, and
 *     an async upload over a buffer that queued work may still read;
 *   - the forward on the emulator, every block resident and with block streaming (2 slots, R = 0, 2, 4 resident
 *     of 5 blocks), is bit-identical to the CPU backend's for f32 and for bf16 compute with stored f32, int8, int4
 *     and fp8 block weights; a second forward and a forward after an aborted one too;
 *   - the emulator's device memory equals what the placement and the session report, and what the planner
 *     (vgen_dit_plan_memory's device figures) predicts; the staging memory is the streamed blocks; nothing leaks.
 * The model: tests/fixtures/dit/tiny_a with its 2 blocks repeated into 5 (so slots are refilled within a forward). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "common/fixture.h"
#include "safetensors.h"
#include "testutil.h"
#include "common/backends.h" /* after testutil.h */
#include "wan_dit.h"

#define LAYERS 5
#define MODEL_DIR VGEN_TEST_TMPDIR "/dit_device"
#define SRC VGEN_FIXTURES_DIR "/dit/tiny_a/diffusers"

/* ---- the 5-block model: tiny_a's blocks 0, 1, 0, 1, 0 ---- */

static int write_config(void) {
    FILE *in = fopen(SRC "/config.json", "rb"), *out = fopen(MODEL_DIR "/config.json", "wb");
    char buf[4096];
    size_t n = in ? fread(buf, 1, sizeof buf - 1, in) : 0;
    buf[n] = 0;
    char *at = strstr(buf, "\"num_layers\": 2");
    int ok = in && out && at;
    if (ok) {
        at[strlen("\"num_layers\": ")] = '0' + LAYERS;
        ok = fwrite(buf, 1, n, out) == n;
    }
    if (in) fclose(in);
    if (out) ok = fclose(out) == 0 && ok;
    return ok ? 0 : -1;
}

/* Source tensor of output tensor i: globals once, then block b of LAYERS reading block b % 2. */
static int make_model(void) {
    mkdir(VGEN_TEST_TMPDIR, 0755);
    mkdir(MODEL_DIR, 0755);
    vgen_err err = {0};
    vgen_st_set *src = NULL;
    if (vgen_st_open(SRC "/diffusion_pytorch_model.safetensors", &src, &err)) return -1;
    const size_t n = vgen_st_count(src);
    vgen_st_decl *decls = calloc(n * LAYERS, sizeof *decls);
    const vgen_st_tensor **from = calloc(n * LAYERS, sizeof *from);
    char (*names)[128] = calloc(n * LAYERS, sizeof *names);
    size_t nd = 0;
    for (int b = -1; decls && from && names && b < LAYERS; b++)
        for (size_t i = 0; i < n; i++) {
            const vgen_st_tensor *t = vgen_st_at(src, i);
            int blk = -1, off = 0;
            if (sscanf(t->name, "blocks.%d.%n", &blk, &off) == 1 && off > 0) {
                if (b < 0 || blk != b % 2) continue;
                snprintf(names[nd], sizeof names[nd], "blocks.%d.%s", b, t->name + off);
            } else {
                if (b >= 0) continue;
                snprintf(names[nd], sizeof names[nd], "%s", t->name);
            }
            decls[nd] = (vgen_st_decl){names[nd], t->dtype, t->n_dims, {0}};
            memcpy(decls[nd].shape, t->shape, sizeof t->shape);
            from[nd++] = t;
        }
    vgen_st_writer *w = NULL;
    int rc = decls && from && names ? vgen_st_writer_open(MODEL_DIR "/diffusion_pytorch_model.safetensors", decls, nd,
                                                          NULL, NULL, 0, &w, &err)
                                    : -1;
    for (size_t i = 0; !rc && i < nd; i++) rc = vgen_st_writer_write(w, from[i]->data, from[i]->n_bytes, &err);
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    vgen_st_writer_abort(&w);
    CHECKF(rc == 0, "writing the 5-block model: %s", err.msg);
    free(decls), free(from), free(names);
    vgen_st_close(&src);
    return rc ? rc : write_config();
}

/* ---- the emulator's own checks ---- */

static void test_emulator_checks(void) {
    vgen_backend *be = test_emu_backend();
    if (!be) return;
    vgen_err err = {0};
    const int64_t shape[2] = {4, 8};
    float host[32] = {0};
    float *dev = be->alloc(be, sizeof host, &err), *dev2 = be->alloc(be, sizeof host, &err);
    float *staging = be->host_alloc(be, sizeof host, &err);
    vgen_fence *f = NULL;
    CHECK(dev && dev2 && staging && be->fence_new(be, &f, &err) == 0);
    if (!dev || !dev2 || !staging || !f) return;
    CHECK(!be->host_addressable);
    vgen_tensor td, th, td2;
    vgen_tensor_view(&td, VGEN_DTYPE_F32, 2, shape, dev, &err);
    vgen_tensor_view(&th, VGEN_DTYPE_F32, 2, shape, host, &err);
    vgen_tensor_view(&td2, VGEN_DTYPE_F32, 2, shape, dev2, &err);

    CHECK_EQ_INT(be->upload(be, dev, host, sizeof host, &err), 0);
    CHECK_EQ_INT(be->unary(be, VGEN_UNARY_SILU, &td, &td2, &err), 0);
    CHECK_EQ_INT(be->unary(be, VGEN_UNARY_SILU, &th, &td2, &err), VGEN_ERR_INTERNAL); /* a host pointer */
    CHECK_STR_CONTAINS(err.msg, "not device memory");

    /* an async copy over a buffer the compute queue used since the copy queue last waited */
    CHECK_EQ_INT(be->upload_async(be, dev, staging, sizeof host, &err), VGEN_ERR_INTERNAL);
    CHECK_STR_CONTAINS(err.msg, "may still read");
    CHECK_EQ_INT(be->fence_record(be, f, VGEN_QUEUE_COMPUTE, &err), 0);
    CHECK_EQ_INT(be->fence_wait(be, VGEN_QUEUE_COPY, f, &err), 0);

    /* a read before the compute queue waited for the copy */
    CHECK_EQ_INT(be->upload_async(be, dev, staging, sizeof host, &err), 0);
    CHECK_EQ_INT(be->unary(be, VGEN_UNARY_SILU, &td, &td2, &err), VGEN_ERR_INTERNAL);
    CHECK_STR_CONTAINS(err.msg, "has not waited");
    CHECK_EQ_INT(be->fence_record(be, f, VGEN_QUEUE_COPY, &err), 0);
    CHECK_EQ_INT(be->fence_wait(be, VGEN_QUEUE_COMPUTE, f, &err), 0);
    CHECK_EQ_INT(be->unary(be, VGEN_UNARY_SILU, &td, &td2, &err), 0);
    CHECK_EQ_INT(be->upload_async(be, dev, staging, sizeof host, &err), VGEN_ERR_INTERNAL); /* used again */
    CHECK_EQ_INT(be->synchronize(be, &err), 0); /* waits for everything: both queues are clear */
    CHECK_EQ_INT(be->upload_async(be, dev, staging, sizeof host, &err), 0);

    be->fence_free(be, f);
    be->host_free(be, staging, sizeof host);
    be->buf_free(be, dev, sizeof host);
    be->buf_free(be, dev2, sizeof host);
    CHECK_EQ_INT(be->mem.current, 0);
    CHECK_EQ_INT(be->host_mem.current, 0);
    vgen_backend_free(&be);
}

/* ---- forwards ---- */

typedef struct run_cfg {
    const char *format;     /* NULL: stored (f32) */
    vgen_dtype compute;
    int emu;
    int64_t resident;       /* 0: all (no streaming) */
} run_cfg;

enum { F = 2, H = 8, W = 12, CTX = 512, TEXT_DIM = 64 };

static int abort_at(void *user) { return --*(int *)user < 0; }

/* Checks the emulator's memory against the placement, the session and the plan. */
static void check_memory(const run_cfg *rc, const vgen_backend *be, const vgen_dit_model *m,
                         const vgen_dit_placement *pl, const vgen_dit_session *s) {
    vgen_dit_plan plan;
    vgen_err err = {0};
    CHECK_EQ_INT(vgen_dit_plan_memory(vgen_dit_config(m), vgen_dit_block_format(m), VGEN_WF_F32, rc->compute, F, H, W,
                                      CTX, &plan, &err), 0);
    const int64_t r = rc->resident > 0 ? rc->resident : LAYERS, streamed = LAYERS - r;
    const size_t slots = (size_t)(streamed < 2 ? streamed : 2);
    const size_t planned = plan.device_global_bytes + (size_t)r * plan.device_block_bytes +
                           slots * plan.device_block_bytes;
    CHECK_EQ_INT(vgen_dit_placement_device_bytes(pl), planned);
    CHECK_EQ_INT(vgen_dit_placement_staging_bytes(pl), (size_t)streamed * plan.device_block_bytes);
    CHECK_EQ_INT(vgen_dit_session_bytes(s), plan.session_bytes);
    CHECK_EQ_INT(be->mem.current, planned + plan.session_bytes);
    CHECK_EQ_INT(be->host_mem.current, (size_t)streamed * plan.device_block_bytes);
}

static int forward(vgen_dit_session *s, const float *lat, const float *ctx, float t, float *out, vgen_err *err) {
    vgen_tensor tl, tc, to;
    const int64_t ls[4] = {16, F, H, W}, cs[2] = {CTX, TEXT_DIM};
    vgen_tensor_view(&tl, VGEN_DTYPE_F32, 4, ls, (void *)lat, err);
    vgen_tensor_view(&tc, VGEN_DTYPE_F32, 2, cs, (void *)ctx, err);
    vgen_tensor_view(&to, VGEN_DTYPE_F32, 4, ls, out, err);
    return vgen_dit_forward(s, &tl, t, &tc, &to, err);
}

/* out[16 F H W] of the fixture's inputs: forwards twice (the second after an aborted one on streaming runs) and
 * checks both agree; NULL on failure. */
static float *run(const run_cfg *c, const vgen_st_set *io) {
    vgen_backend *be = c->emu ? test_emu_backend() : test_cpu_backend();
    vgen_dit_params p;
    vgen_dit_params_init(&p);
    p.compute = c->compute;
    p.dit_format = c->format;
    vgen_dit_model *m = NULL;
    vgen_dit_placement *pl = NULL;
    vgen_dit_session *s = NULL;
    vgen_err err = {0};
    int stop = 2; /* the aborted forward stops before block 2 */
    vgen_dit_session_params sp;
    vgen_dit_session_params_init(&sp);
    sp.frames = F, sp.height = H, sp.width = W, sp.ctx_len = CTX;
    sp.abort = abort_at, sp.abort_user_data = &stop;
    size_t n_lat = 0, n_ctx = 0, n_t = 0;
    const float *lat = fixture_tensor(io, "in.latent", VGEN_ST_F32, &n_lat);
    const float *ctx = fixture_tensor(io, "in.context", VGEN_ST_F32, &n_ctx);
    const int64_t *ts = fixture_tensor(io, "in.timestep", VGEN_ST_I64, &n_t);
    float *out = calloc(n_lat, sizeof *out), *again = calloc(n_lat, sizeof *again);
    int rc = be && lat && ctx && ts && out && again ? vgen_dit_load(MODEL_DIR, &p, &m, &err) : -1;
    if (!rc) rc = vgen_dit_place(m, be, c->resident, &pl, &err);
    sp.placement = pl;
    if (!rc) rc = vgen_dit_session_new(m, be, &sp, &s, &err);
    if (!rc && c->emu) check_memory(c, be, m, pl, s);
    if (!rc) CHECK_EQ_INT(forward(s, lat, ctx, (float)ts[0], again, &err), VGEN_ERR_ABORTED);
    stop = 1 << 30;
    const int64_t streamed = vgen_dit_placement_streamed(pl);
    if (!rc) rc = forward(s, lat, ctx, (float)ts[0], out, &err);
    if (!rc) rc = forward(s, lat, ctx, (float)ts[0], again, &err);
    CHECKF(rc == 0, "forward (%s, %s, emu %d, resident %lld): %s", c->format ? c->format : "stored",
           vgen_dtype_name(c->compute), c->emu, (long long)c->resident, err.msg);
    if (!rc) CHECK(memcmp(out, again, n_lat * sizeof *out) == 0);
    if (!rc && c->emu && c->resident > 0) /* every forward streams each non-resident block once */
        CHECK_EQ_INT(vgen_dit_placement_streamed(pl) - streamed, 2 * (LAYERS - c->resident));
    vgen_dit_session_free(&s);
    vgen_dit_placement_free(&pl);
    vgen_dit_free(&m);
    if (be) CHECK_EQ_INT(be->mem.current, 0);
    if (be) CHECK_EQ_INT(be->host_mem.current, 0);
    vgen_backend_free(&be);
    free(again);
    if (rc) free(out);
    return rc ? NULL : out;
}

static void test_bit_identical(void) {
    vgen_st_set *io = fixture_open("dit/tiny_a/io.safetensors");
    const struct {
        const char *format;
        vgen_dtype compute;
    } cases[] = {{NULL, VGEN_DTYPE_F32}, {NULL, VGEN_DTYPE_BF16}, {"int8_row", VGEN_DTYPE_BF16},
                 {"int4_g64", VGEN_DTYPE_BF16}, {"fp8_e4m3_row", VGEN_DTYPE_BF16}};
    const int64_t resident[] = {0, 4, 2, 1};
    const size_t n_lat = (size_t)16 * F * H * W;
    for (size_t i = 0; io && i < sizeof cases / sizeof cases[0]; i++) {
        const run_cfg cpu = {cases[i].format, cases[i].compute, 0, 0};
        float *want = run(&cpu, io);
        for (size_t r = 0; want && r < sizeof resident / sizeof resident[0]; r++) {
            const run_cfg emu = {cases[i].format, cases[i].compute, 1, resident[r]};
            float *got = run(&emu, io);
            size_t same = 0;
            for (size_t k = 0; got && k < n_lat; k++) same += memcmp(&got[k], &want[k], sizeof *got) == 0;
            CHECKF(got && same == n_lat, "%s %s resident %lld: %zu of %zu values bit-identical to the CPU backend",
                   cases[i].format ? cases[i].format : "stored", vgen_dtype_name(cases[i].compute),
                   (long long)resident[r], same, n_lat);
            free(got);
        }
        free(want);
    }
    vgen_st_close(&io);
}

int main(void) {
    if (make_model() != 0) {
        fprintf(stderr, "cannot build the 5-block model in %s\n", MODEL_DIR);
        return 1;
    }
    RUN(test_emulator_checks);
    RUN(test_bit_identical);
    return test_summary();
}

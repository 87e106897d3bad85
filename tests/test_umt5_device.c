/* test_umt5_device.c - the UMT5 encoder on a backend whose memory the host cannot address (the device emulator,
 * kernels/emu/backend_emu.h: buffers PROT_NONE outside its own ops, host pointers refused by every op), against
 * the same model on the CPU backend: on the tiny fixture's five prompts, raw (512 rows, padding keys masked) and
 * padded (only the prompt's rows computed, so the one-hot of the buckets is rebuilt per length), the outputs and
 * every hook tensor must be bit-identical, in f32, in bf16 (scores rounded as torch, or f32 scores with wo in f32)
 * and with quantized weights. The emulator's memory must be exactly what vgen_umt5_plan_memory predicts for a
 * device (weights + activations), never more during the encodes, and back to its baseline once freed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/fixture.h"
#include "testutil.h"
#include "common/backends.h"
#include "umt5.h"

#define UMT5_DIR VGEN_FIXTURES_DIR "/umt5/tiny"
#define SEQ 512
#define DM 64
#define NPROMPTS 5

typedef struct io_fixture {
    vgen_st_set *set;
    const int32_t *ids, *mask, *seq_lens; /* [5, 512], [5, 512], [5] */
} io_fixture;

static int io_open(io_fixture *io) {
    size_t n1 = 0, n2 = 0, n3 = 0;
    io->set = fixture_open("umt5/tiny/io.safetensors");
    io->ids = fixture_tensor(io->set, "input_ids", VGEN_ST_I32, &n1);
    io->mask = fixture_tensor(io->set, "attention_mask", VGEN_ST_I32, &n2);
    io->seq_lens = fixture_tensor(io->set, "seq_lens", VGEN_ST_I32, &n3);
    int ok = io->ids && io->mask && io->seq_lens && n1 == NPROMPTS * SEQ && n2 == n1 && n3 == NPROMPTS;
    CHECKF(ok, "io fixture");
    return ok;
}

/* FNV-1a over every hook call's name and bytes, in order. */
static void hash_bytes(uint64_t *h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) *h = (*h ^ b[i]) * 1099511628211ull;
}

typedef struct hook_trace {
    uint64_t hash;
    int calls;
} hook_trace;

static void trace_hook(const char *name, const vgen_tensor *t, void *user_data) {
    hook_trace *tr = user_data;
    CHECKF(t->device == VGEN_DEVICE_CPU, "hook %s: tensor not in host memory", name);
    hash_bytes(&tr->hash, name, strlen(name));
    hash_bytes(&tr->hash, t->data, vgen_tensor_bytes(t));
    tr->calls++;
}

/* raw[5][512][64] (mask on, all rows) and padded[5][512][64] (pipeline rows) of every prompt. */
static int encode_all(vgen_umt5_session *s, const io_fixture *io, float *raw, float *padded) {
    vgen_err err = {0};
    for (int b = 0; b < NPROMPTS; b++) {
        uint8_t mask[SEQ];
        for (int i = 0; i < SEQ; i++) mask[i] = (uint8_t)(io->mask[b * SEQ + i] != 0);
        vgen_tensor tr = {0}, tp = {0};
        const int64_t shape[2] = {SEQ, DM};
        vgen_tensor_view(&tr, VGEN_DTYPE_F32, 2, shape, raw + (size_t)b * SEQ * DM, NULL);
        vgen_tensor_view(&tp, VGEN_DTYPE_F32, 2, shape, padded + (size_t)b * SEQ * DM, NULL);
        int rc = vgen_umt5_encode(s, io->ids + b * SEQ, mask, SEQ, &tr, &err);
        if (!rc) rc = vgen_umt5_encode_padded(s, io->ids + b * SEQ, io->seq_lens[b], &tp, &err);
        CHECKF(rc == 0, "encode prompt %d: %s", b, err.msg);
        if (rc) return rc;
    }
    return 0;
}

typedef struct run_result {
    float *raw, *padded;  /* [5, 512, 64] each */
    hook_trace trace;
} run_result;

/* Every prompt through a session of m on be; the session's memory checked against plan when device != 0. */
static int run(const vgen_umt5_model *m, vgen_backend *be, const io_fixture *io, const vgen_umt5_plan *plan,
               int device, run_result *r) {
    const size_t n = (size_t)NPROMPTS * SEQ * DM;
    r->raw = malloc(n * sizeof *r->raw);
    r->padded = malloc(n * sizeof *r->padded);
    r->trace = (hook_trace){1469598103934665603ull, 0};
    if (!r->raw || !r->padded) return -1;
    const size_t base = be->mem.current;
    vgen_umt5_session *s = NULL;
    vgen_err err = {0};
    int rc = vgen_umt5_session_new(m, be, SEQ, &s, &err);
    CHECKF(rc == 0, "session on %s: %s", be->name, err.msg);
    if (rc) return rc;
    const size_t want = device ? plan->device_weight_bytes + plan->device_session_bytes : 0;
    if (device) {
        printf("    device: weights %zu + activations %zu bytes planned, %zu allocated\n", plan->device_weight_bytes,
               plan->device_session_bytes, be->mem.current - base);
        CHECK_EQ_INT(be->mem.current - base, want);
        CHECK_EQ_INT(vgen_umt5_session_bytes(s), plan->device_session_bytes);
    } else {
        CHECK_EQ_INT(vgen_umt5_session_bytes(s), plan->session_bytes);
        CHECK_EQ_INT(be->mem.current, base); /* the CPU path copies nothing */
    }
    vgen_umt5_session_set_hook(s, trace_hook, &r->trace);
    rc = encode_all(s, io, r->raw, r->padded);
    if (device) CHECKF(be->mem.peak - base <= want, "device peak %zu over the plan %zu", be->mem.peak - base, want);
    vgen_umt5_session_free(&s);
    CHECK_EQ_INT(be->mem.current, base); /* nothing leaked */
    return rc;
}

static void free_result(run_result *r) {
    free(r->raw);
    free(r->padded);
}

typedef struct variant {
    const char *label;
    vgen_dtype compute;
    int round_scores, wo_f32;
    const char *format;       /* NULL: as stored (f32) */
} variant;

static vgen_umt5_model *load(const variant *v, vgen_umt5_params *p) {
    vgen_umt5_params_init(p);
    p->compute = v->compute;
    p->round_scores = v->round_scores;
    p->wo_f32 = v->wo_f32;
    p->format = v->format;
    vgen_umt5_model *m = NULL;
    vgen_err err = {0};
    CHECKF(vgen_umt5_load(UMT5_DIR, p, &m, &err) == 0, "%s: load: %s", v->label, err.msg);
    return m;
}

static void run_variant(const variant *v) {
    io_fixture io;
    if (!io_open(&io)) return;
    vgen_umt5_params p;
    vgen_umt5_model *m = load(v, &p);
    vgen_backend *cpu = test_cpu_backend(), *emu = test_emu_backend();
    vgen_umt5_plan plan = {0};
    vgen_err err = {0};
    if (m) {
        const vgen_umt5_config *c = vgen_umt5_model_config(m);
        CHECKF(vgen_umt5_plan_memory(c, vgen_umt5_linear_format(m), vgen_umt5_embed_format(m), &p, SEQ, &plan,
                                     &err) == 0, "plan: %s", err.msg);
    }
    run_result rc = {0}, re = {0};
    const size_t n = (size_t)NPROMPTS * SEQ * DM;
    printf("  %s\n", v->label);
    if (m && cpu && emu && run(m, cpu, &io, &plan, 0, &rc) == 0 && run(m, emu, &io, &plan, 1, &re) == 0) {
        CHECKF(!memcmp(rc.raw, re.raw, n * sizeof(float)), "%s: raw outputs differ (cpu vs emulator)", v->label);
        CHECKF(!memcmp(rc.padded, re.padded, n * sizeof(float)), "%s: padded outputs differ", v->label);
        CHECKF(rc.trace.calls == re.trace.calls && rc.trace.hash == re.trace.hash,
               "%s: hook tensors differ (%d vs %d calls)", v->label, rc.trace.calls, re.trace.calls);
        printf("    bit-identical: %d hook tensors, %zu output values\n", re.trace.calls, 2 * n);
    }
    free_result(&rc);
    free_result(&re);
    vgen_backend_free(&emu);
    vgen_backend_free(&cpu);
    vgen_umt5_free(&m);
    vgen_st_close(&io.set);
}

static void test_f32(void) { run_variant(&(variant){"f32", VGEN_DTYPE_F32, 0, 0, NULL}); }
static void test_bf16(void) { run_variant(&(variant){"bf16 (rounded scores)", VGEN_DTYPE_BF16, 1, 0, NULL}); }
static void test_bf16_f32_scores_wo_f32(void) {
    run_variant(&(variant){"bf16 (f32 scores, wo in f32)", VGEN_DTYPE_BF16, 0, 1, NULL});
}
static void test_int8_row_f32(void) { run_variant(&(variant){"int8_row, f32", VGEN_DTYPE_F32, 0, 0, "int8_row"}); }
static void test_int4_g32_zp_bf16(void) {
    run_variant(&(variant){"int4_g32_zp, bf16 (rounded scores)", VGEN_DTYPE_BF16, 1, 0, "int4_g32_zp"});
}

/* An op given a host pointer fails on the emulator: the check the tests above rely on is live. */
static void test_emulator_refuses_host_memory(void) {
    vgen_backend *emu = test_emu_backend();
    if (!emu) return;
    float host[4] = {1, 2, 3, 4};
    vgen_tensor t = {0};
    vgen_tensor_view(&t, VGEN_DTYPE_F32, 1, (int64_t[1]){4}, host, NULL);
    vgen_err err = {0};
    CHECK(emu->unary(emu, VGEN_UNARY_SILU, &t, &t, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, "device emulator");
    vgen_backend_free(&emu);
}

int main(void) {
    RUN(test_emulator_refuses_host_memory);
    RUN(test_f32);
    RUN(test_bf16);
    RUN(test_bf16_f32_scores_wo_f32);
    RUN(test_int8_row_f32);
    RUN(test_int4_g32_zp_bf16);
    return test_summary();
}

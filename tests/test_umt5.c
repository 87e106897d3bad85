/* test_umt5.c - the UMT5 encoder against transformers on the tiny fixture (tests/fixtures/umt5/tiny: a 2-layer
 * UMT5EncoderModel saved as 2 shards + index, so the sharded loader runs): every fixture prompt, raw (all 512 rows,
 * padding keys masked) and padded (rows past the prompt exactly zero), in f32 on the CPU and reference backends and
 * in bf16 (from_pretrained(torch_dtype=bf16), which in transformers 4.57 keeps wo in bf16 too, so it equals
 * model.to(bfloat16)), with the logits rounded as torch does or left in f32, and with the wo-in-f32 option;
 * per-layer hidden states; the relative-position buckets; the configuration from config.json and from the shapes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/fixture.h"
#include "numeric.h"
#include "testutil.h"
#include "umt5.h"
#include "cpu/ops_cpu.h"
#include "ref/ops_ref.h"

#define UMT5_DIR VGEN_FIXTURES_DIR "/umt5/tiny"
#define SEQ 512
#define DM 64
#define NPROMPTS 5

static vgen_backend *make_backend(int cpu) {
    vgen_backend *be = NULL;
    vgen_err err = {0};
    int rc = cpu ? vgen_backend_cpu_new(NULL, &be, &err) : vgen_backend_ref_new(&be, &err);
    CHECKF(rc == 0, "backend: %s", err.msg);
    if (!be) return NULL;
    if (cpu) vgen_cpu_ops_install(be); /* idempotent; until the constructors install the ops */
    else vgen_ref_ops_install(be);
    return be;
}

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

/* The fixture tensor `name` as f32 (F32 or BF16), n elements; malloc'd. */
static float *ref_f32(const vgen_st_set *set, const char *name, size_t want) {
    const vgen_st_tensor *t = vgen_st_find(set, name);
    if (!t || t->n_bytes / vgen_st_dtype_size(t->dtype) != want) return NULL;
    float *out = malloc(want * sizeof *out);
    for (size_t i = 0; out && i < want; i++) {
        if (t->dtype == VGEN_ST_BF16) {
            uint16_t h;
            memcpy(&h, (const uint8_t *)t->data + 2 * i, 2);
            out[i] = vgen_bf16_to_f32(h);
        } else {
            memcpy(&out[i], (const uint8_t *)t->data + 4 * i, 4);
        }
    }
    return out;
}

static vgen_umt5_model *load(vgen_dtype compute, int wo_f32) {
    vgen_umt5_params p;
    vgen_umt5_params_init(&p);
    p.compute = compute;
    p.wo_f32 = wo_f32;
    vgen_umt5_model *m = NULL;
    vgen_err err = {0};
    CHECKF(vgen_umt5_load(UMT5_DIR, &p, &m, &err) == 0, "load: %s", err.msg);
    return m;
}

static void mask_u8(const int32_t *mask, uint8_t *out) {
    for (int i = 0; i < SEQ; i++) out[i] = (uint8_t)(mask[i] != 0);
}

/* out[5][512][64]: every prompt encoded raw (mask on, all rows) and padded (pipeline rows). */
static int encode_all(vgen_umt5_session *s, const io_fixture *io, float *raw, float *padded) {
    vgen_err err = {0};
    for (int b = 0; b < NPROMPTS; b++) {
        uint8_t mask[SEQ];
        mask_u8(io->mask + b * SEQ, mask);
        vgen_tensor tr = {0}, tp = {0};
        int64_t shape[2] = {SEQ, DM};
        if (raw) vgen_tensor_view(&tr, VGEN_DTYPE_F32, 2, shape, raw + (size_t)b * SEQ * DM, NULL);
        if (padded) vgen_tensor_view(&tp, VGEN_DTYPE_F32, 2, shape, padded + (size_t)b * SEQ * DM, NULL);
        int rc = raw ? vgen_umt5_encode(s, io->ids + b * SEQ, mask, SEQ, &tr, &err) : 0;
        if (!rc && padded) rc = vgen_umt5_encode_padded(s, io->ids + b * SEQ, io->seq_lens[b], &tp, &err);
        CHECKF(rc == 0, "encode prompt %d: %s", b, err.msg);
        if (rc) return rc;
    }
    return 0;
}

typedef int (*within_fn)(fixture_diff d);

/* For outputs with no tolerance class of their own (bf16 with f32 scores): the bf16 class's cosine only. */
static int within_cosine(fixture_diff d) { return d.cosine >= 0.999; }

/* Compares got with the fixture tensor per prompt; prints max-abs / cosine. Returns the worst max_abs. */
static double compare_prompts(const char *label, const float *got, const float *ref, within_fn within) {
    double worst = 0;
    for (int b = 0; b < NPROMPTS; b++) {
        const size_t off = (size_t)b * SEQ * DM;
        fixture_diff d = fixture_compare(got + off, ref + off, (size_t)SEQ * DM);
        printf("  %-22s prompt %d: max|err| %.3e (max|ref| %.3f), cosine %.8f\n", label, b, d.max_abs, d.ref_max,
               d.cosine);
        CHECKF(within(d), "%s prompt %d: max|err| %.3e, cosine %.8f outside the tolerance class", label, b,
               d.max_abs, d.cosine);
        if (d.max_abs > worst) worst = d.max_abs;
    }
    return worst;
}

/* Rows [n, 512) of every padded output are exactly zero (bit pattern +0.0). */
static void check_zero_rows(const float *padded, const io_fixture *io) {
    for (int b = 0; b < NPROMPTS; b++) {
        const float *p = padded + (size_t)b * SEQ * DM;
        size_t bad = 0;
        for (size_t i = (size_t)io->seq_lens[b] * DM; i < (size_t)SEQ * DM; i++) {
            uint32_t u;
            memcpy(&u, &p[i], 4);
            bad += u != 0;
        }
        CHECKF(bad == 0, "prompt %d: %zu padded values are not exactly zero", b, bad);
    }
}

static void run_f32(int cpu) {
    io_fixture io;
    if (!io_open(&io)) return;
    vgen_backend *be = make_backend(cpu);
    vgen_umt5_model *m = load(VGEN_DTYPE_F32, 1);
    vgen_umt5_session *s = NULL;
    vgen_err err = {0};
    if (m && be) CHECKF(vgen_umt5_session_new(m, be, SEQ, &s, &err) == 0, "session: %s", err.msg);
    const size_t n = (size_t)NPROMPTS * SEQ * DM;
    float *raw = malloc(n * sizeof *raw), *pad = malloc(n * sizeof *pad);
    float *ref_raw = ref_f32(io.set, "fp32.raw", n), *ref_pad = ref_f32(io.set, "fp32.padded", n);
    if (s && raw && pad && ref_raw && ref_pad && encode_all(s, &io, raw, pad) == 0) {
        compare_prompts(cpu ? "f32 raw (cpu)" : "f32 raw (ref)", raw, ref_raw, fixture_within_f32);
        compare_prompts(cpu ? "f32 padded (cpu)" : "f32 padded (ref)", pad, ref_pad, fixture_within_f32);
        check_zero_rows(pad, &io);
        printf("  session arena %zu bytes (peak %zu)\n", vgen_umt5_session_bytes(s), vgen_umt5_session_peak(s));
    }
    free(raw), free(pad), free(ref_raw), free(ref_pad);
    vgen_umt5_session_free(&s);
    vgen_umt5_free(&m);
    vgen_backend_free(&be);
    vgen_st_close(&io.set);
}

static void test_f32_cpu(void) { run_f32(1); }
static void test_f32_ref(void) { run_f32(0); }

/* bf16 compute as from_pretrained(torch_dtype=bf16) runs it in transformers 4.57 (every layer in bf16: "bf16.*";
 * model.to(bfloat16), "bf16_all.raw", is the same computation), with the logits rounded as torch's eager attention
 * (round_scores) or left to the fused attention in f32. */
static void run_bf16(int round_scores) {
    io_fixture io;
    if (!io_open(&io)) return;
    vgen_backend *be = make_backend(1);
    vgen_umt5_params p;
    vgen_umt5_params_init(&p);
    p.round_scores = round_scores;
    vgen_umt5_model *m = NULL;
    vgen_umt5_session *s = NULL;
    vgen_err err = {0};
    CHECKF(vgen_umt5_load(UMT5_DIR, &p, &m, &err) == 0, "load: %s", err.msg);
    if (m && be) CHECKF(vgen_umt5_session_new(m, be, SEQ, &s, &err) == 0, "session: %s", err.msg);
    const size_t n = (size_t)NPROMPTS * SEQ * DM;
    float *raw = malloc(n * sizeof *raw), *pad = malloc(n * sizeof *pad);
    float *ref_raw = ref_f32(io.set, "bf16.raw", n), *ref_pad = ref_f32(io.set, "bf16.padded", n);
    float *ref_all = ref_f32(io.set, "bf16_all.raw", n), *ref32 = ref_f32(io.set, "fp32.raw", n);
    if (s && raw && pad && ref_raw && ref_pad && ref_all && ref32 && encode_all(s, &io, raw, pad) == 0) {
        within_fn within = round_scores ? fixture_within_bf16 : within_cosine;
        compare_prompts(round_scores ? "bf16 raw" : "bf16 raw (f32 scores)", raw, ref_raw, within);
        compare_prompts(round_scores ? "bf16 padded" : "bf16 padded (f32 scores)", pad, ref_pad, within);
        if (round_scores) compare_prompts("bf16 vs bf16_all raw", raw, ref_all, fixture_within_bf16);
        check_zero_rows(pad, &io);
        /* for scale: how far transformers' own bf16 run is from its f32 run */
        for (int b = 0; round_scores && b < NPROMPTS; b++) {
            const size_t off = (size_t)b * SEQ * DM;
            fixture_diff d = fixture_compare(ref_raw + off, ref32 + off, (size_t)SEQ * DM);
            printf("  (transformers bf16 vs f32, prompt %d: max|err| %.3e, cosine %.8f)\n", b, d.max_abs, d.cosine);
        }
    }
    free(raw), free(pad), free(ref_raw), free(ref_pad), free(ref_all), free(ref32);
    vgen_umt5_session_free(&s);
    vgen_umt5_free(&m);
    vgen_backend_free(&be);
    vgen_st_close(&io.set);
}

static void test_bf16(void) { run_bf16(1); }
static void test_bf16_f32_scores(void) { run_bf16(0); }

/* wo_f32: no transformers reference under bf16 (4.57 keeps wo in fp32 for float16 loads only). Against the f32
 * model only the bf16 class's cosine applies: transformers' own bf16 run misses its max-abs part there too. */
static void test_bf16_wo_f32(void) {
    io_fixture io;
    if (!io_open(&io)) return;
    vgen_backend *be = make_backend(1);
    vgen_umt5_model *m = load(VGEN_DTYPE_BF16, 1);
    vgen_umt5_session *s = NULL;
    vgen_err err = {0};
    if (m && be) CHECKF(vgen_umt5_session_new(m, be, SEQ, &s, &err) == 0, "session: %s", err.msg);
    const size_t n = (size_t)NPROMPTS * SEQ * DM;
    float *pad = malloc(n * sizeof *pad), *ref32 = ref_f32(io.set, "fp32.padded", n);
    if (s && pad && ref32 && encode_all(s, &io, NULL, pad) == 0) {
        compare_prompts("bf16 wo_f32 vs f32", pad, ref32, within_cosine);
        check_zero_rows(pad, &io);
    }
    free(pad), free(ref32);
    vgen_umt5_session_free(&s);
    vgen_umt5_free(&m);
    vgen_backend_free(&be);
    vgen_st_close(&io.set);
}

typedef struct hidden_capture {
    const vgen_st_set *io;
    int seen;
} hidden_capture;

/* transformers' hidden_states: [0] embeddings, [1] after layer 0, [2] after layer 1 + final norm. */
static void hidden_hook(const char *name, const vgen_tensor *t, void *user_data) {
    hidden_capture *c = user_data;
    const char *ref = !strcmp(name, "embed") ? "fp32.p1.hidden.0" : !strcmp(name, "block.0.out") ? "fp32.p1.hidden.1"
                    : !strcmp(name, "final") ? "fp32.p1.hidden.2" : NULL;
    if (!ref) return;
    size_t n = 0;
    const float *r = fixture_tensor(c->io, ref, VGEN_ST_F32, &n);
    CHECKF(r && n == (size_t)vgen_tensor_numel(t), "%s: fixture shape", ref);
    if (!r || n != (size_t)vgen_tensor_numel(t)) return;
    fixture_diff d = fixture_compare(t->data, r, n);
    printf("  hidden %-12s vs %s: max|err| %.3e, cosine %.8f\n", name, ref, d.max_abs, d.cosine);
    CHECKF(fixture_within_f32(d), "%s: max|err| %.3e, cosine %.8f", name, d.max_abs, d.cosine);
    c->seen++;
}

static void test_hidden_states(void) {
    io_fixture io;
    if (!io_open(&io)) return;
    vgen_backend *be = make_backend(1);
    vgen_umt5_model *m = load(VGEN_DTYPE_F32, 1);
    vgen_umt5_session *s = NULL;
    vgen_err err = {0};
    if (m && be) CHECKF(vgen_umt5_session_new(m, be, SEQ, &s, &err) == 0, "session: %s", err.msg);
    float *out = malloc((size_t)SEQ * DM * sizeof *out);
    if (s && out) {
        hidden_capture cap = {io.set, 0};
        vgen_umt5_session_set_hook(s, hidden_hook, &cap);
        uint8_t mask[SEQ];
        mask_u8(io.mask + SEQ, mask);
        vgen_tensor t;
        vgen_tensor_view(&t, VGEN_DTYPE_F32, 2, (int64_t[2]){SEQ, DM}, out, NULL);
        CHECKF(vgen_umt5_encode(s, io.ids + SEQ, mask, SEQ, &t, &err) == 0, "encode: %s", err.msg);
        CHECK_EQ_INT(cap.seen, 3);
    }
    free(out);
    vgen_umt5_session_free(&s);
    vgen_umt5_free(&m);
    vgen_backend_free(&be);
    vgen_st_close(&io.set);
}

static void test_buckets(void) {
    vgen_st_set *io = fixture_open("umt5/tiny/io.safetensors");
    size_t n1 = 0, n2 = 0;
    const int32_t *rel = fixture_tensor(io, "rel_pos", VGEN_ST_I32, &n1);
    const int32_t *bucket = fixture_tensor(io, "rel_bucket", VGEN_ST_I32, &n2);
    CHECK(rel && bucket && n1 == n2 && n1 == 1201);
    size_t bad = 0;
    for (size_t i = 0; rel && bucket && i < n1; i++) {
        int32_t got = vgen_umt5_bucket(rel[i], 32, 128);
        if (got != bucket[i] && bad++ < 5) CHECKF(0, "rel %d: bucket %d, transformers %d", rel[i], got, bucket[i]);
    }
    CHECK_EQ_INT(bad, 0);
    vgen_st_close(&io);
}

static void test_config(void) {
    vgen_umt5_config c, d;
    vgen_err err = {0};
    CHECKF(vgen_umt5_config_read(UMT5_DIR "/config.json", &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.vocab, 3200);
    CHECK_EQ_INT(c.d_model, 64);
    CHECK_EQ_INT(c.heads, 4);
    CHECK_EQ_INT(c.d_kv, 16);
    CHECK_EQ_INT(c.d_ff, 160);
    CHECK_EQ_INT(c.layers, 2);
    CHECK_EQ_INT(c.buckets, 32);
    CHECK_EQ_INT(c.max_distance, 128);
    CHECK(c.eps == 1e-6f);
    vgen_st_set *set = NULL;
    vgen_umt5_layout l;
    CHECKF(vgen_st_open(UMT5_DIR, &set, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(vgen_st_shard_count(set), 2);
    CHECKF(set && vgen_umt5_layout_detect(set, &l, &err) == 0, "%s", err.msg);
    CHECK(set && !strcmp(l.prefix, "") && !strcmp(l.embed, "shared.weight"));
    CHECKF(set && vgen_umt5_config_derive(set, &l, &d, &err) == 0, "%s", err.msg);
    CHECK(d.vocab == c.vocab && d.d_model == c.d_model && d.d_kv == c.d_kv && d.heads == c.heads &&
          d.layers == c.layers && d.d_ff == c.d_ff && d.buckets == c.buckets && d.max_distance == c.max_distance &&
          d.eps == c.eps);
    vgen_st_close(&set);

    static const struct { const char *json; int code; const char *msg; } bad[] = {
        {"{\"feed_forward_proj\": \"relu\"}", VGEN_ERR_UNSUPPORTED, "feed_forward_proj"},
        {"{\"feed_forward_proj\": \"gated-silu\"}", VGEN_ERR_UNSUPPORTED, "gated-gelu"},
        {"{\"d_model\": \"64\"}", VGEN_ERR_MALFORMED, "d_model"},
        {"{\"num_heads\": 0}", VGEN_ERR_MALFORMED, "num_heads"},
        {"{\"d_kv\": 1.5}", VGEN_ERR_MALFORMED, "d_kv"},
        {"{\"layer_norm_epsilon\": -1}", VGEN_ERR_MALFORMED, "layer_norm_epsilon"},
        {"{\"relative_attention_num_buckets\": 31}", VGEN_ERR_MALFORMED, "even"},
        {"{\"d_ff\": 8, \"d_ff\": 9}", VGEN_ERR_MALFORMED, "appears 2 times"},
        {"[1]", VGEN_ERR_MALFORMED, "not a JSON object"},
        {"{\"d_model\": 64,}", VGEN_ERR_MALFORMED, "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vgen_err e = {0};
        int rc = vgen_umt5_config_parse(bad[i].json, strlen(bad[i].json), "cfg", &c, &e);
        CHECKF(rc == bad[i].code && strstr(e.msg, bad[i].msg), "%s: rc %d, \"%s\"", bad[i].json, rc, e.msg);
    }
    const char *ok = "{\"feed_forward_proj\": \"gated-gelu_new\", \"num_layers\": 3, \"unknown\": [1]}";
    CHECK(vgen_umt5_config_parse(ok, strlen(ok), NULL, &c, &err) == 0 && c.layers == 3 && c.d_model == 4096);
}

static void test_flops(void) {
    vgen_umt5_config c;
    vgen_umt5_config_defaults(&c);
    /* 24 layers x (2 * 512 * (4 * 4096^2 + 3 * 4096 * 10240) + 4 * 512^2 * 4096) */
    double want = 24.0 * (2.0 * 512 * (4.0 * 4096 * 4096 + 3.0 * 4096 * 10240) + 4.0 * 512 * 512 * 4096);
    CHECK_NEAR(vgen_umt5_flops(&c, 512) / want, 1.0, 1e-12);
}

int main(void) {
    RUN(test_buckets);
    RUN(test_config);
    RUN(test_flops);
    RUN(test_f32_cpu);
    RUN(test_f32_ref);
    RUN(test_hidden_states);
    RUN(test_bf16);
    RUN(test_bf16_f32_scores);
    RUN(test_bf16_wo_f32);
    return test_summary();
}

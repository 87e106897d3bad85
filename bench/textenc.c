/* bench/textenc.c - the UMT5-XXL text encoder (vocab 256384, d_model 4096, 64 heads x 64, d_ff 10240, 24 layers)
 * on the CPU backend, with random weights written by this program.
 *
 *   bench_textenc gen OUT --weights bf16|int8|fp8 [--layers N] [--seed S]
 *   bench_textenc run MODEL [--compute bf16|f32] [--format NAME] [--threads N] [--tokens N] [--reps N]
 *                           [--f32-scores] [--save FILE] [--compare FILE] [--label TEXT]
 *
 * gen streams a checkpoint in HF names through the safetensors writer, one chunk of rows at a time (never a whole
 * tensor in memory): "bf16" stores BF16 matrices; "int8" stores vgen int8_row matrices (core/qfile.h) for the linear
 * weights and the embedding; "fp8" stores a ComfyUI-style scaled fp8 file (F8_E4M3 weights with a 0-d
 * "<layer>.scale_weight", a "scaled_fp8" marker), the embedding included. Norm weights and relative-position tables are
 * F32. Values are uniform with the variances of transformers' T5 initialisation (so attention logits have a standard
 * deviation near 1, as in a trained T5, rather than the chaotic regime of N(0, 1/fan_in) queries, where any rounding
 * difference decorrelates the output after 24 layers), drawn from a stream per tensor name, so the three files hold
 * the same weights up to their format.
 *
 * run loads MODEL (config derived from the shapes; --format quantizes while loading), encodes one prompt of --tokens
 * random ids (default 512, no padding: the worst case) --reps times (default 2), and prints one markdown row: load
 * seconds, the first encode (it pages the mapped weights in), the best later encode, GFLOP/s (vgen_umt5_flops), the
 * backend's own bf16 linear GFLOP/s at [512, 4096] x [4096, 10240] measured in the same process (the practical
 * ceiling), the process's peak RSS (getrusage ru_maxrss, loading included), the model's owned and mapped bytes and
 * the session arena. --save writes the output [tokens, 4096] f32 to FILE; --compare reads one and adds the cosine and
 * relative L2 error against it. Run one configuration per process so each peak is its own (bench/textenc.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_rng.h"
#include "backend.h"
#include "cpu/ops_cpu.h"
#include "numeric.h"
#include "qfile.h"
#include "safetensors.h"
#include "threadpool.h"
#include "umt5.h"
#include "wformat.h"

#define XXL_VOCAB 256384
#define XXL_D 4096
#define XXL_DFF 10240
#define XXL_HEADS 64
#define XXL_BUCKETS 32
#define CHUNK_ROWS 64

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* Uniform in [-1, 1). */
static float rng_unit(uint64_t *s) { return (float)((double)(rng_next(s) >> 11) * 0x1p-52 - 1.0); }

static uint64_t name_seed(const char *name, uint64_t seed) {
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return h;
}

/* ================================ gen ================================ */

typedef enum wkind { W_BF16, W_INT8, W_FP8 } wkind;

typedef enum tkind { T_MATRIX, T_NORM, T_BIAS } tkind;

/* One logical tensor of the checkpoint. */
typedef struct gen_tensor {
    char name[128];
    tkind kind;
    int64_t n, k;          /* [N, K] matrices, [N] norms, [B, Nh] bias tables */
    float amp;             /* uniform bound */
} gen_tensor;

typedef struct gen_plan {
    gen_tensor *t;
    size_t n;
    wkind w;
    uint64_t seed;
    vgen_st_decl *decls;   /* every stored tensor, declaration order */
    char (*names)[VGEN_QFILE_NAME_MAX];
    size_t n_decls;
    const char **meta_k, **meta_v;
    char (*meta_buf)[2][VGEN_QFILE_NAME_MAX + 32];
    size_t n_meta;
} gen_plan;

static void add_tensor(gen_plan *g, const char *name, tkind kind, int64_t n, int64_t k, float amp) {
    gen_tensor *t = &g->t[g->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind, t->n = n, t->k = k, t->amp = amp;
}

static void plan_tensors(gen_plan *g, int layers) {
    static const char *const lin[] = {"layer.0.SelfAttention.q", "layer.0.SelfAttention.k", "layer.0.SelfAttention.v",
                                      "layer.0.SelfAttention.o", "layer.1.DenseReluDense.wi_0",
                                      "layer.1.DenseReluDense.wi_1", "layer.1.DenseReluDense.wo"};
    /* transformers' T5 _init_weights (std): q (D Dk)^-1/2, k v wi D^-1/2, o (Nh Dk)^-1/2, wo Dff^-1/2, embedding 1,
     * relative bias D^-1/2; as uniform bounds sqrt(3) std. Norm weights 1 + U(-0.1, 0.1). */
    const float s3 = sqrtf(3.0f), a_d = s3 / sqrtf(XXL_D), a_ff = s3 / sqrtf(XXL_DFF), a_q = s3 / sqrtf(XXL_D * 64.0f);
    const float amp[7] = {a_q, a_d, a_d, a_d, a_d, a_d, a_ff};
    add_tensor(g, "shared.weight", T_MATRIX, XXL_VOCAB, XXL_D, s3);
    for (int b = 0; b < layers; b++) {
        char name[128];
        for (int i = 0; i < 7; i++) {
            snprintf(name, sizeof name, "encoder.block.%d.%s.weight", b, lin[i]);
            const int wi = i == 4 || i == 5;
            add_tensor(g, name, T_MATRIX, wi ? XXL_DFF : XXL_D, i == 6 ? XXL_DFF : XXL_D, amp[i]);
        }
        snprintf(name, sizeof name, "encoder.block.%d.layer.0.SelfAttention.relative_attention_bias.weight", b);
        add_tensor(g, name, T_BIAS, XXL_BUCKETS, XXL_HEADS, a_d);
        snprintf(name, sizeof name, "encoder.block.%d.layer.0.layer_norm.weight", b);
        add_tensor(g, name, T_NORM, XXL_D, 0, 0.1f);
        snprintf(name, sizeof name, "encoder.block.%d.layer.1.layer_norm.weight", b);
        add_tensor(g, name, T_NORM, XXL_D, 0, 0.1f);
    }
    add_tensor(g, "encoder.final_layer_norm.weight", T_NORM, XXL_D, 0, 0.1f);
}

static vgen_st_decl *next_decl(gen_plan *g, const char *name) {
    vgen_st_decl *d = &g->decls[g->n_decls];
    snprintf(g->names[g->n_decls], VGEN_QFILE_NAME_MAX, "%s", name);
    memset(d, 0, sizeof *d);
    d->name = g->names[g->n_decls++];
    return d;
}

static void add_meta(gen_plan *g, const char *key, const char *value) {
    snprintf(g->meta_buf[g->n_meta][0], sizeof g->meta_buf[0][0], "%s", key);
    snprintf(g->meta_buf[g->n_meta][1], sizeof g->meta_buf[0][1], "%s", value);
    g->meta_k[g->n_meta] = g->meta_buf[g->n_meta][0];
    g->meta_v[g->n_meta] = g->meta_buf[g->n_meta][1];
    g->n_meta++;
}

static int declare_int8(gen_plan *g, const gen_tensor *t) {
    vgen_st_decl d[3];
    char nb[2][VGEN_QFILE_NAME_MAX];
    size_t nd = 0;
    vgen_err err = {0};
    if (vgen_qfile_declare(VGEN_WF_INT8_ROW, t->name, t->n, t->k, d, nb, &nd, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    for (size_t i = 0; i < nd; i++) {
        vgen_st_decl *o = next_decl(g, d[i].name);
        const char *keep = o->name;
        *o = d[i];
        o->name = keep;
    }
    char key[VGEN_QFILE_NAME_MAX + 32], val[64];
    vgen_qfile_meta_key("format", t->name, key, sizeof key);
    add_meta(g, key, "int8_row");
    vgen_qfile_meta_key("shape", t->name, key, sizeof key);
    snprintf(val, sizeof val, "%lld,%lld", (long long)t->n, (long long)t->k);
    add_meta(g, key, val);
    return 0;
}

static int declare_all(gen_plan *g) {
    for (size_t i = 0; i < g->n; i++) {
        const gen_tensor *t = &g->t[i];
        if (t->kind == T_MATRIX && g->w == W_INT8) {
            if (declare_int8(g, t)) return -1;
            continue;
        }
        vgen_st_decl *d = next_decl(g, t->name);
        d->n_dims = t->kind == T_NORM ? 1 : 2;
        d->shape[0] = t->n, d->shape[1] = t->k;
        d->dtype = t->kind != T_MATRIX ? VGEN_ST_F32 : g->w == W_BF16 ? VGEN_ST_BF16 : VGEN_ST_F8_E4M3;
        if (t->kind == T_MATRIX && g->w == W_FP8) {
            char sname[VGEN_QFILE_NAME_MAX];
            snprintf(sname, sizeof sname, "%.*s.scale_weight", (int)(strlen(t->name) - strlen(".weight")), t->name);
            vgen_st_decl *s = next_decl(g, sname);
            s->dtype = VGEN_ST_F32, s->n_dims = 0;
        }
    }
    if (g->w == W_FP8) {
        vgen_st_decl *m = next_decl(g, "scaled_fp8");
        m->dtype = VGEN_ST_F8_E4M3, m->n_dims = 1, m->shape[0] = 0;
    }
    if (g->w == W_INT8) add_meta(g, "vgen.quantized", "1");
    return 0;
}

/* rows [r0, r0 + nr) of t as f32 into buf, continuing t's random stream *s. */
static void gen_rows(const gen_tensor *t, uint64_t *s, int64_t nr, float *buf) {
    const int64_t k = t->k > 0 ? t->k : 1;
    for (int64_t i = 0; i < nr * k; i++) {
        const float u = rng_unit(s) * t->amp;
        buf[i] = t->kind == T_NORM ? 1.0f + u : u;
    }
}

/* Writes one tensor (its data, then for int8 its scales, for fp8 its scale_weight). */
static int write_tensor(gen_plan *g, vgen_st_writer *w, const gen_tensor *t, float *buf, void *out, float *scales) {
    uint64_t s = name_seed(t->name, g->seed);
    const int64_t k = t->k > 0 ? t->k : 1;
    const float fp8_scale = t->amp / 448.0f;
    vgen_err err = {0};
    int rc = 0;
    for (int64_t r0 = 0; !rc && r0 < t->n; r0 += CHUNK_ROWS) {
        const int64_t nr = t->n - r0 < CHUNK_ROWS ? t->n - r0 : CHUNK_ROWS;
        const size_t cnt = (size_t)(nr * k);
        gen_rows(t, &s, nr, buf);
        if (t->kind != T_MATRIX) {
            rc = vgen_st_writer_write(w, buf, cnt * 4, &err);
        } else if (g->w == W_BF16) {
            for (size_t i = 0; i < cnt; i++) ((uint16_t *)out)[i] = vgen_f32_to_bf16(buf[i]);
            rc = vgen_st_writer_write(w, out, cnt * 2, &err);
        } else if (g->w == W_INT8) {
            rc = vgen_wformat_quantize(VGEN_WF_INT8_ROW, buf, nr, k, out, scales + r0, NULL, &err);
            if (!rc) rc = vgen_st_writer_write(w, out, cnt, &err);
        } else {
            for (size_t i = 0; i < cnt; i++) ((uint8_t *)out)[i] = vgen_f32_to_e4m3_sat(buf[i] / fp8_scale);
            rc = vgen_st_writer_write(w, out, cnt, &err);
        }
    }
    if (!rc && t->kind == T_MATRIX && g->w == W_INT8) rc = vgen_st_writer_write(w, scales, (size_t)t->n * 4, &err);
    if (!rc && t->kind == T_MATRIX && g->w == W_FP8) rc = vgen_st_writer_write(w, &fp8_scale, 4, &err);
    if (rc) fprintf(stderr, "%s: %s\n", t->name, err.msg);
    return rc;
}

static int write_all(gen_plan *g, const char *path) {
    vgen_st_writer *w = NULL;
    vgen_err err = {0};
    int rc = vgen_st_writer_open(path, g->decls, g->n_decls, g->meta_k, g->meta_v, g->n_meta, &w, &err);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return rc;
    }
    float *buf = malloc((size_t)CHUNK_ROWS * XXL_DFF * sizeof *buf);
    void *out = malloc((size_t)CHUNK_ROWS * XXL_DFF * 2);
    float *scales = malloc((size_t)XXL_VOCAB * sizeof *scales);
    rc = buf && out && scales ? 0 : -1;
    for (size_t i = 0; !rc && i < g->n; i++) rc = write_tensor(g, w, &g->t[i], buf, out, scales);
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    if (rc && err.msg[0]) fprintf(stderr, "%s\n", err.msg);
    vgen_st_writer_abort(&w);
    free(buf), free(out), free(scales);
    return rc;
}

static int cmd_gen(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: bench_textenc gen OUT --weights bf16|int8|fp8 [--layers N]\n"), 2;
    gen_plan g = {.w = W_BF16, .seed = 1};
    int layers = 24;
    for (int i = 3; i + 1 < argc; i += 2) {
        const char *v = argv[i + 1];
        if (!strcmp(argv[i], "--weights")) g.w = !strcmp(v, "int8") ? W_INT8 : !strcmp(v, "fp8") ? W_FP8 : W_BF16;
        else if (!strcmp(argv[i], "--layers")) layers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) g.seed = strtoull(argv[i + 1], NULL, 10);
    }
    if (layers < 1 || layers > 24) return fprintf(stderr, "--layers must be in 1..24\n"), 2;
    const size_t nt = 2 + (size_t)layers * 10, nd = 3 * nt + 1;
    g.t = calloc(nt, sizeof *g.t);
    g.decls = calloc(nd, sizeof *g.decls);
    g.names = calloc(nd, sizeof *g.names);
    g.meta_k = calloc(2 * nt + 1, sizeof *g.meta_k);
    g.meta_v = calloc(2 * nt + 1, sizeof *g.meta_v);
    g.meta_buf = calloc(2 * nt + 1, sizeof *g.meta_buf);
    int rc = g.t && g.decls && g.names && g.meta_k && g.meta_v && g.meta_buf ? 0 : -1;
    const double t0 = now_s();
    if (!rc) plan_tensors(&g, layers), rc = declare_all(&g);
    if (!rc) rc = write_all(&g, argv[2]);
    if (!rc) printf("wrote %s (%d layers) in %.1f s\n", argv[2], layers, now_s() - t0);
    free(g.t), free(g.decls), free(g.names), free(g.meta_k), free(g.meta_v), free(g.meta_buf);
    return rc ? 1 : 0;
}

/* ================================ run ================================ */

typedef struct run_opts {
    const char *model, *format, *save, *compare, *label;
    vgen_dtype compute;
    int threads, tokens, reps, f32_scores;
} run_opts;

static int parse_run(int argc, char **argv, run_opts *o) {
    *o = (run_opts){.model = argv[2], .compute = VGEN_DTYPE_BF16, .threads = 0, .tokens = 512, .reps = 2,
                    .label = ""};
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--f32-scores")) { o->f32_scores = 1; continue; }
        if (!v) return fprintf(stderr, "%s needs a value\n", a), -1;
        i++;
        if (!strcmp(a, "--compute")) o->compute = !strcmp(v, "f32") ? VGEN_DTYPE_F32 : VGEN_DTYPE_BF16;
        else if (!strcmp(a, "--format")) o->format = v;
        else if (!strcmp(a, "--threads")) o->threads = atoi(v);
        else if (!strcmp(a, "--tokens")) o->tokens = atoi(v);
        else if (!strcmp(a, "--reps")) o->reps = atoi(v);
        else if (!strcmp(a, "--save")) o->save = v;
        else if (!strcmp(a, "--compare")) o->compare = v;
        else if (!strcmp(a, "--label")) o->label = v;
        else return fprintf(stderr, "unknown option %s\n", a), -1;
    }
    if (o->tokens < 1 || o->tokens > 4096 || o->reps < 1) return fprintf(stderr, "bad --tokens or --reps\n"), -1;
    return 0;
}

/* GFLOP/s of the backend's bf16 linear at [512, 4096] x [4096, 10240], best of 3 (after one warm-up). */
static double linear_ceiling(vgen_backend *be) {
    const int64_t m = 512, k = XXL_D, n = XXL_DFF;
    uint16_t *w = malloc((size_t)(n * k) * 2);
    vgen_tensor x = {0}, y = {0};
    vgen_err err = {0};
    double best = 1e30;
    if (w && !vgen_tensor_alloc(&x, VGEN_DTYPE_BF16, 2, (int64_t[2]){m, k}, &err) &&
        !vgen_tensor_alloc(&y, VGEN_DTYPE_BF16, 2, (int64_t[2]){m, n}, &err)) {
        uint64_t s = 7;
        for (int64_t i = 0; i < n * k; i++) w[i] = vgen_f32_to_bf16(rng_unit(&s) * 0.02f);
        for (int64_t i = 0; i < m * k; i++) ((uint16_t *)x.data)[i] = vgen_f32_to_bf16(rng_unit(&s));
        const vgen_qmatrix q = {.format = VGEN_WF_BF16, .rows = n, .cols = k, .data = w};
        for (int r = 0; r < 4; r++) {
            const double t0 = now_s();
            be->linear(be, &x, &q, NULL, &y, &err);
            if (r > 0 && now_s() - t0 < best) best = now_s() - t0;
        }
    }
    vgen_tensor_release(&x), vgen_tensor_release(&y);
    free(w);
    return 2.0 * (double)(m * n * k) / best * 1e-9;
}

static void compare_with(const char *path, const float *out, size_t n, double *cosine, double *rel) {
    *cosine = *rel = NAN;
    FILE *f = fopen(path, "rb");
    float *ref = malloc(n * sizeof *ref);
    if (f && ref && fread(ref, sizeof *ref, n, f) == n) {
        double dot = 0, na = 0, nr = 0, e = 0;
        for (size_t i = 0; i < n; i++) {
            dot += (double)out[i] * ref[i], na += (double)out[i] * out[i], nr += (double)ref[i] * ref[i];
            e += ((double)out[i] - ref[i]) * ((double)out[i] - ref[i]);
        }
        *cosine = dot / sqrt(na * nr), *rel = sqrt(e / nr);
    }
    if (f) fclose(f);
    free(ref);
}

typedef struct run_result {
    double load_s, first_s, best_s;
} run_result;

static int encode_reps(const run_opts *o, vgen_umt5_session *s, int64_t vocab, vgen_tensor *out, run_result *r) {
    int32_t *ids = malloc((size_t)o->tokens * sizeof *ids);
    if (!ids) return -1;
    uint64_t seed = 11;
    const uint64_t ids_max = (uint64_t)(vocab < 256300 ? vocab : 256300); /* umt5-xxl's tokenizer: 256300 ids */
    for (int i = 0; i < o->tokens; i++) ids[i] = (int32_t)(rng_next(&seed) % ids_max);
    ids[o->tokens - 1] = 1; /* </s> */
    vgen_err err = {0};
    int rc = 0;
    r->best_s = 1e30;
    for (int i = 0; !rc && i < o->reps; i++) {
        const double t0 = now_s();
        rc = vgen_umt5_encode_padded(s, ids, o->tokens, out, &err);
        const double dt = now_s() - t0;
        if (i == 0) r->first_s = dt;
        else if (dt < r->best_s) r->best_s = dt;
    }
    if (o->reps == 1) r->best_s = r->first_s;
    if (rc) fprintf(stderr, "encode: %s\n", err.msg);
    free(ids);
    return rc;
}

static void print_row(const run_opts *o, const vgen_umt5_model *m, const vgen_umt5_session *s, const run_result *r,
                      double ceiling, const float *out) {
    const vgen_umt5_config *c = vgen_umt5_model_config(m);
    const double gflop = vgen_umt5_flops(c, o->tokens) * 1e-9, mib = 1.0 / (1024.0 * 1024.0);
    double cosine = NAN, rel = NAN;
    if (o->compare) compare_with(o->compare, out, (size_t)o->tokens * (size_t)c->d_model, &cosine, &rel);
    printf("| %s | %s / %s | %s%s | %lld | %lld | %.1f | %.2f | %.2f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | "
           "%.6f | %.4f |\n",
           o->label, vgen_wformat_get(vgen_umt5_linear_format(m))->name,
           vgen_wformat_get(vgen_umt5_embed_format(m))->name,
           vgen_dtype_name(vgen_umt5_model_compute(m)), o->f32_scores ? " (f32 scores)" : "", (long long)c->layers,
           (long long)o->tokens, r->load_s, r->first_s, r->best_s, gflop / r->best_s, ceiling, peak_rss_mib(),
           (double)vgen_umt5_owned_bytes(m) * mib, (double)vgen_umt5_mapped_bytes(m) * mib,
           (double)vgen_umt5_session_bytes(s) * mib, cosine, rel);
    fflush(stdout);
}

static void save_output(const char *path, const float *out, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out, sizeof *out, n, f) != n) fprintf(stderr, "cannot write %s\n", path);
    if (f) fclose(f);
}

static int run_model(const run_opts *o, vgen_backend *be, vgen_threadpool *pool) {
    vgen_umt5_params p;
    vgen_umt5_params_init(&p);
    p.compute = o->compute, p.format = o->format, p.pool = pool, p.round_scores = !o->f32_scores;
    vgen_umt5_model *m = NULL;
    vgen_umt5_session *s = NULL;
    vgen_tensor out = {0};
    vgen_err err = {0};
    run_result r = {0};
    const double t0 = now_s();
    int rc = vgen_umt5_load(o->model, &p, &m, &err);
    r.load_s = now_s() - t0;
    if (!rc) rc = vgen_umt5_session_new(m, be, o->tokens, &s, &err);
    if (!rc) rc = vgen_tensor_alloc(&out, VGEN_DTYPE_F32, 2, (int64_t[2]){o->tokens, XXL_D}, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    if (!rc) rc = encode_reps(o, s, vgen_umt5_model_config(m)->vocab, &out, &r);
    if (!rc) {
        const double ceiling = linear_ceiling(be);
        print_row(o, m, s, &r, ceiling, out.data);
        if (o->save) save_output(o->save, out.data, (size_t)o->tokens * XXL_D);
    }
    vgen_tensor_release(&out);
    vgen_umt5_session_free(&s);
    vgen_umt5_free(&m);
    return rc;
}

static int cmd_run(int argc, char **argv) {
    run_opts o;
    if (argc < 3 || parse_run(argc, argv, &o)) {
        fprintf(stderr, "usage: bench_textenc run MODEL [--compute bf16|f32] [--format NAME] [--threads N] "
                        "[--tokens N] [--reps N] [--f32-scores] [--save FILE] [--compare FILE] [--label TEXT]\n");
        return 2;
    }
    vgen_threadpool *pool = NULL;
    vgen_backend *be = NULL;
    vgen_err err = {0};
    int rc = vgen_threadpool_new(o.threads, &pool, &err);
    if (!rc) rc = vgen_backend_cpu_new(pool, &be, &err);
    if (!rc) vgen_cpu_ops_install(be); /* idempotent; until the constructor does it */
    if (rc) fprintf(stderr, "%s\n", err.msg);
    if (!rc) rc = run_model(&o, be, pool);
    vgen_backend_free(&be);
    vgen_threadpool_free(&pool);
    return rc ? 1 : 0;
}

static void print_header(void) {
    printf("| config | weights (linear / embedding) | compute | layers | tokens | load s | first encode s | encode s | "
           "GFLOP/s | linear bf16 GFLOP/s | peak RSS MiB | owned MiB | mapped MiB | session MiB | cos vs bf16 | "
           "rel L2 vs bf16 |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "gen")) return cmd_gen(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "run")) return cmd_run(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "header")) return print_header(), 0;
    fprintf(stderr, "usage: bench_textenc gen|run|header ... (see bench/textenc.c)\n");
    return 2;
}

/* test_backend_parity.c - every op of backend.h on a backend under test against the CPU backend, in the manner of
 * ggml's test-backend-ops (DESIGN.md section 5). See docs/backend-parity.md.
 *
 *   test_backend_parity [--backend cuda|cpu|ref] [--inject-fault] [--large] [--only OP] [--seed N]
 *
 * For each case (op, shape, dtypes, variant) the inputs are drawn from a seeded generator (tests/common/rng.h),
 * uploaded into buffers of the backend under test and of the reference (CPU backend) through be->alloc / be->upload
 * (tensors, weights' data/scales/zeros, bias, modulation vectors, rope tables, attention bias alike: device
 * pointers on CUDA, host buffers on the CPU backends, so one code path serves both), the op runs on both, the
 * outputs come back through be->download, and the case passes when
 *   - both calls return VGEN_OK;
 *   - every output of the backend under test is finite (outputs start as 0xFF bytes, a NaN in every dtype, so an
 *     element the op forgets to write shows);
 *   - max |got - ref| / max |ref| is within the budget of the op (table below);
 *   - the GUARD bytes after every buffer (inputs and outputs) are intact;
 *   - the backend's be->mem.current is back where it started once the case's buffers are freed. A backend may keep
 *     scratch counted in be->mem (CUDA grows its op scratch on demand), so a case that leaves memory behind runs a
 *     second time: a leak grows again, scratch does not. The summary reports the bytes kept as scratch.
 * An op the backend says it lacks (supports() false) is skipped and counted; supports() true with a NULL op fails.
 *
 * Modes.
 *   --backend cuda (default): the CUDA backend. Without -DVGEN_CUDA=ON, or with no usable device
 *       (vgen_backend_cuda_new: VGEN_ERR_UNSUPPORTED), prints how many cases it would have run and
 *       "SKIPPED: no CUDA device", exit 77. Runs the large shapes too, and on sm_89+ the linear fp8 cases once more
 *       with fp8 activations (vgen_cuda_options.fp8_activations).
 *   --backend cpu: self-check, a second CPU backend (no thread pool) against the CPU backend (a pool).
 *   --backend ref: self-check, the reference backend (kernels/ref) against the CPU backend.
 *   --inject-fault: self-check of the harness: the backend under test is a CPU backend wrapped so that unary
 *       corrupts one output element, binary overwrites one guard byte, gated_add leaks 64 counted bytes,
 *       check_finite never reports, and conv3d is missing (supports() false: skipped). Exit status 1 exactly when
 *       every injected fault was caught and nothing else failed (ctest runs it with WILL_FAIL), 0 otherwise.
 *   --large: run the large shapes in a self-check mode too (slow with --backend ref).  --only OP: one op family.
 *
 * Budgets: max |got - ref| over all elements, divided by max |ref| (a relative error that does not blow up where
 * single outputs are near zero). u = 2^-24, the f32 unit roundoff.
 *
 *   class        budget  ops                            why
 *   exact        0       convert                        f32 <-> bf16 <-> f16 round to nearest even: one answer
 *                        copy_strided                   elements moved, never computed
 *   elementwise  1e-6    binary, gated_add              one f32 operation per element; a fused multiply-add in
 *                                                       x + g y drops one rounding (u |g y|)
 *   rope         1e-6    rope                           x0 c - x1 s: two products and a sum, FMA or not (a few u)
 *   norm         1e-5    layer_norm, rms_norm,          statistics summed in another order and precision (f32
 *                        channel_rms_norm               tree sums vs double): ~sqrt(D) u on mean and variance,
 *                                                       then rsqrt (<= 2 ulp on GPUs) and a few f32 operations
 *   unary        1e-5    gelu_tanh, silu                tanh / exp by device intrinsics or vector code within a
 *                                                       few ulp, errors ~1e-6 of the largest output
 *   linear f32   1e-5    linear, x f32                  f32 products and sums in another order: random rounding
 *                                                       errors grow like sqrt(K) u (4e-6 at K = 5120) relative to
 *                                                       a typical |y|, less against max |y|
 *   linear bf16  1e-2    linear, x bf16                 bf16 products are exact in f32 when both sides round the
 *                                                       dequantized weight alike; a backend may scale after the
 *                                                       GEMM instead (one more bf16 rounding per product, 2^-9),
 *                                                       and the CPU reference's tiles may differ from the kernel's
 *   linear fp8a  6e-2    linear, fp8 weights, fp8       activations rounded to e4m3 per token (3 mantissa bits,
 *                        activations (CUDA sm_89+)      2^-4 per product)
 *   attn f32     1e-4    attention, q k v f32           online softmax: exp by exp2 with log2(e) folded into the
 *                                                       scale, rescaled per key tile, sums over Lk in another order
 *   attn bf16    1e-2    attention, any of q k v bf16   probabilities rounded to bf16 before P V (FlashAttention,
 *                                                       the CPU backend's bf16 tiles): 2^-9 per weight
 *   conv f32     1e-5    conv3d, x and w f32            implicit GEMM with K = Cin kt kh kw, as linear f32
 *   conv bf16    1e-2    conv3d, x or w bf16            the f32 operand may be rounded to bf16 for tensor cores:
 *                                                       as linear bf16
 *   verdict      0       check_finite                   output is 1 when the call answered as specified
 * Output rounding, added to every class but exact and verdict: y bf16 +2^-7, y f16 +2^-10. Both sides round their
 * own f32 result, and where it straddles a rounding boundary they land one ulp apart; one ulp of v is at most
 * 2^-7 |v| in bf16 (2^-10 in f16), hence at most 2^-7 max |ref|.
 * The self-check modes (cpu vs cpu, ref vs cpu) stay well within these: their worst ratios are printed per op.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/rng.h"
#include "ref/ops_ref.h"
#include "threadpool.h"

#ifdef VGEN_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

#define GUARD 64      /* bytes after every buffer */
#define MAX_BUFS 10   /* buffers of one case on one side */
#define PROBE "parity_probe"

/* ==================================================================================================== */
/* budgets                                                                                              */
/* ==================================================================================================== */

typedef enum bclass {
    B_EXACT, B_ELEMWISE, B_ROPE, B_NORM, B_UNARY, B_LIN_F32, B_LIN_BF16, B_LIN_FP8ACT,
    B_ATTN_F32, B_ATTN_BF16, B_CONV_F32, B_CONV_BF16, B_VERDICT, B_COUNT
} bclass;

static const double k_budget[B_COUNT] = {
    [B_EXACT] = 0.0,     [B_ELEMWISE] = 1e-6,  [B_ROPE] = 1e-6,      [B_NORM] = 1e-5,
    [B_UNARY] = 1e-5,    [B_LIN_F32] = 1e-5,   [B_LIN_BF16] = 1e-2,  [B_LIN_FP8ACT] = 6e-2,
    [B_ATTN_F32] = 1e-4, [B_ATTN_BF16] = 1e-2, [B_CONV_F32] = 1e-5,  [B_CONV_BF16] = 1e-2,
    [B_VERDICT] = 0.0,
};

static double budget_of(bclass c, vgen_dtype out) {
    if (c == B_EXACT || c == B_VERDICT) return k_budget[c];
    if (out == VGEN_DTYPE_BF16) return k_budget[c] + 0x1.0p-7;
    if (out == VGEN_DTYPE_F16) return k_budget[c] + 0x1.0p-10;
    return k_budget[c];
}

static const char *op_name(vgen_op op) {
    static const char *const names[VGEN_OP_COUNT] = {
        "linear", "layer_norm", "rms_norm", "channel_rms_norm", "rope", "attention",
        "unary", "binary", "gated_add", "conv3d", "convert", "check_finite", "copy_strided"};
    return (op >= 0 && op < VGEN_OP_COUNT) ? names[op] : "?";
}

static const char *dn(vgen_dtype t) { return vgen_dtype_name(t); }

/* ==================================================================================================== */
/* one side of a case: buffers of one backend, each followed by guard bytes                             */
/* ==================================================================================================== */

typedef struct side {
    vgen_backend *be;
    void *p[MAX_BUFS];
    size_t bytes[MAX_BUFS]; /* payload; the allocation is bytes + GUARD */
    int n;
    int rc;                 /* first failure: allocation, copy or the op itself */
    vgen_err err;
} side;

static side side_new(vgen_backend *be) {
    side s;
    memset(&s, 0, sizeof s);
    s.be = be;
    return s;
}

static uint8_t guard_byte(int i) { return (uint8_t)(0xA5 ^ (i * 37)); }

static void side_note(side *s, int rc) {
    if (rc && !s->rc) s->rc = rc;
}

/* A buffer of `bytes` on the side's device followed by GUARD guard bytes. Its first host_bytes come from host, the
 * rest are 0xFF (NaN in f32, bf16 and f16: an element an op forgets to write shows). NULL after any failure. */
static void *side_put_pad(side *s, const void *host, size_t host_bytes, size_t bytes) {
    if (s->rc) return NULL;
    if (s->n == MAX_BUFS) {
        side_note(s, vgen_err_set(&s->err, VGEN_ERR_INTERNAL, "harness: more than %d buffers", MAX_BUFS));
        return NULL;
    }
    uint8_t *stage = malloc(bytes + GUARD);
    uint8_t *d = stage ? s->be->alloc(s->be, bytes + GUARD, &s->err) : NULL;
    if (!d) {
        if (!stage) vgen_err_set(&s->err, VGEN_ERR_OUT_OF_MEMORY, "harness: %zu host bytes", bytes + GUARD);
        free(stage);
        side_note(s, VGEN_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    s->p[s->n] = d;
    s->bytes[s->n++] = bytes;
    if (host_bytes) memcpy(stage, host, host_bytes);
    memset(stage + host_bytes, 0xFF, bytes - host_bytes);
    for (int i = 0; i < GUARD; i++) stage[bytes + i] = guard_byte(i);
    side_note(s, s->be->upload(s->be, d, stage, bytes + GUARD, &s->err));
    free(stage);
    return s->rc ? NULL : d;
}

static void *side_put(side *s, const void *host, size_t bytes) { return side_put_pad(s, host, host ? bytes : 0, bytes); }

static const float *side_vec(side *s, const float *v, int64_t n) { return side_put(s, v, (size_t)n * sizeof *v); }

static int64_t numel(int nd, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    return n;
}

/* v (f32) rounded to dt, in a new host buffer of n elements. */
static void *encode(vgen_dtype dt, const float *v, int64_t n) {
    void *b = malloc((size_t)(n > 0 ? n : 1) * vgen_dtype_size(dt));
    for (int64_t i = 0; b && i < n; i++) vgen_ops_put(b, dt, i, v[i]);
    return b;
}

/* A tensor [shape] of dt on the side's device in a buffer of at least `room` bytes, holding v rounded to dt
 * (0xFF bytes when v is NULL). */
static vgen_tensor side_tensor_room(side *s, vgen_dtype dt, int nd, const int64_t *shape, const float *v,
                                    size_t room) {
    vgen_tensor t;
    memset(&t, 0, sizeof t);
    const int64_t n = numel(nd, shape);
    const size_t bytes = (size_t)n * vgen_dtype_size(dt);
    void *enc = v ? encode(dt, v, n) : NULL;
    if (v && !enc) side_note(s, vgen_err_set(&s->err, VGEN_ERR_OUT_OF_MEMORY, "harness: encode %zu bytes", bytes));
    void *d = side_put_pad(s, enc, enc ? bytes : 0, room > bytes ? room : bytes);
    free(enc);
    if (vgen_tensor_view(&t, dt, nd, shape, d, &s->err)) side_note(s, VGEN_ERR_SHAPE);
    t.device = s->be->device;
    return t;
}

static vgen_tensor side_tensor(side *s, vgen_dtype dt, int nd, const int64_t *shape, const float *v) {
    return side_tensor_room(s, dt, nd, shape, v, 0);
}

/* Downloads t into out (as f32). Returns s->rc. */
static int side_fetch(side *s, const vgen_tensor *t, float *out) {
    if (s->rc) return s->rc;
    const size_t bytes = vgen_tensor_bytes(t);
    void *h = malloc(bytes ? bytes : 1);
    if (!h) {
        side_note(s, vgen_err_set(&s->err, VGEN_ERR_OUT_OF_MEMORY, "harness: %zu host bytes", bytes));
        return s->rc;
    }
    side_note(s, s->be->download(s->be, h, t->data, bytes, &s->err));
    const int64_t n = vgen_tensor_numel(t);
    for (int64_t i = 0; !s->rc && i < n; i++) out[i] = vgen_ops_get(h, t->dtype, i);
    free(h);
    return s->rc;
}

/* Index of the first buffer whose guard bytes changed (or could not be read back), -1 when all are intact. */
static int side_guard_damage(side *s) {
    for (int b = 0; b < s->n; b++) {
        uint8_t g[GUARD];
        vgen_err e;
        if (s->be->download(s->be, g, (uint8_t *)s->p[b] + s->bytes[b], GUARD, &e)) return b;
        for (int i = 0; i < GUARD; i++)
            if (g[i] != guard_byte(i)) return b;
    }
    return -1;
}

static void side_release(side *s) {
    for (int b = 0; b < s->n; b++) s->be->buf_free(s->be, s->p[b], s->bytes[b] + GUARD);
    s->n = 0;
}

/* ==================================================================================================== */
/* the harness                                                                                          */
/* ==================================================================================================== */

typedef struct harness {
    vgen_backend *test, *ref;
    const char *only;        /* run only this op family (NULL: all) */
    int large;               /* also the large shapes */
    int count_only;          /* count the cases, run nothing */
    int fp8act;              /* the backend under test quantizes activations to fp8 (linear budget) */
    uint64_t seed;
    int n_cases, n_pass, n_fail, n_skip;
    int fail_op[VGEN_OP_COUNT], skip_op[VGEN_OP_COUNT];
    double worst[VGEN_OP_COUNT]; /* largest err / budget per op */
    size_t mem_start, kept;  /* test->mem.current at the start; bytes kept by the backend as scratch */
} harness;

/* One case: its label, its budget, and how to build inputs, run on one side and release the inputs. */
typedef struct pcase {
    vgen_op op;
    vgen_wformat fmt;        /* linear's weight format (ignored by supports() for other ops) */
    char shape[72], types[40], variant[40];
    bclass cls;
    vgen_dtype out_dt;
    int64_t n_out;
    void *args;
    int (*make)(void *args, rng *r);
    int (*run)(side *s, const void *args, float *out); /* returns s->rc */
    void (*release)(void *args);
} pcase;

static pcase pcase_init(vgen_op op, bclass cls, vgen_dtype out_dt, int64_t n_out, void *args) {
    pcase c;
    memset(&c, 0, sizeof c);
    c.op = op;
    c.fmt = VGEN_WF_F32;
    c.cls = cls;
    c.out_dt = out_dt;
    c.n_out = n_out;
    c.args = args;
    return c;
}

static int op_present(const vgen_backend *be, vgen_op op) {
    const void *const fns[VGEN_OP_COUNT] = {
        (const void *)be->linear, (const void *)be->layer_norm, (const void *)be->rms_norm,
        (const void *)be->channel_rms_norm, (const void *)be->rope, (const void *)be->attention,
        (const void *)be->unary, (const void *)be->binary, (const void *)be->gated_add, (const void *)be->conv3d,
        (const void *)be->convert, (const void *)be->check_finite, (const void *)be->copy_strided};
    return op >= 0 && op < VGEN_OP_COUNT && fns[op] != NULL;
}

static void print_line(const pcase *c, double err, double budget, const char *verdict, const char *why) {
    printf("%-16s %-34s %-20s %-22s err %9.3g  budget %9.3g  %s%s%s\n", op_name(c->op), c->shape, c->types,
           c->variant, err, budget, verdict, why[0] ? "  " : "", why);
}

/* max |got - want| / max |want| (absolute when want is all zero), reached at *worst; *bad: the first non-finite
 * got, *bad_want the first non-finite want, or -1. */
static double max_rel_err(const float *got, const float *want, int64_t n, int64_t *worst, int64_t *bad,
                          int64_t *bad_want) {
    double num = 0.0, den = 0.0;
    *worst = *bad = *bad_want = -1;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(want[i])) {
            if (*bad_want < 0) *bad_want = i;
            continue;
        }
        if (!isfinite(got[i])) {
            if (*bad < 0) *bad = i;
            continue;
        }
        const double d = fabs((double)got[i] - (double)want[i]);
        if (d > num) num = d, *worst = i;
        if (fabs(want[i]) > den) den = fabs(want[i]);
    }
    return den > 0.0 ? num / den : num;
}

typedef struct outcome {
    int rc_test, rc_ref, guard_test, guard_ref, leak;
    char msg_test[VGEN_ERR_MSG_MAX], msg_ref[VGEN_ERR_MSG_MAX];
} outcome;

/* Why the case fails (empty when it passes the checks other than the budget). */
static void diagnose(const outcome *o, int64_t bad, int64_t bad_want, const float *got, char *why, size_t size) {
    why[0] = '\0';
    if (o->rc_test) snprintf(why, size, "backend under test: %s (%d)", o->msg_test, o->rc_test);
    else if (o->rc_ref) snprintf(why, size, "reference: %s (%d)", o->msg_ref, o->rc_ref);
    else if (o->guard_test >= 0) snprintf(why, size, "guard bytes after buffer #%d overwritten", o->guard_test);
    else if (o->guard_ref >= 0) snprintf(why, size, "reference overwrote guard of buffer #%d", o->guard_ref);
    else if (o->leak < 0) snprintf(why, size, "be->mem.current grows with every run (leak)");
    else if (o->leak > 0) snprintf(why, size, "be->mem.current fell below its starting value");
    else if (bad_want >= 0) snprintf(why, size, "reference output %lld not finite", (long long)bad_want);
    else if (bad >= 0) snprintf(why, size, "output %lld not finite (%g)", (long long)bad, (double)got[bad]);
}

/* A case that left be->mem.current above where it started runs once more: scratch does not grow again, a leak
 * does. Returns 0 (kept bytes are added to h->kept), -1 for a leak, 1 when memory fell below the start. */
static int leak_check(harness *h, const pcase *c, size_t m0, float *out) {
    const size_t m1 = h->test->mem.current;
    if (m1 == m0) return 0;
    if (m1 < m0) return 1;
    side s = side_new(h->test);
    c->run(&s, c->args, out);
    side_release(&s);
    if (h->test->mem.current != m1) return -1;
    h->kept += m1 - m0;
    return 0;
}

/* Runs the case on both sides; fills o and got/want. */
static void run_both(harness *h, const pcase *c, float *got, float *want, outcome *o) {
    side st = side_new(h->test), sr = side_new(h->ref);
    const size_t m0 = h->test->mem.current;
    o->rc_test = c->run(&st, c->args, got);
    o->rc_ref = c->run(&sr, c->args, want);
    o->guard_test = side_guard_damage(&st);
    o->guard_ref = side_guard_damage(&sr);
    side_release(&st);
    side_release(&sr);
    snprintf(o->msg_test, sizeof o->msg_test, "%s", st.err.msg);
    snprintf(o->msg_ref, sizeof o->msg_ref, "%s", sr.err.msg);
    o->leak = leak_check(h, c, m0, got + c->n_out);
}

static void record(harness *h, const pcase *c, int pass, double ratio) {
    if (pass) h->n_pass++;
    else h->n_fail++, h->fail_op[c->op]++;
    if (ratio > h->worst[c->op]) h->worst[c->op] = ratio;
}

/* Counts, skips, or runs and judges one case. */
static void run_case(harness *h, pcase *c) {
    if (h->only && strcmp(h->only, op_name(c->op))) return;
    h->n_cases++;
    if (h->count_only) return;
    if (!h->test->supports(h->test, c->op, c->fmt)) {
        h->n_skip++, h->skip_op[c->op]++;
        print_line(c, 0.0, budget_of(c->cls, c->out_dt), "SKIP", "not supported by the backend under test");
        return;
    }
    const double budget = budget_of(c->cls, c->out_dt);
    char why[2 * VGEN_ERR_MSG_MAX + 64] = "";
    rng r = {h->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)h->n_cases)};
    float *got = malloc((size_t)(2 * c->n_out) * sizeof *got), *want = malloc((size_t)c->n_out * sizeof *want);
    double err = 0.0;
    if (!op_present(h->test, c->op)) snprintf(why, sizeof why, "supports() says yes but the op pointer is NULL");
    else if (!got || !want || c->make(c->args, &r)) snprintf(why, sizeof why, "harness: cannot build the inputs");
    else {
        outcome o;
        run_both(h, c, got, want, &o);
        int64_t worst = -1, bad = -1, bad_want = -1;
        err = (o.rc_test || o.rc_ref) ? INFINITY : max_rel_err(got, want, c->n_out, &worst, &bad, &bad_want);
        diagnose(&o, bad, bad_want, got, why, sizeof why);
        if (!why[0] && err > budget && worst >= 0)
            snprintf(why, sizeof why, "worst at element %lld: got %.9g, want %.9g", (long long)worst,
                     (double)got[worst], (double)want[worst]);
        if (!why[0] && c->cls == B_VERDICT && !(want[0] == 1.0f && got[0] == 1.0f))
            snprintf(why, sizeof why, "check_finite answered wrongly%s%s", o.msg_test[0] ? ": " : "", o.msg_test);
    }
    c->release(c->args);
    free(got);
    free(want);
    const int pass = !why[0] && err <= budget;
    record(h, c, pass, budget > 0.0 ? err / budget : (err > 0.0 ? INFINITY : 0.0));
    print_line(c, err, budget, pass ? "PASS" : "FAIL", why);
}

/* ==================================================================================================== */
/* host data                                                                                            */
/* ==================================================================================================== */

static float *hnormal(rng *r, int64_t n, double mean, double sd) {
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    for (int64_t i = 0; v && i < n; i++) v[i] = (float)(mean + sd * rng_normal(r));
    return v;
}

static void free_all(float **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]), v[i] = NULL;
}

static const char *shape_str(int nd, const int64_t *shape, char *buf, size_t size) {
    return vgen_shape_str(shape, nd, buf, size);
}

/* ==================================================================================================== */
/* linear                                                                                               */
/* ==================================================================================================== */

typedef struct lin_shape {
    int64_t b, m, k, n; /* x [b, m, K] when b > 0, else [m, K]; W [N, K] */
} lin_shape;

typedef struct lin_args {
    lin_shape s;
    vgen_dtype xdt, ydt;
    vgen_wformat fmt;
    int has_bias;
    float *x, *bias;
    void *wd;
    float *ws;
    uint8_t *wz;
    size_t wd_bytes, ws_count, wz_count;
} lin_args;

static int lin_dims(const lin_shape *s, int64_t *xs, int64_t *ys) {
    if (s->b > 0) {
        xs[0] = ys[0] = s->b, xs[1] = ys[1] = s->m, xs[2] = s->k, ys[2] = s->n;
        return 3;
    }
    xs[0] = ys[0] = s->m, xs[1] = s->k, ys[1] = s->n;
    return 2;
}

static int64_t lin_rows(const lin_shape *s) { return (s->b > 0 ? s->b : 1) * s->m; }

static void lin_release(void *p) {
    lin_args *a = p;
    free(a->x), free(a->bias), free(a->wd), free(a->ws), free(a->wz);
    a->x = a->bias = a->ws = NULL, a->wd = NULL, a->wz = NULL;
}

/* x [rows, K] ~ N(0, 1), W [N, K] ~ N(0, 1) quantized to the format, bias [N] ~ N(0, 1/4). */
static int lin_make(void *p, rng *r) {
    lin_args *a = p;
    const lin_shape *s = &a->s;
    if (vgen_wformat_data_bytes(a->fmt, s->n, s->k, &a->wd_bytes) ||
        vgen_wformat_scale_count(a->fmt, s->n, s->k, &a->ws_count) ||
        vgen_wformat_zero_count(a->fmt, s->n, s->k, &a->wz_count))
        return -1;
    float *w = hnormal(r, s->n * s->k, 0.0, 1.0);
    a->x = hnormal(r, lin_rows(s) * s->k, 0.0, 1.0);
    a->bias = hnormal(r, s->n, 0.0, 0.5);
    a->wd = malloc(a->wd_bytes);
    a->ws = malloc((a->ws_count ? a->ws_count : 1) * sizeof(float));
    a->wz = malloc(a->wz_count ? a->wz_count : 1);
    int rc = (w && a->x && a->bias && a->wd && a->ws && a->wz) ? 0 : -1;
    vgen_err err;
    if (!rc) rc = vgen_wformat_quantize(a->fmt, w, s->n, s->k, a->wd, a->ws, a->wz, &err);
    free(w);
    return rc;
}

static int lin_run(side *s, const void *p, float *out) {
    const lin_args *a = p;
    int64_t xs[3], ys[3];
    const int nd = lin_dims(&a->s, xs, ys);
    vgen_tensor x = side_tensor(s, a->xdt, nd, xs, a->x);
    const vgen_qmatrix w = {a->fmt, a->s.n, a->s.k, side_put(s, a->wd, a->wd_bytes),
                            a->ws_count ? side_vec(s, a->ws, (int64_t)a->ws_count) : NULL,
                            a->wz_count ? side_put(s, a->wz, a->wz_count) : NULL};
    const float *bias = a->has_bias ? side_vec(s, a->bias, a->s.n) : NULL;
    vgen_tensor y = side_tensor(s, a->ydt, nd, ys, NULL);
    if (!s->rc) side_note(s, s->be->linear(s->be, &x, &w, bias, &y, &s->err));
    return side_fetch(s, &y, out);
}

static void lin_case(harness *h, const lin_shape *sh, vgen_wformat fmt, vgen_dtype xdt, vgen_dtype ydt, int bias) {
    lin_args a = {.s = *sh, .xdt = xdt, .ydt = ydt, .fmt = fmt, .has_bias = bias};
    const bclass cls = h->fp8act ? B_LIN_FP8ACT : (xdt == VGEN_DTYPE_BF16 ? B_LIN_BF16 : B_LIN_F32);
    pcase c = pcase_init(VGEN_OP_LINEAR, cls, ydt, lin_rows(sh) * sh->n, &a);
    int64_t xs[3], ys[3];
    const int nd = lin_dims(sh, xs, ys);
    char b[48];
    snprintf(c.shape, sizeof c.shape, "x %s W [%lld, %lld]", shape_str(nd, xs, b, sizeof b), (long long)sh->n,
             (long long)sh->k);
    snprintf(c.types, sizeof c.types, "x %s y %s", dn(xdt), dn(ydt));
    snprintf(c.variant, sizeof c.variant, "%s%s", vgen_wformat_get(fmt)->name, bias ? " +bias" : "");
    c.fmt = fmt;
    c.make = lin_make, c.run = lin_run, c.release = lin_release;
    run_case(h, &c);
}

/* M = 1 and odd K below a group; K = 96 (a multiple of 32, not of 64 or 128); rank-3 x with K = 200 (a short last
 * group for every int4 size); odd M and N over K = 520 (several groups and tiles). Large: a Wan2.1-1.3B projection, odd M, K and N with K = 1000 (short groups), and
 * K = 5120 (14B). */
static const lin_shape k_lin_small[] = {{0, 1, 37, 19}, {0, 7, 96, 40}, {3, 11, 200, 72}, {0, 33, 520, 261}};
static const lin_shape k_lin_large[] = {{0, 257, 1536, 1536}, {0, 1031, 1000, 1001}, {0, 64, 5120, 640}};

static void lin_shape_cases(harness *h, const lin_shape *sh, int si, const vgen_wformat *fmts, int n_fmts) {
    static const vgen_dtype act[2] = {VGEN_DTYPE_F32, VGEN_DTYPE_BF16};
    for (int f = 0; f < n_fmts; f++)
        for (int xd = 0; xd < 2; xd++)
            for (int bias = 0; bias < 2; bias++)
                lin_case(h, sh, fmts[f], act[xd], act[(si + bias + f) % 2], bias);
}

static void linear_cases(harness *h, const vgen_wformat *fmts, int n_fmts) {
    const int ns = (int)(sizeof k_lin_small / sizeof k_lin_small[0]);
    const int nl = (int)(sizeof k_lin_large / sizeof k_lin_large[0]);
    for (int s = 0; s < ns; s++) lin_shape_cases(h, &k_lin_small[s], s, fmts, n_fmts);
    for (int s = 0; h->large && s < nl; s++) lin_shape_cases(h, &k_lin_large[s], s, fmts, n_fmts);
}

static void linear_all_formats(harness *h) {
    vgen_wformat fmts[VGEN_WF_COUNT];
    for (int f = 0; f < VGEN_WF_COUNT; f++) fmts[f] = (vgen_wformat)f;
    linear_cases(h, fmts, VGEN_WF_COUNT);
}

/* ==================================================================================================== */
/* layer_norm, rms_norm, channel_rms_norm                                                               */
/* ==================================================================================================== */

typedef struct norm_args {
    vgen_op op;
    int nd;
    int64_t shape[4];
    vgen_dtype xdt, ydt;
    int affine;   /* layer: w and b; rms: w; channel: bias (gamma is always there) */
    int modulate; /* layer: shift and scale */
    int in_place; /* y is x */
    float *v[5];  /* x, w, b, shift, scale */
} norm_args;

/* Length of the parameter vectors: D (innermost) for the row norms, C (outermost) for the channel norm. */
static int64_t norm_params(const norm_args *a) {
    return a->op == VGEN_OP_CHANNEL_RMS_NORM ? a->shape[0] : a->shape[a->nd - 1];
}

static void norm_release(void *p) { free_all(((norm_args *)p)->v, 5); }

/* x ~ N(1/2, 4) (a mean that cancels), w ~ N(1, 0.09), b, shift, scale ~ N(0, 1/4). */
static int norm_make(void *p, rng *r) {
    norm_args *a = p;
    const int64_t np = norm_params(a);
    a->v[0] = hnormal(r, numel(a->nd, a->shape), 0.5, 2.0);
    a->v[1] = hnormal(r, np, 1.0, 0.3);
    for (int i = 2; i < 5; i++) a->v[i] = hnormal(r, np, 0.0, 0.5);
    for (int i = 0; i < 5; i++)
        if (!a->v[i]) return -1;
    return 0;
}

static int norm_call(side *s, const norm_args *a, const vgen_tensor *x, vgen_tensor *y) {
    const int64_t np = norm_params(a);
    const int chan = a->op == VGEN_OP_CHANNEL_RMS_NORM;
    const float *w = (a->affine || chan) ? side_vec(s, a->v[1], np) : NULL;
    const float *b = (a->affine && a->op != VGEN_OP_RMS_NORM) ? side_vec(s, a->v[2], np) : NULL;
    const float *shift = a->modulate ? side_vec(s, a->v[3], np) : NULL;
    const float *scale = a->modulate ? side_vec(s, a->v[4], np) : NULL;
    if (s->rc) return s->rc;
    vgen_backend *be = s->be;
    if (a->op == VGEN_OP_LAYER_NORM) return be->layer_norm(be, x, w, b, shift, scale, 1e-6f, y, &s->err);
    if (a->op == VGEN_OP_RMS_NORM) return be->rms_norm(be, x, w, 1e-6f, y, &s->err);
    return be->channel_rms_norm(be, x, w, b, y, &s->err);
}

static int norm_run(side *s, const void *p, float *out) {
    const norm_args *a = p;
    vgen_tensor x = side_tensor(s, a->xdt, a->nd, a->shape, a->v[0]);
    vgen_tensor y = a->in_place ? x : side_tensor(s, a->ydt, a->nd, a->shape, NULL);
    if (!s->rc) side_note(s, norm_call(s, a, &x, &y));
    return side_fetch(s, &y, out);
}

static void norm_case(harness *h, vgen_op op, int nd, const int64_t *shape, vgen_dtype xdt, vgen_dtype ydt,
                      int affine, int modulate, int in_place) {
    norm_args a = {.op = op, .nd = nd, .xdt = xdt, .ydt = in_place ? xdt : ydt, .affine = affine,
                   .modulate = modulate, .in_place = in_place};
    memcpy(a.shape, shape, (size_t)nd * sizeof *shape);
    pcase c = pcase_init(op, B_NORM, a.ydt, numel(nd, shape), &a);
    shape_str(nd, shape, c.shape, sizeof c.shape);
    snprintf(c.types, sizeof c.types, "x %s y %s", dn(xdt), in_place ? "=x" : dn(ydt));
    const char *aff = op == VGEN_OP_CHANNEL_RMS_NORM ? "+bias" : "+affine";
    snprintf(c.variant, sizeof c.variant, "%s%s", affine ? aff : "plain", modulate ? " +modulation" : "");
    c.make = norm_make, c.run = norm_run, c.release = norm_release;
    run_case(h, &c);
}

typedef struct nd_shape {
    int nd;
    int64_t s[4];
} nd_shape;

static const vgen_dtype k_pairs[3][2] = {{VGEN_DTYPE_F32, VGEN_DTYPE_F32},
                                         {VGEN_DTYPE_BF16, VGEN_DTYPE_BF16},
                                         {VGEN_DTYPE_F32, VGEN_DTYPE_BF16}};

static void norm_shape_cases(harness *h, vgen_op op, const nd_shape *sh) {
    const int n_mod = op == VGEN_OP_LAYER_NORM ? 2 : 1;
    for (int p = 0; p < 3; p++)
        for (int aff = 0; aff < 2; aff++)
            for (int mod = 0; mod < n_mod; mod++)
                norm_case(h, op, sh->nd, sh->s, k_pairs[p][0], k_pairs[p][1], aff, mod, 0);
    for (int p = 0; p < 2; p++) norm_case(h, op, sh->nd, sh->s, k_pairs[p][0], k_pairs[p][1], 1, n_mod - 1, 1);
}

static void norm_cases(harness *h) {
    static const nd_shape rows[] = {{2, {1, 7}}, {2, {5, 96}}, {3, {2, 9, 333}}};
    static const nd_shape rows_large[] = {{2, {4096, 1536}}, {2, {1000, 5120}}};
    static const nd_shape chans[] = {{4, {3, 1, 5, 7}}, {4, {16, 2, 9, 13}}, {2, {96, 35}}};
    static const nd_shape chans_large[] = {{4, {384, 1, 60, 104}}};
    static const vgen_op row_ops[2] = {VGEN_OP_LAYER_NORM, VGEN_OP_RMS_NORM};
    for (int o = 0; o < 2; o++) {
        for (int s = 0; s < 3; s++) norm_shape_cases(h, row_ops[o], &rows[s]);
        for (int s = 0; h->large && s < 2; s++) norm_shape_cases(h, row_ops[o], &rows_large[s]);
    }
    for (int s = 0; s < 3; s++) norm_shape_cases(h, VGEN_OP_CHANNEL_RMS_NORM, &chans[s]);
    if (h->large) norm_shape_cases(h, VGEN_OP_CHANNEL_RMS_NORM, &chans_large[0]);
}

/* ==================================================================================================== */
/* rope                                                                                                 */
/* ==================================================================================================== */

typedef struct rope_args {
    int64_t shape[3]; /* [L, H, Dh] */
    vgen_dtype dt;
    float *v[3];      /* x, cos [L, Dh/2], sin [L, Dh/2] */
} rope_args;

static void rope_release(void *p) { free_all(((rope_args *)p)->v, 3); }

/* x ~ N(0, 1); the angle of (token l, pair j) is l 10000^(-2j/Dh), as in RoPE, from a random start position. */
static int rope_make(void *p, rng *r) {
    rope_args *a = p;
    const int64_t l = a->shape[0], half = a->shape[2] / 2, start = (int64_t)(rng_unit(r) * 5000.0);
    a->v[0] = hnormal(r, numel(3, a->shape), 0.0, 1.0);
    a->v[1] = malloc((size_t)(l * half) * sizeof(float));
    a->v[2] = malloc((size_t)(l * half) * sizeof(float));
    if (!a->v[0] || !a->v[1] || !a->v[2]) return -1;
    for (int64_t i = 0; i < l; i++)
        for (int64_t j = 0; j < half; j++) {
            const double ang = (double)(start + i) * pow(10000.0, -2.0 * (double)j / (double)a->shape[2]);
            a->v[1][i * half + j] = (float)cos(ang);
            a->v[2][i * half + j] = (float)sin(ang);
        }
    return 0;
}

static int rope_run(side *s, const void *p, float *out) {
    const rope_args *a = p;
    const int64_t table = a->shape[0] * (a->shape[2] / 2);
    vgen_tensor x = side_tensor(s, a->dt, 3, a->shape, a->v[0]);
    const float *cs = side_vec(s, a->v[1], table), *sn = side_vec(s, a->v[2], table);
    if (!s->rc) side_note(s, s->be->rope(s->be, &x, cs, sn, &s->err));
    return side_fetch(s, &x, out);
}

static void rope_cases(harness *h) {
    static const int64_t small[3][3] = {{5, 3, 8}, {37, 2, 64}, {1, 1, 2}}, large[1][3] = {{4096, 12, 128}};
    static const vgen_dtype act[2] = {VGEN_DTYPE_F32, VGEN_DTYPE_BF16};
    for (int s = 0; s < 3 + h->large; s++)
        for (int d = 0; d < 2; d++) {
            rope_args a = {.dt = act[d]};
            memcpy(a.shape, s < 3 ? small[s] : large[0], sizeof a.shape);
            pcase c = pcase_init(VGEN_OP_ROPE, B_ROPE, act[d], numel(3, a.shape), &a);
            shape_str(3, a.shape, c.shape, sizeof c.shape);
            snprintf(c.types, sizeof c.types, "x %s", dn(act[d]));
            snprintf(c.variant, sizeof c.variant, "in place");
            c.make = rope_make, c.run = rope_run, c.release = rope_release;
            run_case(h, &c);
        }
}

/* ==================================================================================================== */
/* attention                                                                                            */
/* ==================================================================================================== */

typedef struct attn_args {
    int64_t lq, lk, h, dh;
    vgen_dtype qdt, kvdt, odt;
    int has_bias;
    float *v[4]; /* q, k, v, bias [H, Lq, Lk] */
} attn_args;

static void attn_release(void *p) { free_all(((attn_args *)p)->v, 4); }

/* q ~ N(0, 4) (a peaked softmax), k, v ~ N(0, 1); bias ~ N(0, 1) with key Lk/2 masked (-inf) for every query of
 * every head, and query 0 of head 0 masked on every key (its output is 0 by definition). */
static int attn_make(void *p, rng *r) {
    attn_args *a = p;
    a->v[0] = hnormal(r, a->lq * a->h * a->dh, 0.0, 2.0);
    a->v[1] = hnormal(r, a->lk * a->h * a->dh, 0.0, 1.0);
    a->v[2] = hnormal(r, a->lk * a->h * a->dh, 0.0, 1.0);
    a->v[3] = hnormal(r, a->h * a->lq * a->lk, 0.0, 1.0);
    for (int i = 0; i < 4; i++)
        if (!a->v[i]) return -1;
    for (int64_t row = 0; a->lk > 1 && row < a->h * a->lq; row++) a->v[3][row * a->lk + a->lk / 2] = -INFINITY;
    for (int64_t j = 0; j < a->lk; j++) a->v[3][j] = -INFINITY;
    return 0;
}

static int attn_run(side *s, const void *p, float *out) {
    const attn_args *a = p;
    const int64_t qs[3] = {a->lq, a->h, a->dh}, ks[3] = {a->lk, a->h, a->dh}, bs[3] = {a->h, a->lq, a->lk};
    vgen_tensor q = side_tensor(s, a->qdt, 3, qs, a->v[0]);
    vgen_tensor k = side_tensor(s, a->kvdt, 3, ks, a->v[1]);
    vgen_tensor v = side_tensor(s, a->kvdt, 3, ks, a->v[2]);
    vgen_tensor bias;
    if (a->has_bias) bias = side_tensor(s, VGEN_DTYPE_F32, 3, bs, a->v[3]);
    vgen_tensor o = side_tensor(s, a->odt, 3, qs, NULL);
    const float scale = (float)(1.0 / sqrt((double)a->dh));
    if (!s->rc) side_note(s, s->be->attention(s->be, &q, &k, &v, scale, a->has_bias ? &bias : NULL, &o, &s->err));
    return side_fetch(s, &o, out);
}

static void attn_case(harness *h, const int64_t *dims, const vgen_dtype *dt, int has_bias) {
    attn_args a = {dims[0], dims[1], dims[2], dims[3], dt[0], dt[1], dt[2], has_bias, {NULL}};
    const int low = dt[0] == VGEN_DTYPE_BF16 || dt[1] == VGEN_DTYPE_BF16;
    pcase c = pcase_init(VGEN_OP_ATTENTION, low ? B_ATTN_BF16 : B_ATTN_F32, dt[2], a.lq * a.h * a.dh, &a);
    snprintf(c.shape, sizeof c.shape, "Lq %lld Lk %lld H %lld Dh %lld", (long long)a.lq, (long long)a.lk,
             (long long)a.h, (long long)a.dh);
    snprintf(c.types, sizeof c.types, "q %s kv %s o %s", dn(dt[0]), dn(dt[1]), dn(dt[2]));
    snprintf(c.variant, sizeof c.variant, "%s", has_bias ? "+bias, masked key/row" : "no bias");
    c.make = attn_make, c.run = attn_run, c.release = attn_release;
    run_case(h, &c);
}

static void attn_cases(harness *h) {
    static const int64_t small[5][4] = {{7, 9, 2, 16}, {33, 50, 3, 64}, {1, 1, 1, 8}, {20, 130, 1, 40},
                                        {65, 300, 2, 128}};
    static const int64_t large[2][4] = {{1024, 1024, 12, 128}, {333, 2049, 2, 128}};
    static const vgen_dtype F = VGEN_DTYPE_F32, B = VGEN_DTYPE_BF16;
    static const vgen_dtype combos[4][3] = {{F, F, F}, {B, B, B}, {B, B, F}, {F, B, F}};
    for (int s = 0; s < 5 + 2 * h->large; s++)
        for (int d = 0; d < 4; d++)
            for (int b = 0; b < 2; b++) attn_case(h, s < 5 ? small[s] : large[s - 5], combos[d], b);
}

/* ==================================================================================================== */
/* unary, binary, gated_add                                                                             */
/* ==================================================================================================== */

typedef struct ew_args {
    vgen_op op;
    int code;           /* vgen_unary_op / vgen_binary_op */
    int nd;
    int64_t shape[3];
    vgen_dtype dt[3];   /* unary: x, y; binary: a, b, y; gated_add: x, y */
    int bcast;          /* binary: b is [D]; gated_add: a gate [D] */
    int in_place;       /* unary: y is x; binary: y is a */
    float *v[3];        /* x / a, b / y, gate */
} ew_args;

static void ew_release(void *p) { free_all(((ew_args *)p)->v, 3); }

static int64_t ew_inner(const ew_args *a) { return a->shape[a->nd - 1]; }

/* x ~ N(0, 9) (both tails of gelu and silu), b / y ~ N(0, 1), gate ~ N(0, 1). */
static int ew_make(void *p, rng *r) {
    ew_args *a = p;
    const int64_t n = numel(a->nd, a->shape);
    a->v[0] = hnormal(r, n, 0.0, a->op == VGEN_OP_UNARY ? 3.0 : 1.0);
    a->v[1] = hnormal(r, (a->op == VGEN_OP_BINARY && a->bcast) ? ew_inner(a) : n, 0.0, 1.0);
    a->v[2] = hnormal(r, ew_inner(a), 0.0, 1.0);
    return (a->v[0] && a->v[1] && a->v[2]) ? 0 : -1;
}

static int unary_run(side *s, const void *p, float *out) {
    const ew_args *a = p;
    vgen_tensor x = side_tensor(s, a->dt[0], a->nd, a->shape, a->v[0]);
    vgen_tensor y = a->in_place ? x : side_tensor(s, a->dt[1], a->nd, a->shape, NULL);
    if (!s->rc) side_note(s, s->be->unary(s->be, (vgen_unary_op)a->code, &x, &y, &s->err));
    return side_fetch(s, &y, out);
}

static int binary_run(side *s, const void *p, float *out) {
    const ew_args *a = p;
    const int64_t d = ew_inner(a);
    vgen_tensor x = side_tensor(s, a->dt[0], a->nd, a->shape, a->v[0]);
    vgen_tensor b = a->bcast ? side_tensor(s, a->dt[1], 1, &d, a->v[1]) : side_tensor(s, a->dt[1], a->nd, a->shape, a->v[1]);
    vgen_tensor y = a->in_place ? x : side_tensor(s, a->dt[2], a->nd, a->shape, NULL);
    if (!s->rc) side_note(s, s->be->binary(s->be, (vgen_binary_op)a->code, &x, &b, &y, &s->err));
    return side_fetch(s, &y, out);
}

static int gated_run(side *s, const void *p, float *out) {
    const ew_args *a = p;
    vgen_tensor x = side_tensor(s, a->dt[0], a->nd, a->shape, a->v[0]);
    vgen_tensor y = side_tensor(s, a->dt[1], a->nd, a->shape, a->v[1]);
    const float *gate = a->bcast ? side_vec(s, a->v[2], ew_inner(a)) : NULL;
    if (!s->rc) side_note(s, s->be->gated_add(s->be, &x, gate, &y, &s->err));
    return side_fetch(s, &x, out);
}

static void ew_case(harness *h, ew_args *a, const char *variant, vgen_dtype out_dt) {
    static const bclass cls[3] = {B_UNARY, B_ELEMWISE, B_ELEMWISE};
    const int kind = a->op == VGEN_OP_UNARY ? 0 : a->op == VGEN_OP_BINARY ? 1 : 2;
    static int (*const runs[3])(side *, const void *, float *) = {unary_run, binary_run, gated_run};
    pcase c = pcase_init(a->op, cls[kind], out_dt, numel(a->nd, a->shape), a);
    shape_str(a->nd, a->shape, c.shape, sizeof c.shape);
    if (kind == 1)
        snprintf(c.types, sizeof c.types, "a %s b %s y %s", dn(a->dt[0]), dn(a->dt[1]),
                 a->in_place ? "=a" : dn(a->dt[2]));
    else
        snprintf(c.types, sizeof c.types, "x %s y %s", dn(a->dt[0]), (kind == 0 && a->in_place) ? "=x" : dn(a->dt[1]));
    snprintf(c.variant, sizeof c.variant, "%s", variant);
    c.make = ew_make, c.run = runs[kind], c.release = ew_release;
    run_case(h, &c);
}

static const nd_shape k_ew_small[3] = {{1, {1000}}, {2, {7, 33}}, {3, {3, 5, 129}}};
static const nd_shape k_ew_large[1] = {{2, {4096, 8960}}};

static const nd_shape *ew_shape(int s) {
    return s < 3 ? &k_ew_small[s] : &k_ew_large[0];
}

static void unary_cases(harness *h) {
    static const char *const names[2] = {"gelu_tanh", "silu"};
    for (int s = 0; s < 3 + h->large; s++)
        for (int op = 0; op < 2; op++)
            for (int p = 0; p < 4; p++) {
                const int in_place = p == 3;
                const vgen_dtype *dt = k_pairs[in_place ? 1 : p];
                ew_args a = {.op = VGEN_OP_UNARY, .code = op, .nd = ew_shape(s)->nd,
                             .dt = {dt[0], dt[1]}, .in_place = in_place};
                memcpy(a.shape, ew_shape(s)->s, sizeof a.shape);
                ew_case(h, &a, names[op], in_place ? dt[0] : dt[1]);
            }
}

static void binary_cases(harness *h) {
    static const vgen_dtype F = VGEN_DTYPE_F32, B = VGEN_DTYPE_BF16;
    static const vgen_dtype combos[4][3] = {{F, F, F}, {B, B, B}, {B, F, B}, {F, B, F}};
    static const char *const names[2][2] = {{"add", "mul"}, {"add [D] broadcast", "mul [D] broadcast"}};
    for (int s = 1; s < 3 + h->large; s++)
        for (int op = 0; op < 2; op++)
            for (int bc = 0; bc < 2; bc++)
                for (int d = 0; d < 4; d++)
                    for (int alias = 0; alias < 2; alias++) {
                        ew_args a = {.op = VGEN_OP_BINARY, .code = op, .nd = ew_shape(s)->nd,
                                     .dt = {combos[d][0], combos[d][1], combos[d][2]}, .bcast = bc,
                                     .in_place = alias};
                        memcpy(a.shape, ew_shape(s)->s, sizeof a.shape);
                        ew_case(h, &a, names[bc][op], combos[d][2]);
                    }
}

static void gated_cases(harness *h) {
    static const vgen_dtype F = VGEN_DTYPE_F32, B = VGEN_DTYPE_BF16;
    static const vgen_dtype combos[4][2] = {{F, F}, {B, B}, {F, B}, {B, F}};
    for (int s = 1; s < 3 + h->large; s++)
        for (int d = 0; d < 4; d++)
            for (int g = 0; g < 2; g++) {
                ew_args a = {.op = VGEN_OP_GATED_ADD, .nd = ew_shape(s)->nd, .dt = {combos[d][0], combos[d][1]},
                             .bcast = g};
                memcpy(a.shape, ew_shape(s)->s, sizeof a.shape);
                ew_case(h, &a, g ? "x += gate[D] y" : "x += y", combos[d][0]);
            }
}

/* ==================================================================================================== */
/* conv3d                                                                                               */
/* ==================================================================================================== */

typedef struct conv_geom {
    int64_t cin, f, h, w, cout, kt, kh, kw;
    vgen_conv3d_params p;
    const char *what;
} conv_geom;

typedef struct conv_args {
    conv_geom g;
    vgen_dtype xdt, wdt, ydt;
    int has_bias;
    float *v[3]; /* x, w, bias */
} conv_args;

static void conv_out_shape(const conv_geom *g, int64_t *ys) {
    ys[0] = g->cout;
    ys[1] = (g->f + g->p.pad_t[0] + g->p.pad_t[1] - g->kt) / g->p.stride_t + 1;
    ys[2] = (g->h + g->p.pad_h[0] + g->p.pad_h[1] - g->kh) / g->p.stride_h + 1;
    ys[3] = (g->w + g->p.pad_w[0] + g->p.pad_w[1] - g->kw) / g->p.stride_w + 1;
}

static void conv_release(void *p) { free_all(((conv_args *)p)->v, 3); }

static int conv_make(void *p, rng *r) {
    conv_args *a = p;
    const conv_geom *g = &a->g;
    const int64_t taps = g->cin * g->kt * g->kh * g->kw;
    a->v[0] = hnormal(r, g->cin * g->f * g->h * g->w, 0.0, 1.0);
    a->v[1] = hnormal(r, g->cout * taps, 0.0, 1.0 / sqrt((double)taps));
    a->v[2] = hnormal(r, g->cout, 0.0, 0.5);
    return (a->v[0] && a->v[1] && a->v[2]) ? 0 : -1;
}

static int conv_run(side *s, const void *p, float *out) {
    const conv_args *a = p;
    const conv_geom *g = &a->g;
    const int64_t xs[4] = {g->cin, g->f, g->h, g->w}, ws[5] = {g->cout, g->cin, g->kt, g->kh, g->kw};
    int64_t ys[4];
    conv_out_shape(g, ys);
    vgen_tensor x = side_tensor(s, a->xdt, 4, xs, a->v[0]);
    vgen_tensor w = side_tensor(s, a->wdt, 5, ws, a->v[1]);
    const float *bias = a->has_bias ? side_vec(s, a->v[2], g->cout) : NULL;
    vgen_tensor y = side_tensor(s, a->ydt, 4, ys, NULL);
    if (!s->rc) side_note(s, s->be->conv3d(s->be, &x, &w, bias, &g->p, &y, &s->err));
    return side_fetch(s, &y, out);
}

static void conv_case(harness *h, const conv_geom *g, const vgen_dtype *dt, int bias) {
    conv_args a = {*g, dt[0], dt[1], dt[2], bias, {NULL}};
    int64_t ys[4];
    conv_out_shape(g, ys);
    const int low = dt[0] == VGEN_DTYPE_BF16 || dt[1] == VGEN_DTYPE_BF16;
    pcase c = pcase_init(VGEN_OP_CONV3D, low ? B_CONV_BF16 : B_CONV_F32, dt[2], numel(4, ys), &a);
    snprintf(c.shape, sizeof c.shape, "x [%lld, %lld, %lld, %lld] k %lldx%lldx%lld -> %lld", (long long)g->cin,
             (long long)g->f, (long long)g->h, (long long)g->w, (long long)g->kt, (long long)g->kh, (long long)g->kw,
             (long long)g->cout);
    snprintf(c.types, sizeof c.types, "x %s w %s y %s", dn(dt[0]), dn(dt[1]), dn(dt[2]));
    snprintf(c.variant, sizeof c.variant, "%s%s", g->what, bias ? " +bias" : "");
    c.make = conv_make, c.run = conv_run, c.release = conv_release;
    run_case(h, &c);
}

static void conv_cases(harness *h) {
    static const conv_geom small[] = {
        {3, 2, 9, 11, 5, 1, 3, 3, {{0, 0}, {1, 1}, {1, 1}, 1, 1, 1}, "kt1 pad1"},
        {4, 5, 7, 6, 6, 3, 3, 3, {{2, 0}, {1, 1}, {1, 1}, 1, 1, 1}, "kt3 causal"},
        {2, 1, 9, 9, 3, 1, 3, 3, {{0, 0}, {0, 1}, {0, 1}, 1, 2, 2}, "kt1 stride2 pad(0,1)"},
        {5, 7, 3, 4, 4, 3, 1, 1, {{2, 0}, {0, 0}, {0, 0}, 2, 1, 1}, "kt3 1x1 stride_t2"},
        {16, 1, 5, 7, 12, 1, 1, 1, {{0, 0}, {0, 0}, {0, 0}, 1, 1, 1}, "1x1x1"},
        {3, 3, 4, 5, 17, 3, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1, 1, 1}, "kt3 pad1"},
    };
    static const conv_geom large[] = {
        {96, 3, 30, 52, 96, 3, 3, 3, {{2, 0}, {1, 1}, {1, 1}, 1, 1, 1}, "kt3 causal"},
        {16, 2, 60, 104, 384, 3, 3, 3, {{2, 0}, {1, 1}, {1, 1}, 1, 1, 1}, "kt3 causal"},
    };
    static const vgen_dtype F = VGEN_DTYPE_F32, B = VGEN_DTYPE_BF16;
    static const vgen_dtype combos[4][3] = {{F, F, F}, {B, B, B}, {F, B, F}, {B, F, F}};
    const int ns = (int)(sizeof small / sizeof small[0]), nl = (int)(sizeof large / sizeof large[0]);
    for (int s = 0; s < ns + (h->large ? nl : 0); s++)
        for (int d = 0; d < 4; d++) conv_case(h, s < ns ? &small[s] : &large[s - ns], combos[d], (s + d) % 2);
}

/* ==================================================================================================== */
/* convert                                                                                              */
/* ==================================================================================================== */

typedef struct cvt_args {
    int nd;
    int64_t shape[2];
    vgen_dtype xdt, ydt;
    int in_place; /* y is x: the same buffer, sized for the larger dtype */
    float *x;
} cvt_args;

static void cvt_release(void *p) {
    cvt_args *a = p;
    free(a->x);
    a->x = NULL;
}

/* Magnitudes from 2^-20 (f16 subnormals) to 2^15 (f16 top binade), both signs. */
static int cvt_make(void *p, rng *r) {
    cvt_args *a = p;
    const int64_t n = numel(a->nd, a->shape);
    a->x = malloc((size_t)n * sizeof *a->x);
    if (!a->x) return -1;
    for (int64_t i = 0; i < n; i++) {
        const double mag = ldexp(1.0 + rng_unit(r), (int)(rng_unit(r) * 35.0) - 20);
        a->x[i] = (float)(rng_unit(r) < 0.5 ? -mag : mag);
        if (fabsf(a->x[i]) > 65000.0f) a->x[i] *= 0.5f; /* stays finite in f16 */
    }
    return 0;
}

static int cvt_run(side *s, const void *p, float *out) {
    const cvt_args *a = p;
    const size_t room = (size_t)numel(a->nd, a->shape) * 4;
    vgen_tensor x = side_tensor_room(s, a->xdt, a->nd, a->shape, a->x, a->in_place ? room : 0);
    vgen_tensor y = a->in_place ? x : side_tensor(s, a->ydt, a->nd, a->shape, NULL);
    y.dtype = a->ydt;
    if (!s->rc) side_note(s, s->be->convert(s->be, &x, &y, &s->err));
    return side_fetch(s, &y, out);
}

static void cvt_cases(harness *h) {
    static const nd_shape shapes[3] = {{1, {1}}, {1, {1000}}, {2, {3, 333}}}, big = {2, {4096, 1536}};
    static const vgen_dtype F = VGEN_DTYPE_F32, B = VGEN_DTYPE_BF16, H = VGEN_DTYPE_F16;
    static const vgen_dtype pairs[6][2] = {{F, B}, {F, H}, {B, F}, {H, F}, {B, H}, {H, B}};
    for (int s = 0; s < 3 + h->large; s++)
        for (int p = 0; p < 6; p++)
            for (int ip = 0; ip < (p < 4 ? 2 : 1); ip++) {
                const nd_shape *sh = s < 3 ? &shapes[s] : &big;
                cvt_args a = {.nd = sh->nd, .shape = {sh->s[0], sh->s[1]}, .xdt = pairs[p][0], .ydt = pairs[p][1],
                              .in_place = ip};
                pcase c = pcase_init(VGEN_OP_CONVERT, B_EXACT, pairs[p][1], numel(sh->nd, sh->s), &a);
                shape_str(sh->nd, sh->s, c.shape, sizeof c.shape);
                snprintf(c.types, sizeof c.types, "%s -> %s", dn(pairs[p][0]), dn(pairs[p][1]));
                snprintf(c.variant, sizeof c.variant, "%s", ip ? "in place" : "");
                c.make = cvt_make, c.run = cvt_run, c.release = cvt_release;
                run_case(h, &c);
            }
}

/* ==================================================================================================== */
/* copy_strided                                                                                         */
/* ==================================================================================================== */

/* A copy whose destination is dense (every element addressed once), so the 0xFF prefill cannot survive. */
typedef struct cp_args {
    int n;
    int64_t shape[VGEN_COPY_MAX_DIMS], ss[VGEN_COPY_MAX_DIMS], ds[VGEN_COPY_MAX_DIMS];
    vgen_dtype dt;          /* f32 (4-byte elements) or bf16 (2-byte) */
    int64_t n_src;          /* source elements spanned */
    float *x;
} cp_args;

static void cp_release(void *p) {
    cp_args *a = p;
    free(a->x);
    a->x = NULL;
}

static int64_t cp_span(const int64_t *st, const int64_t *shape, int n) {
    int64_t last = 0;
    for (int k = 0; k < n; k++) last += (shape[k] - 1) * st[k];
    return last + 1;
}

static int cp_make(void *p, rng *r) {
    cp_args *a = p;
    a->n_src = cp_span(a->ss, a->shape, a->n);
    return (a->x = hnormal(r, a->n_src, 0.0, 1.0)) ? 0 : -1;
}

static int cp_run(side *s, const void *p, float *out) {
    const cp_args *a = p;
    const int64_t n_dst = numel(a->n, a->shape);
    vgen_tensor x = side_tensor(s, a->dt, 1, &a->n_src, a->x);
    vgen_tensor y = side_tensor(s, a->dt, 1, &n_dst, NULL);
    if (!s->rc)
        side_note(s, s->be->copy_strided(s->be, x.data, a->ss, y.data, a->ds, a->shape, a->n, vgen_dtype_size(a->dt),
                                         &s->err));
    return side_fetch(s, &y, out);
}

static void cp_cases(harness *h) {
    /* the Wan VAE's moves: a frame of [C, T, H, W], the upsample3d interleave, nearest x2, the attention transposes */
    static const struct {
        int n;
        int64_t shape[VGEN_COPY_MAX_DIMS], ss[VGEN_COPY_MAX_DIMS], ds[VGEN_COPY_MAX_DIMS];
        const char *what;
    } k[] = {
        {2, {96, 35}, {3 * 35, 1}, {35, 1}, "frame slice"},
        {4, {2, 48, 3, 35}, {48 * 3 * 35, 3 * 35, 35, 1}, {35, 6 * 35, 2 * 35, 1}, "interleave"},
        {5, {24, 5, 2, 7, 2}, {35, 7, 0, 1, 0}, {140, 28, 14, 2, 1}, "nearest x2"},
        {2, {1247, 384}, {1, 1247}, {384, 1}, "transpose"},
        {5, {192, 60, 2, 104, 2}, {6240, 104, 0, 1, 0}, {24960, 416, 208, 2, 1}, "nearest x2, large"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        for (int d = 0; d < 2; d++) {
            if (i == 4 && !h->large) continue;
            cp_args a = {.n = k[i].n, .dt = d ? VGEN_DTYPE_BF16 : VGEN_DTYPE_F32};
            memcpy(a.shape, k[i].shape, sizeof a.shape), memcpy(a.ss, k[i].ss, sizeof a.ss);
            memcpy(a.ds, k[i].ds, sizeof a.ds);
            pcase c = pcase_init(VGEN_OP_COPY_STRIDED, B_EXACT, a.dt, numel(a.n, a.shape), &a);
            shape_str(a.n, a.shape, c.shape, sizeof c.shape);
            snprintf(c.types, sizeof c.types, "%s", dn(a.dt));
            snprintf(c.variant, sizeof c.variant, "%s", k[i].what);
            c.make = cp_make, c.run = cp_run, c.release = cp_release;
            run_case(h, &c);
        }
}

/* ==================================================================================================== */
/* check_finite                                                                                         */
/* ==================================================================================================== */

typedef enum cf_kind { CF_CLEAN, CF_NAN, CF_INF, CF_NEG_INF_THEN_NAN, CF_COUNT } cf_kind;

typedef struct cf_args {
    int nd;
    int64_t shape[2];
    vgen_dtype dt;
    cf_kind kind;
    int64_t bad;  /* the first bad index (kind != CF_CLEAN) */
    float *x;
} cf_args;

static void cf_release(void *p) {
    cf_args *a = p;
    free(a->x);
    a->x = NULL;
}

static int cf_make(void *p, rng *r) {
    cf_args *a = p;
    const int64_t n = numel(a->nd, a->shape);
    a->x = hnormal(r, n, 0.0, 100.0);
    if (!a->x) return -1;
    a->bad = (int64_t)(rng_unit(r) * (double)(n > 1 ? n - 1 : 1));
    if (a->kind == CF_NAN) a->x[a->bad] = NAN;
    if (a->kind == CF_INF) a->x[a->bad] = INFINITY;
    if (a->kind == CF_NEG_INF_THEN_NAN) a->x[a->bad] = -INFINITY, a->x[n - 1] = NAN;
    return 0;
}

/* Whether msg holds idx as a whole decimal number. */
static int has_number(const char *msg, int64_t idx) {
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)idx);
    const size_t len = strlen(num);
    for (const char *p = strstr(msg, num); p; p = strstr(p + 1, num)) {
        const int before = p > msg && p[-1] >= '0' && p[-1] <= '9';
        const int after = p[len] >= '0' && p[len] <= '9';
        if (!before && !after) return 1;
    }
    return 0;
}

/* out[0] = 1 when check_finite answered as backend.h says: VGEN_OK for a clean tensor, else VGEN_ERR_NUMERIC
 * naming `what` and the first bad index. */
static int cf_run(side *s, const void *p, float *out) {
    const cf_args *a = p;
    vgen_tensor x = side_tensor(s, a->dt, a->nd, a->shape, a->x);
    if (s->rc) return s->rc;
    vgen_err e;
    vgen_err_clear(&e);
    const int rc = s->be->check_finite(s->be, &x, PROBE, &e);
    int ok = a->kind == CF_CLEAN ? rc == VGEN_OK
                                 : rc == VGEN_ERR_NUMERIC && strstr(e.msg, PROBE) && has_number(e.msg, a->bad);
    out[0] = ok ? 1.0f : 0.0f;
    if (!ok)
        snprintf(s->err.msg, sizeof s->err.msg, "returned %d \"%.400s\", expected %s at %lld", rc, e.msg,
                 a->kind == CF_CLEAN ? "VGEN_OK" : "VGEN_ERR_NUMERIC", (long long)a->bad);
    return 0;
}

static void cf_cases(harness *h) {
    static const nd_shape shapes[2] = {{1, {1000}}, {2, {3, 333}}}, big = {2, {4096, 5120}};
    static const vgen_dtype dts[3] = {VGEN_DTYPE_F32, VGEN_DTYPE_BF16, VGEN_DTYPE_F16};
    static const char *const names[CF_COUNT] = {"clean", "NaN", "+Inf", "-Inf, later NaN"};
    for (int s = 0; s < 2 + h->large; s++)
        for (int d = 0; d < 3; d++)
            for (int k = 0; k < CF_COUNT; k++) {
                const nd_shape *sh = s < 2 ? &shapes[s] : &big;
                cf_args a = {.nd = sh->nd, .shape = {sh->s[0], sh->s[1]}, .dt = dts[d], .kind = (cf_kind)k};
                pcase c = pcase_init(VGEN_OP_CHECK_FINITE, B_VERDICT, VGEN_DTYPE_F32, 1, &a);
                shape_str(sh->nd, sh->s, c.shape, sizeof c.shape);
                snprintf(c.types, sizeof c.types, "x %s", dn(dts[d]));
                snprintf(c.variant, sizeof c.variant, "%s", names[k]);
                c.make = cf_make, c.run = cf_run, c.release = cf_release;
                run_case(h, &c);
            }
}

/* ==================================================================================================== */
/* fault injection: a CPU backend whose ops misbehave, to show the harness fails                        */
/* ==================================================================================================== */

typedef struct faulty {
    vgen_backend be; /* first: the harness sees this; ops run on the inner backend's impl and pool */
    const vgen_backend *inner;
} faulty;

static const vgen_backend *inner_of(const vgen_backend *be) { return ((const faulty *)be)->inner; }

/* unary, then element n/2 of y += 1. */
static int faulty_unary(vgen_backend *be, vgen_unary_op op, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    int rc = inner_of(be)->unary(be, op, x, y, err);
    const size_t esz = vgen_dtype_size(y->dtype);
    uint8_t *at = (uint8_t *)y->data + (size_t)(vgen_tensor_numel(y) / 2) * esz;
    uint8_t e[4];
    if (!rc) rc = be->download(be, e, at, esz, err);
    if (!rc) vgen_ops_put(e, y->dtype, 0, vgen_ops_get(e, y->dtype, 0) + 1.0f);
    if (!rc) rc = be->upload(be, at, e, esz, err);
    return rc;
}

/* binary, then one byte written just past the end of y. */
static int faulty_binary(vgen_backend *be, vgen_binary_op op, const vgen_tensor *a, const vgen_tensor *b,
                         vgen_tensor *y, vgen_err *err) {
    int rc = inner_of(be)->binary(be, op, a, b, y, err);
    const uint8_t stray = 0x5A;
    if (!rc) rc = be->upload(be, (uint8_t *)y->data + vgen_tensor_bytes(y), &stray, 1, err);
    return rc;
}

/* gated_add, then 64 bytes counted in be->mem and never returned. */
static int faulty_gated_add(vgen_backend *be, vgen_tensor *x, const float *gate, const vgen_tensor *y,
                            vgen_err *err) {
    int rc = inner_of(be)->gated_add(be, x, gate, y, err);
    vgen_memstat_add(&be->mem, 64);
    return rc;
}

/* Never reports anything. */
static int faulty_check_finite(vgen_backend *be, const vgen_tensor *x, const char *what, vgen_err *err) {
    (void)be, (void)x, (void)what, (void)err;
    return VGEN_OK;
}

static int faulty_new(const vgen_backend *inner, vgen_backend **out) {
    faulty *f = calloc(1, sizeof *f);
    if (!f) return VGEN_ERR_OUT_OF_MEMORY;
    f->be = *inner;
    f->be.name = "cpu-faulty";
    f->be.mem = (vgen_memstat){0, 0};
    f->be.destroy = NULL; /* the inner backend owns impl */
    f->be.unary = faulty_unary;
    f->be.binary = faulty_binary;
    f->be.gated_add = faulty_gated_add;
    f->be.check_finite = faulty_check_finite;
    f->be.conv3d = NULL; /* supports() (vgen_backend_has_op) then says no */
    f->inner = inner;
    *out = &f->be;
    return VGEN_OK;
}

/* Every injected fault caught (its op failed, conv3d skipped) and nothing else failed. */
static int faults_all_caught(const harness *h) {
    static const vgen_op faulted[4] = {VGEN_OP_UNARY, VGEN_OP_BINARY, VGEN_OP_GATED_ADD, VGEN_OP_CHECK_FINITE};
    int ok = h->skip_op[VGEN_OP_CONV3D] > 0 && h->n_skip == h->skip_op[VGEN_OP_CONV3D];
    int others = h->n_fail;
    for (int i = 0; i < 4; i++) {
        printf("injected fault in %-12s: %s (%d failing cases)\n", op_name(faulted[i]),
               h->fail_op[faulted[i]] ? "caught" : "NOT CAUGHT", h->fail_op[faulted[i]]);
        ok = ok && h->fail_op[faulted[i]] > 0;
        others -= h->fail_op[faulted[i]];
    }
    printf("conv3d missing: %d cases skipped\n", h->skip_op[VGEN_OP_CONV3D]);
    if (others) printf("%d failures outside the injected faults\n", others);
    return ok && others == 0;
}

/* ==================================================================================================== */
/* driver                                                                                               */
/* ==================================================================================================== */

static void run_all(harness *h) {
    linear_all_formats(h);
    norm_cases(h);
    rope_cases(h);
    attn_cases(h);
    unary_cases(h);
    binary_cases(h);
    gated_cases(h);
    conv_cases(h);
    cvt_cases(h);
    cf_cases(h);
    cp_cases(h);
}

/* The memory check over the whole run: be->mem.current is back at its start plus the scratch the backend kept. */
static int memory_ok(const harness *h) {
    const size_t now = h->test->mem.current;
    printf("memory of %s: %zu bytes in use at the start, %zu at the end, %zu kept as scratch, peak %zu\n",
           h->test->name, h->mem_start, now, h->kept, h->test->mem.peak);
    return now == h->mem_start + h->kept;
}

static void summary(const harness *h) {
    printf("\nparity %s vs %s: %d cases, %d passed, %d failed, %d skipped (not supported by %s)\n", h->test->name,
           h->ref->name, h->n_cases, h->n_pass, h->n_fail, h->n_skip, h->test->name);
    printf("worst err / budget per op:");
    for (int op = 0; op < VGEN_OP_COUNT; op++) printf(" %s %.3g%s", op_name((vgen_op)op), h->worst[op],
                                                    h->skip_op[op] ? " (skips)" : "");
    printf("\n");
}

typedef struct opts {
    const char *backend; /* "cuda", "cpu", "ref" */
    int inject, large;
    const char *only;
    uint64_t seed;
} opts;

static int parse_opts(int argc, char **argv, opts *o) {
    *o = (opts){"cuda", 0, 0, NULL, 20240601u};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) o->backend = argv[++i];
        else if (!strcmp(argv[i], "--inject-fault")) o->inject = 1;
        else if (!strcmp(argv[i], "--large")) o->large = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) o->only = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) o->seed = strtoull(argv[++i], NULL, 0);
        else return -1;
    }
    if (o->inject) o->backend = "cpu";
    return (strcmp(o->backend, "cuda") && strcmp(o->backend, "cpu") && strcmp(o->backend, "ref")) ? -1 : 0;
}

/* The backends of one run: the reference (CPU, on a pool) and the backend under test. */
typedef struct setup {
    vgen_threadpool *pool;
    vgen_backend *ref, *test, *inner;
} setup;

static void setup_free(setup *s) {
    vgen_backend_free(&s->test);
    vgen_backend_free(&s->inner);
    vgen_backend_free(&s->ref);
    vgen_threadpool_free(&s->pool);
}

/* Counts the cases the CUDA mode would run, and says why it does not. */
static int cuda_skip(harness *h, const char *why) {
    h->count_only = 1;
    h->large = 1;
    run_all(h);
    printf("%d cases would have run (plus the fp8-activation linear cases on sm_89+)\n", h->n_cases);
    printf("SKIPPED: no CUDA device (%s)\n", why);
    return 77;
}

/* Runs every case on h->test; returns whether all passed and memory came back. */
static int run_suite(harness *h) {
    h->mem_start = h->test->mem.current;
    h->kept = 0;
    run_all(h);
    const int mem_ok = memory_ok(h);
    if (!mem_ok) printf("FAIL: %s's be->mem.current did not return to its starting value (leak)\n", h->test->name);
    summary(h);
    return mem_ok && h->n_fail == 0;
}

#ifdef VGEN_HAVE_CUDA
static int cuda_open(int fp8, vgen_backend **out, vgen_err *err) {
    vgen_cuda_options o;
    vgen_cuda_options_init(&o);
    o.fp8_activations = fp8;
    return vgen_backend_cuda_new(&o, out, err);
}

/* The fp8 linear cases once more with activations quantized to e4m3 (sm_89+). */
static int cuda_fp8_suite(harness *h) {
    int major = 0, minor = 0;
    vgen_cuda_compute_capability(h->test, &major, &minor);
    if (major * 10 + minor < 89) {
        printf("fp8 activations: sm_%d%d < sm_89, not run\n", major, minor);
        return 1;
    }
    vgen_err err;
    vgen_backend *fp8 = NULL;
    if (cuda_open(1, &fp8, &err)) {
        printf("FAIL: CUDA backend with fp8 activations: %s\n", err.msg);
        return 0;
    }
    harness f = *h;
    memset(f.fail_op, 0, sizeof f.fail_op), memset(f.skip_op, 0, sizeof f.skip_op), memset(f.worst, 0, sizeof f.worst);
    f.test = fp8, f.fp8act = 1, f.n_cases = f.n_pass = f.n_fail = f.n_skip = 0;
    f.mem_start = fp8->mem.current, f.kept = 0;
    static const vgen_wformat fmts[2] = {VGEN_WF_FP8_E4M3_ROW, VGEN_WF_FP8_E4M3_TENSOR};
    printf("\n---- linear with fp8 activations ----\n");
    linear_cases(&f, fmts, 2);
    const int ok = memory_ok(&f) && f.n_fail == 0;
    summary(&f);
    vgen_backend_free(&fp8);
    return ok;
}
#endif

/* Creates the backends of the mode. Returns 0, 77 (CUDA mode without a device: counted and skipped) or 1. */
static int setup_new(const opts *o, harness *h, setup *s) {
    vgen_err err;
    vgen_err_clear(&err);
    int rc = vgen_threadpool_new(0, &s->pool, &err);
    if (!rc) rc = vgen_backend_cpu_new(s->pool, &s->ref, &err);
    if (!rc && !strcmp(o->backend, "ref")) rc = vgen_backend_ref_new(&s->test, &err);
    if (!rc && !strcmp(o->backend, "cpu") && !o->inject) rc = vgen_backend_cpu_new(NULL, &s->test, &err);
    if (!rc && o->inject) {
        rc = vgen_backend_cpu_new(NULL, &s->inner, &err);
        if (!rc) rc = faulty_new(s->inner, &s->test);
    }
    if (rc) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    h->ref = s->ref;
    if (strcmp(o->backend, "cuda")) return 0;
#ifdef VGEN_HAVE_CUDA
    rc = cuda_open(0, &s->test, &err);
    if (rc == VGEN_ERR_UNSUPPORTED) return cuda_skip(h, err.msg);
    if (rc) {
        fprintf(stderr, "FAIL: vgen_backend_cuda_new: %s\n", err.msg);
        return 1;
    }
    h->large = 1;
    return 0;
#else
    return cuda_skip(h, "built without -DVGEN_CUDA=ON");
#endif
}

int main(int argc, char **argv) {
    opts o;
    if (parse_opts(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--backend cuda|cpu|ref] [--inject-fault] [--large] [--only OP] [--seed N]\n",
                argv[0]);
        return 2;
    }
    harness h;
    memset(&h, 0, sizeof h);
    h.only = o.only, h.large = o.large, h.seed = o.seed;
    setup s;
    memset(&s, 0, sizeof s);
    int rc = setup_new(&o, &h, &s);
    if (rc) {
        setup_free(&s);
        return rc;
    }
    h.test = s.test;
    printf("backend under test: %s, reference: %s (%d threads), seed %llu%s\n", h.test->name, h.ref->name,
           vgen_threadpool_size(s.pool), (unsigned long long)h.seed, h.large ? ", large shapes" : "");
    int ok = run_suite(&h);
#ifdef VGEN_HAVE_CUDA
    if (!strcmp(o.backend, "cuda")) ok = cuda_fp8_suite(&h) && ok;
#endif
    setup_free(&s);
    if (o.inject) {
        const int caught = faults_all_caught(&h);
        printf("%s\n", caught ? "FAILED, as it should: every injected fault was caught"
                               : "PASSED, which it must not: the harness missed an injected fault");
        return caught ? 1 : 0;
    }
    printf("%s\n", ok ? "PASSED" : "FAILED");
    return ok ? 0 : 1;
}

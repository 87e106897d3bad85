/* bench/plan_check.c - the memory planner's CPU figures against what the loaders and allocators hold, on a model
 * folder of the real Wan2.1-T2V-1.3B configuration with random weights (bench/plan_check.sh writes one).
 *
 *   bench_plan_check MODEL_DIR PRESET [--latent FxHxW] [--session FxHxW] [--vae FxHxW] [--tokens N]
 *                    [--threads N] [--skip text|dit|vae]...
 *
 * Each component is planned from its folder (the family's plan_text / plan_dit / plan_vae, as vgen_plan_compute
 * calls them), then loaded and run as the pipeline does under PRESET (presets/cpu.json: text encoder bf16, DiT
 * int8_row quantized on load with bf16 compute, VAE f32), one after the other, each freed before the next:
 *   - text encoder: one encode of --tokens ids (default 16, the last </s>) in a session of 512 tokens
 *     (vgen_umt5_encode_padded, what the pipeline's text encoder runs after its tokenizer; no tokenizer here);
 *   - DiT: a session of --session (default 21x60x104: 832x480x81, 32760 tokens) is allocated, not run; one forward
 *     runs at --latent (default 1x60x104: one 832x480 frame, 1560 tokens) with a 512-row context;
 *   - VAE: one streaming decode of --vae latents (default 2x60x104: 832x480, 5 frames) with the preset's tiling and
 *     the budget the planner gives the decoder (the preset's budget less the VAE's and the DiT's planned weights).
 * Measured figures: the loaders' owned + mapped bytes; the arenas' capacities and peaks (vgen_*_session_bytes /
 * _peak); and the process's heap, counted by this program's malloc/free (forwarded to glibc's, every block counted
 * by malloc_usable_size): the bytes a load leaves allocated, and the peak above the level before a forward or a
 * decode (for the DiT and text encoder that is the backend's own scratch beyond the session arena; for the VAE the
 * whole working set: its arena, caches, frame buffers and the backend's scratch).
 * Prints a markdown table (planned, measured, planned / measured) and exits 1 when a ratio is outside [0.9, 1.1]. */
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rng.h"
#include "backend.h"
#include "cpu/ops_cpu.h"
#include "family.h"
#include "family_wan21.h"
#include "preset.h"
#include "threadpool.h"
#include "umt5.h"
#include "wan_dit.h"
#include "wan_vae.h"

/* ---- heap counting: this executable's malloc family, forwarded to glibc's ---------------------------------------- */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

/* Signed: a few blocks that glibc allocates before this program's malloc is bound come back through free, so the
 * live count may start slightly negative; only differences are reported. */
static atomic_llong g_live, g_peak;

static void *count_in(void *p) {
    if (!p) return p;
    const long long n = (long long)malloc_usable_size(p), now = atomic_fetch_add(&g_live, n) + n;
    long long peak = atomic_load(&g_peak);
    while (now > peak && !atomic_compare_exchange_weak(&g_peak, &peak, now)) {
    }
    return p;
}

static void count_out(void *p) {
    if (p) atomic_fetch_sub(&g_live, (long long)malloc_usable_size(p));
}

void *malloc(size_t n) { return count_in(__libc_malloc(n)); }
void *calloc(size_t n, size_t size) { return count_in(__libc_calloc(n, size)); }
void free(void *p) {
    count_out(p);
    __libc_free(p);
}

void *realloc(void *p, size_t n) {
    const size_t old = p ? malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (!q && n) return NULL; /* failed: p is untouched */
    atomic_fetch_sub(&g_live, (long long)old);
    return count_in(q);
}

void *memalign(size_t align, size_t n) { return count_in(__libc_memalign(align, n)); }
void *aligned_alloc(size_t align, size_t n) { return count_in(__libc_memalign(align, n)); }

int posix_memalign(void **out, size_t align, size_t n) {
    if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
    void *p = count_in(__libc_memalign(align, n));
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

static long long heap_live(void) { return atomic_load(&g_live); }
static void heap_peak_reset(void) { atomic_store(&g_peak, atomic_load(&g_live)); }
static size_t nonneg(long long v) { return v > 0 ? (size_t)v : 0; }
static size_t heap_since(long long base) { return nonneg(heap_live() - base); }
static size_t heap_peak_since(long long base) { return nonneg(atomic_load(&g_peak) - base); }

/* ---- the report ------------------------------------------------------------------------------------------------ */

#define MAX_ROWS 24
#define MIB (1.0 / 1048576.0)

typedef struct row {
    char what[80], how[160];
    size_t planned, measured;
} row;

typedef struct report {
    row r[MAX_ROWS];
    int n;
} report;

static void add_row(report *t, const char *what, size_t planned, size_t measured, const char *how) {
    if (t->n == MAX_ROWS) return;
    row *r = &t->r[t->n++];
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->how, sizeof r->how, "%s", how);
    r->planned = planned, r->measured = measured;
}

static double ratio_of(const row *r) {
    if (r->measured == 0) return r->planned == 0 ? 1.0 : 1e9;
    return (double)r->planned / (double)r->measured;
}

/* Prints the table; returns the number of ratios outside [0.9, 1.1]. */
static int print_report(const report *t) {
    int bad = 0;
    printf("| figure | planned MiB | measured MiB | planned / measured | measured as |\n");
    printf("|---|---|---|---|---|\n");
    for (int i = 0; i < t->n; i++) {
        const row *r = &t->r[i];
        const double q = ratio_of(r);
        const int ok = q >= 0.9 && q <= 1.1;
        bad += !ok;
        printf("| %s | %.1f | %.1f | %.3f%s | %s |\n", r->what, (double)r->planned * MIB, (double)r->measured * MIB,
               q, ok ? "" : " **outside**", r->how);
    }
    return bad;
}

/* ---- options ------------------------------------------------------------------------------------------------- */

typedef struct opts {
    const char *model, *preset;
    int64_t lat[3], full[3], vae[3]; /* F, H, W latent */
    int tokens, threads;
    int skip_text, skip_dit, skip_vae;
} opts;

static int parse_fhw(const char *v, int64_t out[3]) {
    long long f, h, w;
    if (sscanf(v, "%lldx%lldx%lld", &f, &h, &w) != 3 || f < 1 || h < 2 || w < 2) return -1;
    out[0] = f, out[1] = h, out[2] = w;
    return 0;
}

static int parse_skip(const char *v, opts *o) {
    if (!strcmp(v, "text")) o->skip_text = 1;
    else if (!strcmp(v, "dit")) o->skip_dit = 1;
    else if (!strcmp(v, "vae")) o->skip_vae = 1;
    else return -1;
    return 0;
}

static int parse_opts(int argc, char **argv, opts *o) {
    *o = (opts){.lat = {1, 60, 104}, .full = {21, 60, 104}, .vae = {2, 60, 104}, .tokens = 16};
    if (argc < 3) return -1;
    o->model = argv[1], o->preset = argv[2];
    for (int i = 3; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        int rc = 0;
        if (!strcmp(k, "--latent")) rc = parse_fhw(v, o->lat);
        else if (!strcmp(k, "--session")) rc = parse_fhw(v, o->full);
        else if (!strcmp(k, "--vae")) rc = parse_fhw(v, o->vae);
        else if (!strcmp(k, "--tokens")) o->tokens = atoi(v), rc = o->tokens < 1 || o->tokens > 512;
        else if (!strcmp(k, "--threads")) o->threads = atoi(v);
        else if (!strcmp(k, "--skip")) rc = parse_skip(v, o);
        else rc = -1;
        if (rc) return -1;
    }
    return (argc - 3) % 2 ? -1 : 0;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void component_path(const opts *o, const char *part, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s", o->model, part);
}

/* The shared run state: the preset, the CPU backend on its pool, the DiT's planned weights (the decoder's budget). */
typedef struct env {
    const opts *o;
    vgen_preset preset;
    vgen_threadpool *pool;
    vgen_backend *be;
    size_t dit_planned_weights;
    report table;
} env;

/* ---- text encoder -------------------------------------------------------------------------------------------- */

static int text_encode_once(env *e, vgen_umt5_session *s, int64_t d_model, size_t planned, vgen_err *err) {
    const int n = e->o->tokens;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    vgen_tensor out = {0};
    int rc = ids ? vgen_tensor_alloc(&out, VGEN_DTYPE_F32, 2, (int64_t[2]){512, d_model}, err)
                 : vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the prompt ids");
    uint64_t seed = 3;
    for (int i = 0; ids && i < n; i++) ids[i] = i == n - 1 ? 1 : (int32_t)(2 + rng_next(&seed) % 3000);
    const long long base = heap_live();
    heap_peak_reset();
    const double t0 = now_s();
    if (!rc) rc = vgen_umt5_encode_padded(s, ids, n, &out, err);
    const size_t extra = heap_peak_since(base);
    if (!rc) {
        char how[160];
        snprintf(how, sizeof how, "arena peak %.1f MiB + heap peak above it %.1f MiB (encode %.1f s)",
                 (double)vgen_umt5_session_peak(s) * MIB, (double)extra * MIB, now_s() - t0);
        add_row(&e->table, "text encoder: encode working set", planned, vgen_umt5_session_peak(s) + extra, how);
    }
    vgen_tensor_release(&out);
    free(ids);
    return rc;
}

static int text_session(env *e, const vgen_umt5_model *m, const vgen_part_plan *pl, vgen_err *err) {
    vgen_umt5_session *s = NULL;
    const long long base = heap_live();
    int rc = vgen_umt5_session_new(m, e->be, 512, &s, err);
    if (rc) return rc;
    char how[160];
    snprintf(how, sizeof how, "vgen_umt5_session_bytes (heap allocated: %.1f MiB)", (double)heap_since(base) * MIB);
    add_row(&e->table, "text encoder: session arena, 512 tokens", pl->activations, vgen_umt5_session_bytes(s), how);
    rc = text_encode_once(e, s, vgen_umt5_model_config(m)->d_model, pl->activations, err);
    vgen_umt5_session_free(&s);
    return rc;
}

static int check_text(env *e, vgen_err *err) {
    char path[4096];
    component_path(e->o, "text_encoder", path, sizeof path);
    const vgen_component_plan *cp = &e->preset.components[VGEN_COMPONENT_TEXT_ENCODER];
    vgen_part_plan pl;
    int rc = vgen_family_wan21.plan_text(path, cp, 512, &pl, err);
    if (rc) return rc;
    vgen_umt5_params p; /* as family_wan21_text.c sets them */
    vgen_umt5_params_init(&p);
    p.compute = cp->compute, p.format = wan21_plan_format(cp), p.pool = e->pool;
    vgen_umt5_model *m = NULL;
    const long long base = heap_live();
    const double t0 = now_s();
    rc = vgen_umt5_load(path, &p, &m, err);
    if (rc) return rc;
    const size_t owned = vgen_umt5_owned_bytes(m), mapped = vgen_umt5_mapped_bytes(m), held = heap_since(base);
    char what[80], how[160];
    snprintf(what, sizeof what, "text encoder: weights (%s)", vgen_wformat_get(vgen_umt5_linear_format(m))->name);
    snprintf(how, sizeof how, "loader: owned %.1f + mapped %.1f MiB (load %.1f s)", (double)owned * MIB,
             (double)mapped * MIB, now_s() - t0);
    add_row(&e->table, what, pl.weights, owned + mapped, how);
    add_row(&e->table, "text encoder: weights, heap held + mapped", pl.weights, held + mapped,
            "heap allocated by the load + the loader's mapped bytes");
    rc = text_session(e, m, &pl, err);
    vgen_umt5_free(&m);
    return rc;
}

/* ---- DiT ----------------------------------------------------------------------------------------------------- */

static vgen_dit_shape shape_of(const int64_t fhw[3]) {
    return (vgen_dit_shape){.frames = fhw[0], .height = fhw[1], .width = fhw[2], .ctx_len = 512};
}

static int dit_session_of(env *e, const vgen_part *dit, const int64_t fhw[3], vgen_dit_session **s, vgen_err *err) {
    vgen_dit_session_params sp; /* as wan21_dit_session_new sets them */
    vgen_dit_session_params_init(&sp);
    sp.frames = fhw[0], sp.height = fhw[1], sp.width = fhw[2], sp.ctx_len = 512;
    return vgen_dit_session_new(dit->impl, e->be, &sp, s, err);
}

/* The arena of a session of shape fhw: allocated, compared with the plan, freed. */
static int dit_arena(env *e, const char *path, const vgen_part *dit, const int64_t fhw[3], vgen_err *err) {
    const vgen_dit_shape shape = shape_of(fhw);
    vgen_part_plan pl;
    int rc = vgen_family_wan21.plan_dit(path, &e->preset.components[VGEN_COMPONENT_DIT], &shape, &pl, err);
    vgen_dit_session *s = NULL;
    const long long base = heap_live();
    if (!rc) rc = dit_session_of(e, dit, fhw, &s, err);
    if (rc) return rc;
    char what[80], how[160];
    snprintf(what, sizeof what, "DiT: session arena, latent %lldx%lldx%lld (%lld tokens)", (long long)fhw[0],
             (long long)fhw[1], (long long)fhw[2], (long long)(fhw[0] * (fhw[1] / 2) * (fhw[2] / 2)));
    snprintf(how, sizeof how, "vgen_dit_session_bytes, allocated (heap allocated: %.1f MiB)",
             (double)heap_since(base) * MIB);
    add_row(&e->table, what, pl.activations, vgen_dit_session_bytes(s), how);
    vgen_dit_session_free(&s);
    return VGEN_OK;
}

typedef struct dit_io {
    float *x, *ctx, *v;
} dit_io;

static int dit_io_new(const vgen_wan_config *c, const int64_t fhw[3], dit_io *io, vgen_err *err) {
    const size_t nl = (size_t)(fhw[0] * fhw[1] * fhw[2]), nc = (size_t)512 * (size_t)c->text_dim;
    io->x = malloc(nl * (size_t)c->in_channels * sizeof(float));
    io->v = malloc(nl * (size_t)c->out_channels * sizeof(float));
    io->ctx = calloc(nc, sizeof(float));
    if (!io->x || !io->v || !io->ctx) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate DiT inputs");
    uint64_t seed = 1;
    for (size_t i = 0; i < nl * (size_t)c->in_channels; i++) io->x[i] = rng_sym(&seed, 1.7f);
    for (size_t i = 0; i < (size_t)16 * (size_t)c->text_dim; i++) io->ctx[i] = rng_sym(&seed, 0.3f); /* 16 rows */
    return VGEN_OK;
}

static void dit_io_free(dit_io *io) { free(io->x), free(io->ctx), free(io->v); }

/* One forward at fhw through the family's session (as the denoising loop runs it). */
static int dit_forward_once(env *e, const char *path, const vgen_part *dit, const int64_t fhw[3], vgen_err *err) {
    const vgen_dit_shape shape = shape_of(fhw);
    vgen_part_plan pl;
    int rc = vgen_family_wan21.plan_dit(path, &e->preset.components[VGEN_COMPONENT_DIT], &shape, &pl, err);
    dit_io io = {0};
    vgen_dit_session *s = NULL;
    if (!rc) rc = dit_io_new(vgen_dit_config(dit->impl), fhw, &io, err);
    if (!rc) rc = dit_session_of(e, dit, fhw, &s, err);
    const vgen_wan_config *c = vgen_dit_config(dit->impl);
    int64_t xs[4] = {c->in_channels, fhw[0], fhw[1], fhw[2]}, vs[4] = {c->out_channels, fhw[0], fhw[1], fhw[2]};
    vgen_tensor xt, vt, ct;
    if (!rc) rc = vgen_tensor_view(&xt, VGEN_DTYPE_F32, 4, xs, io.x, err);
    if (!rc) rc = vgen_tensor_view(&vt, VGEN_DTYPE_F32, 4, vs, io.v, err);
    if (!rc) rc = vgen_tensor_view(&ct, VGEN_DTYPE_F32, 2, (int64_t[2]){512, c->text_dim}, io.ctx, err);
    const long long base = heap_live();
    heap_peak_reset();
    const double t0 = now_s();
    if (!rc) rc = vgen_dit_forward(s, &xt, 999.0f, &ct, &vt, err);
    if (!rc) {
        const size_t extra = heap_peak_since(base), peak = vgen_dit_session_peak(s);
        char what[80], how[160];
        snprintf(what, sizeof what, "DiT: forward working set, latent %lldx%lldx%lld", (long long)fhw[0],
                 (long long)fhw[1], (long long)fhw[2]);
        snprintf(how, sizeof how, "arena peak %.1f MiB (of %.1f) + heap peak above it %.1f MiB (forward %.1f s)",
                 (double)peak * MIB, (double)vgen_dit_session_bytes(s) * MIB, (double)extra * MIB, now_s() - t0);
        add_row(&e->table, what, pl.activations + pl.cpu_scratch, peak + extra, how); /* arena + backend scratch */
    }
    vgen_dit_session_free(&s);
    dit_io_free(&io);
    return rc;
}

static int check_dit(env *e, vgen_err *err) {
    char path[4096];
    component_path(e->o, "transformer", path, sizeof path);
    const vgen_component_plan *cp = &e->preset.components[VGEN_COMPONENT_DIT];
    const vgen_dit_shape full = shape_of(e->o->full);
    vgen_part_plan pl;
    int rc = vgen_family_wan21.plan_dit(path, cp, &full, &pl, err);
    if (rc) return rc;
    e->dit_planned_weights = pl.weights;
    const vgen_part_load a = {.path = path, .plan = cp, .pool = e->pool};
    vgen_part *dit = NULL;
    const long long base = heap_live();
    const double t0 = now_s();
    rc = vgen_family_wan21.dit_load(&a, &dit, err);
    if (rc) return rc;
    const size_t held = heap_since(base);
    char what[80], how[160];
    snprintf(what, sizeof what, "DiT: weights (%s blocks, %s compute)", dit->weights, dit->compute);
    snprintf(how, sizeof how, "loader: owned %.1f + mapped %.1f MiB (load and quantize %.1f s)",
             (double)dit->owned_bytes * MIB, (double)dit->mapped_bytes * MIB, now_s() - t0);
    add_row(&e->table, what, pl.weights, dit->owned_bytes + dit->mapped_bytes, how);
    add_row(&e->table, "DiT: weights, heap held + mapped", pl.weights, held + dit->mapped_bytes,
            "heap allocated by the load + the loader's mapped bytes");
    rc = dit_arena(e, path, dit, e->o->full, err);
    if (!rc) rc = dit_arena(e, path, dit, e->o->lat, err);
    if (!rc) rc = dit_forward_once(e, path, dit, e->o->lat, err);
    vgen_part_free(&dit);
    return rc;
}

/* ---- VAE ----------------------------------------------------------------------------------------------------- */

static int on_frame(void *user_data, int64_t index, int width, int height, const float *rgb) {
    (void)index, (void)width, (void)height, (void)rgb;
    ++*(int64_t *)user_data;
    return VGEN_OK;
}

static float *random_latents(const int64_t fhw[3]) {
    const size_t n = (size_t)(16 * fhw[0] * fhw[1] * fhw[2]);
    float *z = malloc(n * sizeof *z);
    uint64_t seed = 12345;
    for (size_t i = 0; z && i < n; i++) z[i] = rng_sym(&seed, 1.7f);
    return z;
}

static int vae_decode_once(env *e, const vgen_part *vae, vgen_vae_request *r, const vgen_part_plan *pl,
                           vgen_err *err) {
    int64_t frames = 0;
    r->on_frame = on_frame, r->frame_user_data = &frames;
    const long long base = heap_live();
    heap_peak_reset();
    const double t0 = now_s();
    int rc = vgen_family_wan21.vae_decode(vae, e->be, r, err);
    if (rc) return rc;
    const size_t peak = heap_peak_since(base);
    char what[80], how[160];
    snprintf(what, sizeof what, "VAE: decode working set, latent %lldx%lldx%lld (%s)", (long long)r->frames,
             (long long)r->height, (long long)r->width, pl->tile_w ? "tiled" : "untiled");
    snprintf(how, sizeof how, "heap peak above the level before the decode (%lld frames, %.1f s; the loaded "
             "decoder planned %.1f MiB)", (long long)frames, now_s() - t0, (double)r->planned_bytes * MIB);
    add_row(&e->table, what, pl->activations, peak, how);
    return VGEN_OK;
}

static int check_vae(env *e, vgen_err *err) {
    char path[4096];
    component_path(e->o, "vae", path, sizeof path);
    const vgen_component_plan *cp = &e->preset.components[VGEN_COMPONENT_VAE];
    const int64_t *fhw = e->o->vae;
    vgen_vae_request r = {.channels = 16, .frames = fhw[0], .height = fhw[1], .width = fhw[2], .plan = cp};
    vgen_part_plan pl;
    int rc = vgen_family_wan21.plan_vae(path, cp, &r, &pl, err); /* the weights first: they set the budget */
    const double left = e->preset.memory_budget_gb * 1073741824.0 - (double)pl.weights - (double)e->dit_planned_weights;
    r.memory_budget = (size_t)(left > 268435456.0 ? left : 268435456.0);
    if (!rc) rc = vgen_family_wan21.plan_vae(path, cp, &r, &pl, err);
    float *z = rc ? NULL : random_latents(fhw);
    if (!rc && !z) rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the latents");
    r.latents = z;
    const vgen_part_load a = {.path = path, .plan = cp, .pool = e->pool};
    vgen_part *vae = NULL;
    const long long base = heap_live();
    if (!rc) rc = vgen_family_wan21.vae_load(&a, &vae, err);
    if (!rc) {
        char how[160];
        snprintf(how, sizeof how, "loader: owned %.1f + mapped %.1f MiB (heap held %.1f MiB)",
                 (double)vae->owned_bytes * MIB, (double)vae->mapped_bytes * MIB, (double)heap_since(base) * MIB);
        add_row(&e->table, "VAE: weights (f32)", pl.weights, vae->owned_bytes + vae->mapped_bytes, how);
        rc = vae_decode_once(e, vae, &r, &pl, err);
    }
    vgen_part_free(&vae);
    free(z);
    return rc;
}

/* ---- main ---------------------------------------------------------------------------------------------------- */

static int run_checks(env *e, vgen_err *err) {
    int rc = vgen_preset_read(e->o->preset, &e->preset, err);
    if (!rc) rc = vgen_threadpool_new(e->o->threads, &e->pool, err);
    if (!rc) rc = vgen_backend_cpu_new(e->pool, &e->be, err);
    if (!rc) vgen_cpu_ops_install(e->be); /* as generate.c does */
    if (!rc && !e->o->skip_text) rc = check_text(e, err);
    if (!rc && !e->o->skip_dit) rc = check_dit(e, err);
    if (!rc && !e->o->skip_vae && e->o->skip_dit) { /* the decoder's budget needs the DiT's planned weights */
        char path[4096];
        vgen_part_plan pl;
        const vgen_dit_shape full = shape_of(e->o->full);
        component_path(e->o, "transformer", path, sizeof path);
        rc = vgen_family_wan21.plan_dit(path, &e->preset.components[VGEN_COMPONENT_DIT], &full, &pl, err);
        e->dit_planned_weights = pl.weights;
    }
    if (!rc && !e->o->skip_vae) rc = check_vae(e, err);
    return rc;
}

int main(int argc, char **argv) {
    opts o;
    if (parse_opts(argc, argv, &o)) {
        fprintf(stderr, "usage: bench_plan_check MODEL_DIR PRESET [--latent FxHxW] [--session FxHxW] [--vae FxHxW]\n"
                        "                        [--tokens N] [--threads N] [--skip text|dit|vae]...\n");
        return 2;
    }
    static env e; /* the report is large: not on the stack */
    e.o = &o;
    vgen_err err = {0};
    const int rc = run_checks(&e, &err);
    if (rc) fprintf(stderr, "bench_plan_check: %s (%s)\n", err.msg, vgen_strerror(rc));
    const int bad = print_report(&e.table);
    vgen_backend_free(&e.be);
    vgen_threadpool_free(&e.pool);
    if (bad) fprintf(stderr, "bench_plan_check: %d figure(s) outside [0.9, 1.1]\n", bad);
    return rc || bad ? 1 : 0;
}

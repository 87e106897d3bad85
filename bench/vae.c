/* bench/vae.c - the Wan2.1 VAE decoder at the real size (base_dim 96, z_dim 16, dim_mult [1,2,4,4], 2 res blocks)
 * with random weights: seconds per output frame and peak memory, one configuration per process so that each peak
 * RSS is its own (bench/vae.sh loops over the configurations and prints the table of docs/vae.md).
 *
 *   bench_vae --make-ckpt PATH            writes a random decoder checkpoint (diffusers names, F32)
 *   bench_vae PATH W H LATENT_FRAMES [--backend cpu|ref] [--threads N] [--mode stream|whole]
 *             [--tile T] [--overlap O] [--budget MIB] [--order frame|tile]
 *
 * Peak memory is reported twice: ru_maxrss of the whole process (loading included), and the high-water mark of the
 * decode alone (VmHWM after resetting it through /proc/self/clear_refs once the weights are loaded). The last line,
 * "RESULT ...", is what bench/vae.sh parses. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend.h"
#include "ref/ops_ref.h" /* before ops_cpu.h, which uses its vgen_conv3d_dims */
#include "cpu/ops_cpu.h"
#include "safetensors.h"
#include "threadpool.h"
#include "wan_vae.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* xorshift64*: uniform in [-1, 1) */
static float urand(uint64_t *s) {
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return (float)((double)((*s * 2685821657736338717ull) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

/* ---- random checkpoint ---- */

typedef struct ckpt_list {
    vgen_st_decl *decls;
    size_t n, cap;
} ckpt_list;

static int collect(void *user_data, const char *name, int n_dims, const int64_t *shape) {
    ckpt_list *l = user_data;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 128;
        vgen_st_decl *d = realloc(l->decls, cap * sizeof *d);
        if (!d) return VGEN_ERR_OUT_OF_MEMORY;
        l->decls = d, l->cap = cap;
    }
    vgen_st_decl *d = &l->decls[l->n++];
    memset(d, 0, sizeof *d);
    d->name = strdup(name);
    if (!d->name) return VGEN_ERR_OUT_OF_MEMORY;
    d->dtype = VGEN_ST_F32, d->n_dims = n_dims;
    memcpy(d->shape, shape, (size_t)n_dims * sizeof shape[0]);
    return VGEN_OK;
}

/* Weights ~ U with std 1/sqrt(fan_in); norm gains 1 + 0.2 U; biases 0.05 U (as tools/reference/tiny_init.py). */
static void fill(const vgen_st_decl *d, float *buf, size_t n, uint64_t *rng) {
    const char *leaf = strrchr(d->name, '.') + 1;
    double fan_in = 1;
    for (int i = 1; i < d->n_dims; i++) fan_in *= (double)d->shape[i];
    const float a = (float)sqrt(3.0 / fan_in);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(leaf, "gamma")) buf[i] = 1.0f + 0.2f * urand(rng);
        else if (!strcmp(leaf, "bias")) buf[i] = 0.05f * urand(rng);
        else buf[i] = a * urand(rng);
    }
}

static int make_ckpt(const char *path) {
    vgen_wan_vae_config c;
    vgen_wan_vae_config_default(&c);
    ckpt_list l = {0};
    vgen_err err = {0};
    vgen_st_writer *w = NULL;
    int rc = vgen_wan_vae_list_tensors(&c, collect, &l, &err);
    if (!rc) rc = vgen_st_writer_open(path, l.decls, l.n, NULL, NULL, 0, &w, &err);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    size_t total = 0;
    for (size_t i = 0; i < l.n && !rc; i++) {
        size_t n = 1;
        for (int k = 0; k < l.decls[i].n_dims; k++) n *= (size_t)l.decls[i].shape[k];
        float *buf = malloc(n * sizeof *buf);
        if (!buf) rc = vgen_err_set(&err, VGEN_ERR_OUT_OF_MEMORY, "out of memory");
        if (!rc) fill(&l.decls[i], buf, n, &rng), rc = vgen_st_writer_write(w, buf, n * sizeof *buf, &err);
        free(buf);
        total += n;
    }
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    else vgen_st_writer_abort(&w);
    for (size_t i = 0; i < l.n; i++) free((void *)l.decls[i].name);
    free(l.decls);
    if (rc) fprintf(stderr, "bench_vae: %s\n", err.msg);
    else printf("wrote %s: %zu tensors, %zu parameters (%.1f MiB f32)\n", path, l.n, total, total * 4.0 / 1048576.0);
    return rc ? 1 : 0;
}

/* ---- decode ---- */

typedef struct bench_opts {
    const char *ckpt, *backend;
    int width, height, frames, threads, tile, overlap;
    double budget_mib;
    vgen_wan_vae_mode mode;
    vgen_wan_vae_tile_order order;
} bench_opts;

typedef struct frame_stats {
    int64_t n;
    double t_start, t_first;
    uint8_t *rgb8;
    uint64_t checksum;
} frame_stats;

/* A sink's work: the uint8 conversion (as an encoder would take it). */
static int on_frame(void *user_data, const vgen_wan_vae_frame *f) {
    frame_stats *s = user_data;
    if (s->n == 0) s->t_first = now_s() - s->t_start;
    vgen_wan_vae_frame_to_rgb8(f, s->rgb8);
    for (int64_t i = 0; i < (int64_t)f->width * f->height * 3; i += 997) s->checksum += s->rgb8[i];
    s->n++;
    return VGEN_OK;
}

/* User + system CPU seconds of the process so far. */
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static long proc_status_kib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) v = atol(line + strlen(key));
    if (f) fclose(f);
    return v;
}

static int reset_hwm(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok = f && fputs("5", f) >= 0;
    if (f) ok &= fclose(f) == 0;
    return ok;
}

static int parse_opts(int argc, char **argv, bench_opts *o) {
    memset(o, 0, sizeof *o);
    o->backend = "cpu", o->threads = 0, o->overlap = 4;
    if (argc < 5) return -1;
    o->ckpt = argv[1], o->width = atoi(argv[2]), o->height = atoi(argv[3]), o->frames = atoi(argv[4]);
    for (int i = 5; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--backend")) o->backend = v;
        else if (!strcmp(k, "--threads")) o->threads = atoi(v);
        else if (!strcmp(k, "--tile")) o->tile = atoi(v);
        else if (!strcmp(k, "--overlap")) o->overlap = atoi(v);
        else if (!strcmp(k, "--budget")) o->budget_mib = atof(v);
        else if (!strcmp(k, "--mode")) o->mode = strcmp(v, "whole") ? VGEN_WAN_VAE_STREAM : VGEN_WAN_VAE_WHOLE;
        else if (!strcmp(k, "--order"))
            o->order = strcmp(v, "tile") ? VGEN_WAN_VAE_TILES_FRAME_MAJOR : VGEN_WAN_VAE_TILES_TILE_MAJOR;
        else return -1;
    }
    return (o->width % 8 || o->height % 8 || o->width < 8 || o->height < 8 || o->frames < 1) ? -1 : 0;
}

static int make_backend(const bench_opts *o, vgen_threadpool **pool, vgen_backend **be, vgen_err *err) {
    int rc = vgen_threadpool_new(o->threads, pool, err);
    if (rc) return rc;
    if (!strcmp(o->backend, "ref")) {
        rc = vgen_backend_ref_new(be, err);
        if (!rc) vgen_ref_ops_install(*be);
    } else {
        rc = vgen_backend_cpu_new(*pool, be, err);
        if (!rc && !(*be)->conv3d) vgen_cpu_ops_install(*be);
    }
    return rc;
}

static void print_result(const bench_opts *o, const vgen_wan_vae_plan *pl, const frame_stats *s, double load_s,
                         double dec_s, double dec_cpu, size_t weights, int hwm_ok) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double maxrss = (double)ru.ru_maxrss / 1024.0, hwm = hwm_ok ? proc_status_kib("VmHWM:") / 1024.0 : -1;
    const double mib = 1.0 / 1048576.0;
    printf("%dx%d, %d latent frames -> %lld frames: load %.2f s, decode %.2f s, %.3f s/frame (first frame after "
           "%.2f s), %.3f CPU s/frame\n", o->width, o->height, o->frames, (long long)s->n, load_s, dec_s,
           dec_s / (double)s->n, s->t_first, dec_cpu / (double)s->n);
    printf("tiles %dx%d (%dx%d latent px): plan %.1f MiB (cache %.1f, scratch %.1f, frames %.1f) + weights %.1f MiB\n",
           pl->tiles_y, pl->tiles_x, pl->tile_h, pl->tile_w, pl->total_bytes * mib, pl->cache_bytes * mib,
           pl->scratch_bytes * mib, pl->frame_bytes * mib, weights * mib);
    printf("peak RSS: process %.1f MiB, decode phase %.1f MiB (checksum %llu)\n", maxrss, hwm,
           (unsigned long long)s->checksum);
    printf("RESULT %d %d %d %lld %.3f %.3f %.4f %.1f %.1f %.1f %d %d %.4f\n", o->width, o->height, o->frames,
           (long long)s->n, load_s, dec_s, dec_s / (double)s->n, maxrss, hwm, (pl->total_bytes + weights) * mib,
           pl->tiles_y, pl->tiles_x, dec_cpu / (double)s->n);
}

static int run(const bench_opts *o) {
    vgen_err err = {0};
    vgen_threadpool *pool = NULL;
    vgen_backend *be = NULL;
    vgen_wan_vae *m = NULL;
    frame_stats s = {0};
    const int h = o->height / 8, w = o->width / 8;
    float *z = malloc((size_t)16 * o->frames * h * w * sizeof(float));
    s.rgb8 = malloc((size_t)o->width * o->height * 3);
    double t0 = now_s();
    int rc = (z && s.rgb8) ? make_backend(o, &pool, &be, &err) : VGEN_ERR_OUT_OF_MEMORY;
    if (!rc) rc = vgen_wan_vae_load(o->ckpt, NULL, &m, &err);
    const double load_s = now_s() - t0;
    const int hwm_ok = reset_hwm();
    uint64_t rng = 12345;
    for (size_t i = 0; z && i < (size_t)16 * o->frames * h * w; i++) /* ~N(0, 1): sum of 4 uniforms, rescaled */
        z[i] = (urand(&rng) + urand(&rng) + urand(&rng) + urand(&rng)) * 0.8660254f;
    vgen_wan_vae_params p = vgen_wan_vae_params_init();
    p.mode = o->mode, p.tile_h = p.tile_w = o->tile, p.tile_overlap = o->overlap, p.tile_order = o->order;
    p.memory_budget = (size_t)(o->budget_mib * 1048576.0);
    p.on_frame = on_frame, p.frame_user_data = &s;
    vgen_tensor zt;
    vgen_wan_vae_plan pl = {0};
    if (!rc) rc = vgen_tensor_view(&zt, VGEN_DTYPE_F32, 4, (int64_t[]){16, o->frames, h, w}, z, &err);
    if (!rc) rc = vgen_wan_vae_plan_decode(m, o->frames, h, w, &p, &pl, &err);
    s.t_start = now_s();
    const double cpu0 = cpu_s();
    if (!rc) rc = vgen_wan_vae_decode(m, be, &zt, &p, NULL, &err);
    const double dec_s = now_s() - s.t_start, dec_cpu = cpu_s() - cpu0;
    if (rc) fprintf(stderr, "bench_vae: %s (%s)\n", err.msg, vgen_strerror(rc));
    else print_result(o, &pl, &s, load_s, dec_s, dec_cpu, vgen_wan_vae_weight_bytes(m), hwm_ok);
    vgen_wan_vae_free(&m);
    vgen_backend_free(&be);
    vgen_threadpool_free(&pool);
    free(z), free(s.rgb8);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--make-ckpt")) return make_ckpt(argv[2]);
    bench_opts o;
    if (parse_opts(argc, argv, &o)) {
        fprintf(stderr, "usage: bench_vae --make-ckpt PATH\n"
                        "       bench_vae PATH WIDTH HEIGHT LATENT_FRAMES [--backend cpu|ref] [--threads N]\n"
                        "                 [--mode stream|whole] [--tile T] [--overlap O] [--budget MIB]\n"
                        "                 [--order frame|tile]     (WIDTH, HEIGHT multiples of 8)\n");
        return 2;
    }
    return run(&o);
}

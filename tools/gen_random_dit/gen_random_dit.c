/* gen_random_dit.c - writes a Wan2.1 DiT checkpoint (diffusers names) with random weights, for speed and memory
 * benchmarks of the real configs (no real weights can be downloaded here).
 *
 *   vgen_gen_random_dit OUT.safetensors [--config 1.3b|14b] [--layers N] [--dtype bf16|f32] [--seed S]
 *
 * Weights are uniform with the standard deviation of a fan-in initialisation (1/sqrt(K)), so activations of a
 * forward pass stay O(1). Written tensor by tensor (streaming): memory stays at one tensor. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numeric.h"
#include "safetensors.h"

typedef struct dit_config {
    int64_t dim, ffn, layers, text_dim, freq_dim, in_ch, out_ch;
} dit_config;

typedef struct tensor_spec {
    char name[96];
    int n_dims;
    int64_t shape[5];
    double std;     /* 0 = ones (norm weights), < 0 = zeros */
} tensor_spec;

typedef struct spec_list {
    tensor_spec *v;
    size_t n, cap;
} spec_list;

static int push(spec_list *l, const char *name, double std, int n_dims, int64_t a, int64_t b, int64_t c, int64_t d,
                int64_t e) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        tensor_spec *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    tensor_spec *t = &l->v[l->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    int64_t s[5] = {a, b, c, d, e};
    memcpy(t->shape, s, sizeof s);
    t->std = std;
    return 0;
}

/* nn.Linear(k -> n): weight [n, k] and bias [n]. */
static int linear(spec_list *l, const char *prefix, int64_t n, int64_t k) {
    char w[96], b[96];
    snprintf(w, sizeof w, "%s.weight", prefix);
    snprintf(b, sizeof b, "%s.bias", prefix);
    return push(l, w, 1.0 / sqrt((double)k), 2, n, k, 0, 0, 0) || push(l, b, 0.02, 1, n, 0, 0, 0, 0);
}

static int block_specs(spec_list *l, const dit_config *c, int64_t i) {
    char p[96];
    int rc = 0;
    snprintf(p, sizeof p, "blocks.%" PRId64 ".scale_shift_table", i);
    rc |= push(l, p, 0.1, 3, 1, 6, c->dim, 0, 0);
    static const char *const attn[] = {"attn1", "attn2"};
    static const char *const proj[] = {"to_q", "to_k", "to_v", "to_out.0"};
    for (int a = 0; a < 2; a++) {
        for (int q = 0; q < 4; q++) {
            snprintf(p, sizeof p, "blocks.%" PRId64 ".%s.%s", i, attn[a], proj[q]);
            rc |= linear(l, p, c->dim, c->dim);
        }
        snprintf(p, sizeof p, "blocks.%" PRId64 ".%s.norm_q.weight", i, attn[a]);
        rc |= push(l, p, 0, 1, c->dim, 0, 0, 0, 0);
        snprintf(p, sizeof p, "blocks.%" PRId64 ".%s.norm_k.weight", i, attn[a]);
        rc |= push(l, p, 0, 1, c->dim, 0, 0, 0, 0);
    }
    snprintf(p, sizeof p, "blocks.%" PRId64 ".norm2.weight", i);
    rc |= push(l, p, 0, 1, c->dim, 0, 0, 0, 0);
    snprintf(p, sizeof p, "blocks.%" PRId64 ".norm2.bias", i);
    rc |= push(l, p, -1, 1, c->dim, 0, 0, 0, 0);
    snprintf(p, sizeof p, "blocks.%" PRId64 ".ffn.net.0.proj", i);
    rc |= linear(l, p, c->ffn, c->dim);
    snprintf(p, sizeof p, "blocks.%" PRId64 ".ffn.net.2", i);
    rc |= linear(l, p, c->dim, c->ffn);
    return rc;
}

static int build_specs(spec_list *l, const dit_config *c) {
    int rc = push(l, "patch_embedding.weight", 1.0 / sqrt(4.0 * (double)c->in_ch), 5, c->dim, c->in_ch, 1, 2, 2);
    rc |= push(l, "patch_embedding.bias", 0.02, 1, c->dim, 0, 0, 0, 0);
    rc |= linear(l, "condition_embedder.time_embedder.linear_1", c->dim, c->freq_dim);
    rc |= linear(l, "condition_embedder.time_embedder.linear_2", c->dim, c->dim);
    rc |= linear(l, "condition_embedder.time_proj", 6 * c->dim, c->dim);
    rc |= linear(l, "condition_embedder.text_embedder.linear_1", c->dim, c->text_dim);
    rc |= linear(l, "condition_embedder.text_embedder.linear_2", c->dim, c->dim);
    for (int64_t i = 0; i < c->layers; i++) rc |= block_specs(l, c, i);
    rc |= push(l, "scale_shift_table", 0.1, 3, 1, 2, c->dim, 0, 0);
    rc |= linear(l, "proj_out", c->out_ch * 4, c->dim);
    return rc;
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Fills n values (uniform, given std; 1 for std == 0; 0 for std < 0) in dtype, in chunks through buf. */
static int write_values(vgen_st_writer *w, const tensor_spec *t, uint64_t numel, vgen_st_dtype dt, uint64_t *rng,
                        unsigned char *buf, size_t buf_elems, vgen_err *err) {
    size_t esz = vgen_st_dtype_size(dt);
    double half_width = t->std * sqrt(3.0);
    for (uint64_t done = 0; done < numel;) {
        size_t n = (numel - done) < buf_elems ? (size_t)(numel - done) : buf_elems;
        for (size_t i = 0; i < n; i++) {
            double u = (double)(splitmix64(rng) >> 11) * 0x1.0p-53 * 2.0 - 1.0;
            float v = t->std > 0 ? (float)(u * half_width) : (t->std == 0 ? 1.0f : 0.0f);
            if (dt == VGEN_ST_F32) {
                memcpy(buf + i * esz, &v, 4);
            } else {
                uint16_t h = vgen_f32_to_bf16(v);
                memcpy(buf + i * esz, &h, 2);
            }
        }
        int rc = vgen_st_writer_write(w, buf, n * esz, err);
        if (rc) return rc;
        done += n;
    }
    return 0;
}

static int parse_args(int argc, char **argv, const char **out, dit_config *c, vgen_st_dtype *dt, uint64_t *seed) {
    *c = (dit_config){.dim = 1536, .ffn = 8960, .layers = 30, .text_dim = 4096, .freq_dim = 256, .in_ch = 16,
                      .out_ch = 16};
    *dt = VGEN_ST_BF16;
    *seed = 0;
    *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--config") && v) {
            if (!strcmp(v, "14b")) c->dim = 5120, c->ffn = 13824, c->layers = 40;
            else if (strcmp(v, "1.3b") != 0) return -1;
            i++;
        } else if (!strcmp(a, "--layers") && v) {
            c->layers = strtoll(v, NULL, 10), i++;
        } else if (!strcmp(a, "--dtype") && v) {
            *dt = !strcmp(v, "f32") ? VGEN_ST_F32 : VGEN_ST_BF16, i++;
        } else if (!strcmp(a, "--seed") && v) {
            *seed = strtoull(v, NULL, 10), i++;
        } else if (a[0] != '-' && !*out) {
            *out = a;
        } else {
            return -1;
        }
    }
    return (*out && c->layers > 0) ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *out;
    dit_config c;
    vgen_st_dtype dt;
    uint64_t seed;
    if (parse_args(argc, argv, &out, &c, &dt, &seed)) {
        fprintf(stderr, "usage: vgen_gen_random_dit OUT.safetensors [--config 1.3b|14b] [--layers N] "
                        "[--dtype bf16|f32] [--seed S]\n");
        return 2;
    }
    spec_list l = {0};
    if (build_specs(&l, &c)) return fprintf(stderr, "out of memory\n"), 1;
    vgen_st_decl *decls = calloc(l.n, sizeof *decls);
    const size_t buf_elems = 1 << 20;
    unsigned char *buf = malloc(buf_elems * 4);
    if (!decls || !buf) return fprintf(stderr, "out of memory\n"), 1;
    for (size_t i = 0; i < l.n; i++) {
        int is_table = strstr(l.v[i].name, "scale_shift_table") != NULL; /* kept in f32 as diffusers does */
        decls[i] = (vgen_st_decl){.name = l.v[i].name, .dtype = is_table ? VGEN_ST_F32 : dt, .n_dims = l.v[i].n_dims};
        memcpy(decls[i].shape, l.v[i].shape, sizeof l.v[i].shape);
    }
    vgen_err err = {0};
    vgen_st_writer *w = NULL;
    const char *mk[] = {"format"}, *mv[] = {"pt"};
    int rc = vgen_st_writer_open(out, decls, l.n, mk, mv, 1, &w, &err);
    uint64_t rng = seed, total = 0;
    for (size_t i = 0; !rc && i < l.n; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < l.v[i].n_dims; d++) numel *= (uint64_t)l.v[i].shape[d];
        total += numel;
        rc = write_values(w, &l.v[i], numel, decls[i].dtype, &rng, buf, buf_elems, &err);
    }
    if (!rc) rc = vgen_st_writer_finish(&w, &err);
    else vgen_st_writer_abort(&w);
    if (rc) fprintf(stderr, "vgen_gen_random_dit: %s\n", err.msg);
    else printf("wrote %s: %zu tensors, %.3f B parameters\n", out, l.n, (double)total / 1e9);
    free(buf);
    free(decls);
    free(l.v);
    return rc ? 1 : 0;
}

/* family_wan21_plan.c - the memory of Wan2.1's components for one request, from their configurations alone: a
 * component folder's config.json (weights need not exist), or the shapes in a checkpoint's header when the
 * component is a single file. No weight is read. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cpu/backend_cpu.h"
#include "family_wan21.h"
#include "threadpool.h"
#include "safetensors.h"
#include "umt5.h"
#include "wan_dit.h"
#include "wan_vae.h"

static int config_in(const char *dir, char *buf, size_t size) {
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return 0;
    int n = snprintf(buf, size, "%s/config.json", dir);
    return n > 0 && (size_t)n < size && stat(buf, &st) == 0 && S_ISREG(st.st_mode);
}

/* The format of the unquantized 2-D weights of a checkpoint: the dtype of its largest 2-D float tensor (f32 when
 * the folder holds no weights: diffusers' Wan2.1 checkpoints are f32). */
static vgen_wformat stored_format(const vgen_st_set *set) {
    vgen_wformat f = VGEN_WF_F32;
    uint64_t best = 0;
    for (size_t i = 0; set && i < vgen_st_count(set); i++) {
        const vgen_st_tensor *t = vgen_st_at(set, i);
        if (t->n_dims != 2 || t->n_bytes <= best) continue;
        if (t->dtype == VGEN_ST_F32 || t->dtype == VGEN_ST_BF16 || t->dtype == VGEN_ST_F16) {
            best = t->n_bytes;
            f = t->dtype == VGEN_ST_F32 ? VGEN_WF_F32 : t->dtype == VGEN_ST_BF16 ? VGEN_WF_BF16 : VGEN_WF_F16;
        }
    }
    return f;
}

/* Opens the checkpoint at path when there is one (set NULL and VGEN_OK for a folder with config.json only). */
static int open_optional(const char *path, int has_config, vgen_st_set **set, vgen_err *err) {
    *set = NULL;
    vgen_err e = {0};
    int rc = vgen_st_open(path, set, &e);
    if (rc && has_config && rc == VGEN_ERR_NOT_FOUND) return VGEN_OK;
    if (rc && err) *err = e;
    return rc;
}

int wan21_plan_text(const char *path, const vgen_component_plan *plan, int64_t ctx_len, vgen_part_plan *out,
                    vgen_err *err) {
    char cfg_path[4096];
    const int has_config = config_in(path, cfg_path, sizeof cfg_path);
    vgen_umt5_params p;
    vgen_umt5_params_init(&p);
    p.compute = plan->compute;
    vgen_umt5_config c;
    vgen_st_set *set = NULL;
    int rc = has_config ? vgen_umt5_config_read(cfg_path, &c, err) : open_optional(path, 0, &set, err);
    if (!rc && !has_config) rc = vgen_umt5_probe(path, &p, set, &c, cfg_path, sizeof cfg_path, err);
    vgen_st_close(&set);
    vgen_umt5_plan u;
    if (!rc) rc = vgen_umt5_plan_memory(&c, plan->weights, plan->weights, &p, ctx_len, &u, err);
    if (rc) return vgen_err_prefix(err, "plan: text encoder %s", path);
    *out = (vgen_part_plan){.weights = u.weight_bytes, .device_weights = u.device_weight_bytes,
                            .fixed = u.embed_bytes, .block = 0, .blocks = c.layers,
                            .dequant_bf16 = u.max_linear_bf16, .activations = u.session_bytes,
                            .device_activations = u.device_session_bytes, .width = c.d_model};
    return VGEN_OK;
}

/* The CPU backend's scratch over one forward: every linear (blocks in block_format, the text embedder, time
 * projection and head as stored, the patch embedding and time MLP in f32) and both attentions, with the pool's
 * default thread count. */
static size_t dit_cpu_scratch(const vgen_wan_config *c, vgen_wformat blocks, vgen_wformat stored, vgen_dtype cd,
                              int64_t L, int64_t Lc) {
    const int t = vgen_threadpool_default_threads();
    const int64_t D = c->dim;
    const struct {
        vgen_wformat f;
        vgen_dtype x;
        int64_t m, n, k;
    } calls[] = {{blocks, cd, L, D, D},           {blocks, cd, Lc, D, D},          {blocks, cd, L, c->ffn_dim, D},
                 {blocks, cd, L, D, c->ffn_dim},  {stored, cd, Lc, D, c->text_dim}, {stored, cd, Lc, D, D},
                 {stored, cd, 1, 6 * D, D},       {stored, cd, L, 4 * c->out_channels, D},
                 {VGEN_WF_F32, cd, L, D, 4 * c->in_channels}, {VGEN_WF_F32, VGEN_DTYPE_F32, 1, D, c->freq_dim}};
    vgen_cpu_scratch_plan p = {0};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        vgen_cpu_plan_linear(&p, calls[i].f, calls[i].x, calls[i].x, calls[i].m, calls[i].n, calls[i].k, t);
    vgen_cpu_plan_attention(&p, cd, L, L, c->heads, c->head_dim, t);
    vgen_cpu_plan_attention(&p, cd, L, Lc, c->heads, c->head_dim, t);
    return vgen_cpu_scratch_peak(&p);
}

int wan21_plan_dit(const char *path, const vgen_component_plan *plan, const vgen_dit_shape *shape,
                   vgen_part_plan *out, vgen_err *err) {
    char cfg_path[4096];
    const int has_config = config_in(path, cfg_path, sizeof cfg_path);
    vgen_st_set *set = NULL;
    vgen_wan_config c;
    int rc = open_optional(path, has_config, &set, err);
    if (!rc && has_config) rc = vgen_wan_config_read(cfg_path, &c, err);
    vgen_wan_layout layout;
    if (!rc && !has_config) rc = vgen_wan_layout_detect(set, &layout, err);
    if (!rc && !has_config) rc = vgen_wan_config_derive(set, layout, &c, err);
    const vgen_wformat stored = stored_format(set);
    vgen_st_close(&set);
    vgen_dit_plan d;
    if (!rc) rc = vgen_dit_plan_memory(&c, plan->weights, stored, plan->compute, shape->frames, shape->height,
                                       shape->width, shape->ctx_len, &d, err);
    if (rc) return vgen_err_prefix(err, "plan: transformer %s", path);
    *out = (vgen_part_plan){.weights = d.weight_bytes,
                            .device_weights = d.device_global_bytes + (size_t)c.layers * d.device_block_bytes,
                            .fixed = d.device_global_bytes, .block = d.device_block_bytes,
                            .blocks = c.layers, .dequant_bf16 = d.max_linear_bf16, .activations = d.session_bytes,
                            .cpu_scratch = dit_cpu_scratch(&c, plan->weights, stored, plan->compute, d.tokens,
                                                           shape->ctx_len)};
    return VGEN_OK;
}

int wan21_plan_vae(const char *path, const vgen_component_plan *plan, const vgen_vae_request *r, vgen_part_plan *out,
                   vgen_err *err) {
    char cfg_path[4096];
    vgen_wan_vae_config c;
    vgen_wan_vae_layout layout;
    const char *prefix = NULL;
    vgen_st_set *set = NULL;
    int rc = config_in(path, cfg_path, sizeof cfg_path) ? vgen_wan_vae_config_load(cfg_path, &c, err)
                                                         : vgen_st_open(path, &set, err);
    if (!rc && set) rc = vgen_wan_vae_config_from_set(set, &c, &layout, &prefix, err);
    vgen_st_close(&set);
    vgen_wan_vae_params p;
    wan21_vae_params(plan, r, &p);
    vgen_wan_vae_plan vp;
    size_t weights = 0;
    if (!rc) rc = vgen_wan_vae_plan_config(&c, r->frames, (int)r->height, (int)r->width, &p, &vp, &weights, err);
    if (rc) return vgen_err_prefix(err, "plan: VAE %s", path);
    const int k = vgen_wan_vae_spatial_factor(&c), tiled = vp.tiles_x * vp.tiles_y > 1;
    *out = (vgen_part_plan){.weights = weights, .fixed = weights, .activations = vp.total_bytes,
                            .tile_w = tiled ? vp.tile_w * k : 0, .tile_h = tiled ? vp.tile_h * k : 0};
    return VGEN_OK;
}

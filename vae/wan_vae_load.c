/* wan_vae_load.c - loading the decoder's weights from a safetensors set, in the diffusers or the original layout.
 *
 * The decoder structure (WanDecoder3d) is walked twice: the first pass checks every tensor (present, F32/F16/BF16,
 * the expected shape) and counts floats; the second converts them into one f32 block and checks they are finite.
 * Errors name the tensor as the file spells it, and the expected shape.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "numeric.h"
#include "wan_vae_internal.h"

typedef struct loader {
    const vgen_st_set *set;
    const vgen_wan_vae_config *cfg;
    vgen_wan_vae_layout layout;
    const char *prefix;
    float *storage;     /* NULL in the counting pass */
    size_t used;        /* floats */
    int next_slot;
    vgen_wan_vae_tensor_fn list;   /* listing only: called for each tensor instead of reading the set */
    void *list_user_data;
    vgen_err *err;
} loader;

static const char *shape_text(const int64_t *shape, int n, char *buf, size_t size) {
    return vgen_shape_str(shape, n, buf, size);
}

static int check_tensor(loader *ld, const vgen_st_tensor *t, const char *name, int n_dims, const int64_t *shape) {
    char want[96], got[96];
    shape_text(shape, n_dims, want, sizeof want);
    if (!t)
        return vgen_err_set(ld->err, VGEN_ERR_NOT_FOUND, "vae: tensor \"%s\" is missing (expected shape %s)", name,
                            want);
    if (t->dtype != VGEN_ST_F32 && t->dtype != VGEN_ST_F16 && t->dtype != VGEN_ST_BF16)
        return vgen_err_set(ld->err, VGEN_ERR_SHAPE, "vae: tensor \"%s\" has dtype %s, expected F32, F16 or BF16",
                            name, vgen_st_dtype_name(t->dtype));
    int same = t->n_dims == n_dims;
    for (int i = 0; same && i < n_dims; i++) same = t->shape[i] == shape[i];
    if (!same)
        return vgen_err_set(ld->err, VGEN_ERR_SHAPE, "vae: tensor \"%s\" has shape %s, expected %s", name,
                            shape_text(t->shape, t->n_dims, got, sizeof got), want);
    return VGEN_OK;
}

/* dst[n] = the tensor's values as f32 (the mapping may be unaligned, hence memcpy). */
static void to_f32(const vgen_st_tensor *t, size_t n, float *dst) {
    const uint8_t *p = t->data;
    for (size_t i = 0; i < n; i++) {
        if (t->dtype == VGEN_ST_F32) {
            memcpy(&dst[i], p + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = t->dtype == VGEN_ST_F16 ? vgen_f16_to_f32(h) : vgen_bf16_to_f32(h);
        }
    }
}

/* The tensor diffusers calls dname, checked against shape; *out points at its f32 copy (NULL while counting). */
static int take(loader *ld, const char *dname, int n_dims, const int64_t *shape, const float **out) {
    char mapped[256], name[320];
    *out = NULL;
    if (ld->list) return ld->list(ld->list_user_data, dname, n_dims, shape);
    int rc = vgen_wan_vae_name_map(ld->cfg, ld->layout, dname, mapped, sizeof mapped, ld->err);
    if (rc) return rc;
    snprintf(name, sizeof name, "%s%s", ld->prefix, mapped);
    const vgen_st_tensor *t = vgen_st_find(ld->set, name);
    if ((rc = check_tensor(ld, t, name, n_dims, shape))) return rc;
    size_t n = 1;
    for (int i = 0; i < n_dims; i++) n *= (size_t)shape[i];
    if (ld->storage) {
        float *dst = ld->storage + ld->used;
        to_f32(t, n, dst);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(dst[i]))
                return vgen_err_set(ld->err, VGEN_ERR_NUMERIC, "vae: tensor \"%s\" holds %s at element %zu", name,
                                    isnan(dst[i]) ? "NaN" : "Inf", i);
        *out = dst;
    }
    ld->used += n;
    return VGEN_OK;
}

/* The tensor a + "." + b. */
static int take_join(loader *ld, int n_dims, const int64_t *shape, const float **out, const char *a, const char *b) {
    char dname[256];
    snprintf(dname, sizeof dname, "%s.%s", a, b);
    return take(ld, dname, n_dims, shape, out);
}

/* prefix.weight [Cout, Cin, (kt,) kh, kw] (no kt for a Conv2d) and prefix.bias [Cout]. */
static int take_conv(loader *ld, const char *prefix, int cout, int cin, int kt, int k, int is2d, int causal,
                     wvae_conv *cv) {
    int64_t w5[5] = {cout, cin, kt, k, k}, w4[4] = {cout, cin, k, k}, b1[1] = {cout};
    const float *w = NULL;
    int rc = is2d ? take_join(ld, 4, w4, &w, prefix, "weight")
                  : take_join(ld, 5, w5, &w, prefix, "weight");
    if (!rc) rc = take_join(ld, 1, b1, &cv->b, prefix, "bias");
    if (rc) return rc;
    cv->cin = cin, cv->cout = cout, cv->kt = kt, cv->kh = k, cv->kw = k;
    cv->slot = causal ? ld->next_slot++ : -1;
    return vgen_tensor_view(&cv->w, VGEN_DTYPE_F32, 5, w5, (void *)w, ld->err);
}

/* prefix.gamma [C, 1, 1(, 1)]: ones = 2 (attention, images=True) or 3 (images=False). */
static int take_gamma(loader *ld, const char *prefix, int c, int ones, const float **out) {
    int64_t shape[4] = {c, 1, 1, 1};
    return take_join(ld, 1 + ones, shape, out, prefix, "gamma");
}

static int take_res(loader *ld, const char *prefix, int cin, int cout, wvae_res *r) {
    char p[200];
    r->cin = cin, r->cout = cout, r->has_shortcut = cin != cout;
    int rc = take_join(ld, 4, (int64_t[]){cin, 1, 1, 1}, &r->gamma1, prefix, "norm1.gamma");
    snprintf(p, sizeof p, "%s.conv1", prefix);
    if (!rc) rc = take_conv(ld, p, cout, cin, 3, 3, 0, 1, &r->conv1);
    if (!rc) rc = take_join(ld, 4, (int64_t[]){cout, 1, 1, 1}, &r->gamma2, prefix, "norm2.gamma");
    snprintf(p, sizeof p, "%s.conv2", prefix);
    if (!rc) rc = take_conv(ld, p, cout, cout, 3, 3, 0, 1, &r->conv2);
    snprintf(p, sizeof p, "%s.conv_shortcut", prefix);
    if (!rc && r->has_shortcut) rc = take_conv(ld, p, cout, cin, 1, 1, 0, 0, &r->shortcut);
    return rc;
}

static void qmatrix(vgen_qmatrix *q, const float *w, int64_t rows, int64_t cols) {
    q->format = VGEN_WF_F32, q->rows = rows, q->cols = cols, q->data = w, q->scales = NULL, q->zeros = NULL;
}

/* decoder.mid_block.attentions.0: norm.gamma [C, 1, 1], to_qkv [3C, C, 1, 1] + [3C], proj [C, C, 1, 1] + [C]. */
static int take_attn(loader *ld, int c, wvae_attn *a) {
    const char *p = "decoder.mid_block.attentions.0";
    const float *qkv = NULL, *qkv_b = NULL, *proj = NULL;
    int64_t c3 = 3 * (int64_t)c;
    int rc = take_gamma(ld, "decoder.mid_block.attentions.0.norm", c, 2, &a->gamma);
    if (!rc) rc = take_join(ld, 4, (int64_t[]){c3, c, 1, 1}, &qkv, p, "to_qkv.weight");
    if (!rc) rc = take_join(ld, 1, &c3, &qkv_b, p, "to_qkv.bias");
    if (!rc) rc = take_join(ld, 4, (int64_t[]){c, c, 1, 1}, &proj, p, "proj.weight");
    if (!rc) rc = take_join(ld, 1, (int64_t[]){c}, &a->bp, p, "proj.bias");
    if (rc || !ld->storage) return rc;
    const size_t cc = (size_t)c * (size_t)c;
    a->dim = c;
    qmatrix(&a->wq, qkv, c, c), qmatrix(&a->wk, qkv + cc, c, c), qmatrix(&a->wv, qkv + 2 * cc, c, c);
    qmatrix(&a->wp, proj, c, c);
    a->bq = qkv_b, a->bk = qkv_b + c, a->bv = qkv_b + 2 * c;
    return VGEN_OK;
}

static int take_level(loader *ld, int i, wvae_level *lv) {
    const vgen_wan_vae_config *c = ld->cfg;
    char p[200];
    lv->cin = vgen_wan_vae_level_in(c, i), lv->cout = vgen_wan_vae_level_out(c, i);
    lv->n_res = c->num_res_blocks + 1, lv->upsample = vgen_wan_vae_level_upsample(c, i);
    int rc = VGEN_OK;
    for (int r = 0; r < lv->n_res && !rc; r++) {
        snprintf(p, sizeof p, "decoder.up_blocks.%d.resnets.%d", i, r);
        rc = take_res(ld, p, r == 0 ? lv->cin : lv->cout, lv->cout, &lv->res[r]);
    }
    snprintf(p, sizeof p, "decoder.up_blocks.%d.upsamplers.0.resample.1", i);
    if (!rc && lv->upsample) rc = take_conv(ld, p, lv->cout / 2, lv->cout, 1, 3, 1, 0, &lv->resample);
    snprintf(p, sizeof p, "decoder.up_blocks.%d.upsamplers.0.time_conv", i);
    if (!rc && lv->upsample == 3) rc = take_conv(ld, p, 2 * lv->cout, lv->cout, 3, 1, 0, 1, &lv->time_conv);
    return rc;
}

static int walk(loader *ld, vgen_wan_vae *m) {
    const vgen_wan_vae_config *c = ld->cfg;
    const int mid = vgen_wan_vae_mid_dim(c), z = c->z_dim;
    ld->used = 0, ld->next_slot = 0;
    int rc = take_conv(ld, "post_quant_conv", z, z, 1, 1, 0, 0, &m->post_quant);
    if (!rc) rc = take_conv(ld, "decoder.conv_in", mid, z, 3, 3, 0, 1, &m->conv_in);
    if (!rc) rc = take_res(ld, "decoder.mid_block.resnets.0", mid, mid, &m->mid_res[0]);
    if (!rc) rc = take_attn(ld, mid, &m->attn);
    if (!rc) rc = take_res(ld, "decoder.mid_block.resnets.1", mid, mid, &m->mid_res[1]);
    for (int i = 0; i < c->n_levels && !rc; i++) rc = take_level(ld, i, &m->levels[i]);
    if (!rc) rc = take_gamma(ld, "decoder.norm_out", c->base_dim, 3, &m->norm_out_gamma);
    if (!rc) rc = take_conv(ld, "decoder.conv_out", c->out_channels, c->base_dim, 3, 3, 0, 1, &m->conv_out);
    m->n_slots = ld->next_slot;
    return rc;
}

int vgen_wan_vae_list_tensors(const vgen_wan_vae_config *c, vgen_wan_vae_tensor_fn fn, void *user_data,
                              vgen_err *err) {
    int rc = vgen_wan_vae_config_validate(c, err);
    if (rc) return rc;
    vgen_wan_vae *scratch = calloc(1, sizeof *scratch);
    if (!scratch) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot allocate a model");
    loader ld = {.cfg = c, .prefix = "", .list = fn, .list_user_data = user_data, .err = err};
    rc = walk(&ld, scratch);
    free(scratch);
    return rc;
}

static int count_floats(void *user_data, const char *name, int n_dims, const int64_t *shape) {
    (void)name;
    size_t n = 1;
    for (int i = 0; i < n_dims; i++) n *= (size_t)shape[i];
    *(size_t *)user_data += n;
    return VGEN_OK;
}

int vgen_wan_vae_plan_config(const vgen_wan_vae_config *c, int64_t n_frames, int h, int w,
                             const vgen_wan_vae_params *params, vgen_wan_vae_plan *out, size_t *weight_bytes,
                             vgen_err *err) {
    if (!c || !params || !out || !weight_bytes)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_wan_vae_plan_config: NULL argument");
    int rc = vgen_wan_vae_config_validate(c, err);
    if (rc) return rc;
    vgen_wan_vae *shape = calloc(1, sizeof *shape); /* the structure without weights: enough for a dry run */
    if (!shape) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot allocate a model");
    size_t floats = 0;
    shape->cfg = *c;
    loader ld = {.cfg = &shape->cfg, .prefix = "", .list = count_floats, .list_user_data = &floats, .err = err};
    rc = walk(&ld, shape);
    if (!rc) rc = vgen_wan_vae_plan_decode(shape, n_frames, h, w, params, out, err);
    *weight_bytes = floats * sizeof(float);
    free(shape);
    return rc;
}

/* ---- layout detection and config derivation ---- */

static const char *const k_prefixes[] = {"", "first_stage_model.", "vae.", NULL};

static int has(const vgen_st_set *set, const char *prefix, const char *name) {
    char full[320];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return vgen_st_find(set, full) != NULL;
}

static int detect(const vgen_st_set *set, vgen_wan_vae_layout *layout, const char **prefix, vgen_err *err) {
    for (int i = 0; k_prefixes[i]; i++) {
        *prefix = k_prefixes[i];
        if (has(set, *prefix, "decoder.conv_in.weight")) return *layout = VGEN_WAN_VAE_LAYOUT_DIFFUSERS, VGEN_OK;
        if (has(set, *prefix, "decoder.conv1.weight")) return *layout = VGEN_WAN_VAE_LAYOUT_ORIGINAL, VGEN_OK;
    }
    return vgen_err_set(err, VGEN_ERR_NOT_FOUND,
                        "vae: no Wan VAE decoder in this file (looked for decoder.conv_in.weight and "
                        "decoder.conv1.weight)");
}

/* Shape dim `d` of the tensor diffusers calls dname under the given layout/prefix; -1 if absent or too short. */
static int64_t dim_of(const vgen_st_set *set, const vgen_wan_vae_config *c, vgen_wan_vae_layout layout,
                      const char *prefix, const char *dname, int d) {
    char mapped[256], full[320];
    if (vgen_wan_vae_name_map(c, layout, dname, mapped, sizeof mapped, NULL)) return -1;
    snprintf(full, sizeof full, "%s%s", prefix, mapped);
    const vgen_st_tensor *t = vgen_st_find(set, full);
    return (t && t->n_dims > d) ? t->shape[d] : -1;
}

/* Residual blocks of up_blocks.0: count them in the file's own numbering. */
static int count_res(const vgen_st_set *set, vgen_wan_vae_layout layout, const char *prefix) {
    char name[320];
    int n = 0;
    for (; n < WVAE_MAX_RES + 1; n++) {
        if (layout == VGEN_WAN_VAE_LAYOUT_DIFFUSERS)
            snprintf(name, sizeof name, "%sdecoder.up_blocks.0.resnets.%d.conv1.weight", prefix, n);
        else
            snprintf(name, sizeof name, "%sdecoder.upsamples.%d.residual.2.weight", prefix, n);
        if (!vgen_st_find(set, name)) break;
    }
    return n;
}

static int derive_levels(const vgen_st_set *set, vgen_wan_vae_config *c, vgen_wan_vae_layout layout,
                         const char *prefix, int64_t mid) {
    char d[160];
    int outs[VGEN_WAN_VAE_MAX_LEVELS], tup[VGEN_WAN_VAE_MAX_LEVELS], n = 0;
    c->n_levels = VGEN_WAN_VAE_MAX_LEVELS; /* so the name map accepts every level index while probing */
    for (; n < VGEN_WAN_VAE_MAX_LEVELS; n++) {
        snprintf(d, sizeof d, "decoder.up_blocks.%d.resnets.0.conv1.weight", n);
        int64_t o = dim_of(set, c, layout, prefix, d, 0);
        if (o <= 0) break;
        outs[n] = (int)o;
        snprintf(d, sizeof d, "decoder.up_blocks.%d.upsamplers.0.time_conv.weight", n);
        tup[n] = dim_of(set, c, layout, prefix, d, 0) > 0;
    }
    if (n < 1 || mid % c->base_dim) return 0;
    c->n_levels = n;
    for (int i = 0; i < n; i++) {
        if (outs[i] % c->base_dim) return 0;
        c->dim_mult[n - 1 - i] = outs[i] / c->base_dim;
        if (i < n - 1) c->temperal_downsample[n - 2 - i] = tup[i];
    }
    return c->dim_mult[n - 1] == mid / c->base_dim;
}

int vgen_wan_vae_config_from_set(const vgen_st_set *set, vgen_wan_vae_config *c, vgen_wan_vae_layout *layout,
                                 const char **prefix, vgen_err *err) {
    int rc = detect(set, layout, prefix, err);
    if (rc) return rc;
    vgen_wan_vae_config_default(c);
    int64_t z = dim_of(set, c, *layout, *prefix, "post_quant_conv.weight", 0);
    int64_t base = dim_of(set, c, *layout, *prefix, "decoder.conv_out.weight", 1);
    int64_t mid = dim_of(set, c, *layout, *prefix, "decoder.conv_in.weight", 0);
    int64_t nres = count_res(set, *layout, *prefix);
    if (z <= 0 || base <= 0 || mid <= 0 || nres < 1)
        return vgen_err_set(err, VGEN_ERR_NOT_FOUND,
                            "vae: cannot derive the config from the tensors (post_quant_conv, conv_in, conv_out or "
                            "up_blocks.0 missing); give a config.json");
    if (z != 16)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED,
                            "vae: z_dim %lld without a config.json (latents mean/std are only known for 16)",
                            (long long)z);
    c->z_dim = (int)z, c->base_dim = (int)base, c->num_res_blocks = (int)nres - 1;
    if (!derive_levels(set, c, *layout, *prefix, mid))
        return vgen_err_set(err, VGEN_ERR_SHAPE, "vae: the up_blocks' widths are not multiples of base_dim %lld",
                            (long long)base);
    return vgen_wan_vae_config_validate(c, err);
}

/* ---- model ---- */

int vgen_wan_vae_load_set(const vgen_st_set *set, const vgen_wan_vae_config *cfg, vgen_wan_vae **out,
                          vgen_err *err) {
    *out = NULL;
    vgen_wan_vae *m = calloc(1, sizeof *m);
    if (!m) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot allocate the model");
    loader ld = {.set = set, .err = err};
    int rc = cfg ? detect(set, &m->layout, &ld.prefix, err)
                 : vgen_wan_vae_config_from_set(set, &m->cfg, &m->layout, &ld.prefix, err);
    if (rc) goto fail;
    if (cfg) {
        m->cfg = *cfg;
        if ((rc = vgen_wan_vae_config_validate(&m->cfg, err))) goto fail;
    }
    ld.cfg = &m->cfg, ld.layout = m->layout;
    if ((rc = walk(&ld, m))) goto fail; /* checks every tensor, counts floats */
    m->storage_floats = ld.used;
    m->storage = malloc(ld.used * sizeof(float));
    if (!m->storage) {
        rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot allocate %zu bytes of weights", ld.used * 4);
        goto fail;
    }
    ld.storage = m->storage;
    if ((rc = walk(&ld, m))) goto fail;
    *out = m;
    return VGEN_OK;
fail:
    vgen_wan_vae_free(&m);
    return rc;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int vgen_wan_vae_load(const char *path, const vgen_wan_vae_config *cfg, vgen_wan_vae **out, vgen_err *err) {
    if (!path || !out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_wan_vae_load: NULL argument");
    vgen_wan_vae_config file_cfg;
    char cfg_path[4096];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", path);
    if (!cfg && is_dir(path) && file_exists(cfg_path)) {
        int rc = vgen_wan_vae_config_load(cfg_path, &file_cfg, err);
        if (rc) return rc;
        cfg = &file_cfg;
    }
    vgen_st_set *set = NULL;
    int rc = vgen_st_open(path, &set, err);
    if (rc) return rc;
    rc = vgen_wan_vae_load_set(set, cfg, out, err);
    vgen_st_close(&set);
    return rc;
}

void vgen_wan_vae_free(vgen_wan_vae **m) {
    if (!m || !*m) return;
    free((*m)->storage);
    free(*m);
    *m = NULL;
}

const vgen_wan_vae_config *vgen_wan_vae_get_config(const vgen_wan_vae *m) { return &m->cfg; }
vgen_wan_vae_layout vgen_wan_vae_get_layout(const vgen_wan_vae *m) { return m->layout; }
size_t vgen_wan_vae_weight_bytes(const vgen_wan_vae *m) { return m->storage_floats * sizeof(float); }

/* wan_vae_config.c - the AutoencoderKLWan config: Wan2.1 defaults, config.json parsing, validation, and the decoder
 * geometry that follows from it (WanDecoder3d.__init__). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"
#include "mapped_file.h"
#include "wan_vae.h"

static const float k_mean[16] = {-0.7571f, -0.7089f, -0.9113f, 0.1075f,  -0.1745f, 0.9653f,  -0.1517f, 1.5508f,
                                 0.4134f,  -0.0715f, 0.5517f,  -0.3632f, -0.1922f, -0.9497f, 0.2503f,  -0.2921f};
static const float k_std[16] = {2.8184f, 1.4541f, 2.3275f, 2.6558f, 1.2196f, 1.7708f, 2.6052f, 2.0743f,
                                3.2687f, 2.1526f, 2.8652f, 1.5579f, 1.6382f, 1.1253f, 2.8251f, 1.9160f};

void vgen_wan_vae_config_default(vgen_wan_vae_config *c) {
    memset(c, 0, sizeof *c);
    c->base_dim = 96;
    c->z_dim = 16;
    c->n_levels = 4;
    const int mult[4] = {1, 2, 4, 4};
    memcpy(c->dim_mult, mult, sizeof mult);
    c->num_res_blocks = 2;
    c->temperal_downsample[0] = 0, c->temperal_downsample[1] = 1, c->temperal_downsample[2] = 1;
    c->out_channels = 3;
    memcpy(c->latents_mean, k_mean, sizeof k_mean);
    memcpy(c->latents_std, k_std, sizeof k_std);
}

/* ---- geometry ---- */

int vgen_wan_vae_mid_dim(const vgen_wan_vae_config *c) { return c->base_dim * c->dim_mult[c->n_levels - 1]; }

/* dims = [base * u for u in [dim_mult[-1]] + dim_mult[::-1]]; up_blocks.i maps dims[i] -> dims[i + 1]. */
static int dims_at(const vgen_wan_vae_config *c, int i) {
    return i == 0 ? vgen_wan_vae_mid_dim(c) : c->base_dim * c->dim_mult[c->n_levels - i];
}

int vgen_wan_vae_level_out(const vgen_wan_vae_config *c, int i) { return dims_at(c, i + 1); }

/* Wan2.1 (is_residual false): every level after the first takes the previous upsampler's dim // 2 channels. */
int vgen_wan_vae_level_in(const vgen_wan_vae_config *c, int i) { return i == 0 ? dims_at(c, 0) : dims_at(c, i) / 2; }

int vgen_wan_vae_level_upsample(const vgen_wan_vae_config *c, int i) {
    if (i >= c->n_levels - 1) return 0;
    /* temperal_upsample = temperal_downsample[::-1] */
    return c->temperal_downsample[c->n_levels - 2 - i] ? 3 : 2;
}

int vgen_wan_vae_spatial_factor(const vgen_wan_vae_config *c) { return 1 << (c->n_levels - 1); }

int64_t vgen_wan_vae_frames_out(const vgen_wan_vae_config *c, int64_t n_latent) {
    if (n_latent <= 0) return 0;
    int64_t f = n_latent;
    for (int i = 0; i < c->n_levels - 1; i++)
        if (vgen_wan_vae_level_upsample(c, i) == 3) f = 1 + 2 * (f - 1);
    return f;
}

/* ---- validation ---- */

int vgen_wan_vae_config_validate(const vgen_wan_vae_config *c, vgen_err *err) {
    if (c->base_dim < 1 || c->base_dim > 4096)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vae config: base_dim %d is not in [1, 4096]", c->base_dim);
    if (c->z_dim < 1 || c->z_dim > VGEN_WAN_VAE_MAX_Z)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vae config: z_dim %d is not in [1, %d]", c->z_dim,
                            VGEN_WAN_VAE_MAX_Z);
    if (c->n_levels < 1 || c->n_levels > VGEN_WAN_VAE_MAX_LEVELS)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vae config: dim_mult has %d entries, not 1..%d",
                            c->n_levels, VGEN_WAN_VAE_MAX_LEVELS);
    for (int i = 0; i < c->n_levels; i++)
        if (c->dim_mult[i] < 1 || c->dim_mult[i] > 64 || (c->dim_mult[i] * c->base_dim) % 2)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                                "vae config: dim_mult[%d] = %d (needs 1..64 and an even base_dim * dim_mult)", i,
                                c->dim_mult[i]);
    if (c->num_res_blocks < 0 || c->num_res_blocks > 8)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vae config: num_res_blocks %d is not in [0, 8]",
                            c->num_res_blocks);
    if (c->out_channels != 3)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "vae config: out_channels %d (only RGB, 3, is supported)",
                            c->out_channels);
    for (int i = 0; i < c->z_dim; i++)
        if (!isfinite(c->latents_mean[i]) || !isfinite(c->latents_std[i]) || c->latents_std[i] == 0.0f)
            return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                                "vae config: latents_mean[%d] / latents_std[%d] must be finite and std non-zero", i, i);
    return VGEN_OK;
}

/* ---- config.json ---- */

typedef struct cfg_ctx {
    const char *display;
    vgen_wan_vae_config *c;
    vgen_err *err;
} cfg_ctx;

static int bad(const cfg_ctx *x, const char *key, const char *what) {
    return vgen_err_set(x->err, VGEN_ERR_MALFORMED, "%s: \"%s\" %s", x->display, key, what);
}

static int get_int(const cfg_ctx *x, const cJSON *v, int *out) {
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e6)
        return bad(x, v->string, "is not an integer");
    *out = (int)v->valuedouble;
    return VGEN_OK;
}

/* An array of n_max or fewer numbers (ints when is_int); its length in *n. */
static int get_array(const cfg_ctx *x, const cJSON *v, int n_max, int is_int, int *ints, float *floats, int *n) {
    if (!cJSON_IsArray(v)) return bad(x, v->string, "is not an array");
    int k = cJSON_GetArraySize(v);
    if (k > n_max) return bad(x, v->string, "has too many entries");
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (is_int && cJSON_IsBool(e)) ints[i] = cJSON_IsTrue(e);
        else if (!cJSON_IsNumber(e)) return bad(x, v->string, "holds a value that is not a number");
        else if (is_int && (e->valuedouble != floor(e->valuedouble) || fabs(e->valuedouble) > 1e6))
            return bad(x, v->string, "holds a value that is not an integer of at most 1e6");
        else if (is_int) ints[i] = (int)e->valuedouble;
        else if (!(fabs(e->valuedouble) <= FLT_MAX)) return bad(x, v->string, "holds a value out of float range");
        else floats[i] = (float)e->valuedouble; /* as torch.tensor(list) rounds the Python doubles */
    }
    *n = k;
    return VGEN_OK;
}

/* Keys that change the decoder and are not supported: is_residual (Wan2.2), patch_size. */
static int check_unsupported(const cfg_ctx *x, const cJSON *v) {
    if (!strcmp(v->string, "is_residual") && !cJSON_IsFalse(v) && !cJSON_IsNull(v))
        return vgen_err_set(x->err, VGEN_ERR_UNSUPPORTED, "%s: is_residual (the Wan2.2 VAE) is not supported",
                            x->display);
    if (!strcmp(v->string, "patch_size") && !cJSON_IsNull(v))
        return vgen_err_set(x->err, VGEN_ERR_UNSUPPORTED, "%s: patch_size (the Wan2.2 VAE) is not supported",
                            x->display);
    if (!strcmp(v->string, "_class_name") && (!cJSON_IsString(v) || strcmp(v->valuestring, "AutoencoderKLWan")))
        return vgen_err_set(x->err, VGEN_ERR_UNSUPPORTED, "%s: _class_name is not \"AutoencoderKLWan\"", x->display);
    return VGEN_OK;
}

static int read_key(const cfg_ctx *x, const cJSON *v, int *n_mean, int *n_std, int *n_td, int *decoder_base) {
    vgen_wan_vae_config *c = x->c;
    const char *k = v->string;
    if (!strcmp(k, "base_dim")) return get_int(x, v, &c->base_dim);
    if (!strcmp(k, "decoder_base_dim")) return cJSON_IsNull(v) ? VGEN_OK : get_int(x, v, decoder_base);
    if (!strcmp(k, "z_dim")) return get_int(x, v, &c->z_dim);
    if (!strcmp(k, "num_res_blocks")) return get_int(x, v, &c->num_res_blocks);
    if (!strcmp(k, "out_channels")) return get_int(x, v, &c->out_channels);
    if (!strcmp(k, "dim_mult")) return get_array(x, v, VGEN_WAN_VAE_MAX_LEVELS, 1, c->dim_mult, NULL, &c->n_levels);
    if (!strcmp(k, "temperal_downsample"))
        return get_array(x, v, VGEN_WAN_VAE_MAX_LEVELS, 1, c->temperal_downsample, NULL, n_td);
    if (!strcmp(k, "latents_mean")) return get_array(x, v, VGEN_WAN_VAE_MAX_Z, 0, NULL, c->latents_mean, n_mean);
    if (!strcmp(k, "latents_std")) return get_array(x, v, VGEN_WAN_VAE_MAX_Z, 0, NULL, c->latents_std, n_std);
    return check_unsupported(x, v);
}

static int read_root(const cfg_ctx *x, const cJSON *root) {
    int n_mean = 16, n_std = 16, n_td = 3, decoder_base = 0, rc = VGEN_OK;
    for (const cJSON *v = root->child; v && !rc; v = v->next)
        rc = read_key(x, v, &n_mean, &n_std, &n_td, &decoder_base);
    if (rc) return rc;
    vgen_wan_vae_config *c = x->c;
    if (decoder_base > 0) c->base_dim = decoder_base;
    if (n_td != c->n_levels - 1) return bad(x, "temperal_downsample", "needs len(dim_mult) - 1 entries");
    if (n_mean != c->z_dim) return bad(x, "latents_mean", "needs z_dim entries");
    if (n_std != c->z_dim) return bad(x, "latents_std", "needs z_dim entries");
    return vgen_wan_vae_config_validate(c, x->err);
}

int vgen_wan_vae_config_parse(const char *json, size_t n, const char *display, vgen_wan_vae_config *c,
                              vgen_err *err) {
    cfg_ctx x = {display ? display : "config.json", c, err};
    vgen_wan_vae_config_default(c);
    vgen_json_error je;
    cJSON *root = vgen_json_parse_strict((const uint8_t *)json, n, &je);
    if (!root)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: not valid JSON (%s at byte %zu)", x.display,
                            je.why ? je.why : "syntax error", je.offset);
    int rc = cJSON_IsObject(root) ? read_root(&x, root)
                                  : vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: not a JSON object", x.display);
    cJSON_Delete(root);
    return rc;
}

int vgen_wan_vae_config_load(const char *path, vgen_wan_vae_config *c, vgen_err *err) {
    vgen_mapped_file f;
    int rc = vgen_mapped_file_open(path, NULL, &f, err);
    if (rc) return rc;
    rc = vgen_wan_vae_config_parse((const char *)f.data, f.size, path, c, err);
    vgen_mapped_file_close(&f);
    return rc;
}

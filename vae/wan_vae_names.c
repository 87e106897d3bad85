/* wan_vae_names.c - decoder tensor names: diffusers (the internal names) -> the original Wan layout.
 *
 * The original names (Wan repository wan/modules/vae.py, and ComfyUI's wan_2.1_vae.safetensors) are the inverse of
 * diffusers' convert_wan_vae_to_diffusers (loaders/single_file_utils.py):
 *   post_quant_conv.*                        <- conv2.*
 *   decoder.conv_in.*                        <- decoder.conv1.*
 *   decoder.mid_block.resnets.K.*            <- decoder.middle.(2K).*          (K = 0, 1)
 *   decoder.mid_block.attentions.0.*         <- decoder.middle.1.*
 *   decoder.up_blocks.I.resnets.R.*          <- decoder.upsamples.(I (nrb + 2) + R).*
 *   decoder.up_blocks.I.upsamplers.0.*       <- decoder.upsamples.(I (nrb + 2) + nrb + 1).*
 *   decoder.norm_out.gamma                   <- decoder.head.0.gamma
 *   decoder.conv_out.*                       <- decoder.head.2.*
 * with, inside a residual block, norm1.gamma <- residual.0.gamma, conv1 <- residual.2, norm2.gamma <-
 * residual.3.gamma, conv2 <- residual.6, conv_shortcut <- shortcut (nn.Sequential indices: RMS_norm, SiLU, conv,
 * RMS_norm, SiLU, Dropout, conv). nrb = num_res_blocks; every level but the last ends with a Resample, so level I
 * occupies nrb + 2 entries of the flat decoder.upsamples list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wan_vae.h"

typedef struct leaf_map {
    const char *d, *o;
} leaf_map;

static const leaf_map k_res_leaves[] = {
    {"norm1.gamma", "residual.0.gamma"},     {"conv1.weight", "residual.2.weight"},
    {"conv1.bias", "residual.2.bias"},       {"norm2.gamma", "residual.3.gamma"},
    {"conv2.weight", "residual.6.weight"},   {"conv2.bias", "residual.6.bias"},
    {"conv_shortcut.weight", "shortcut.weight"}, {"conv_shortcut.bias", "shortcut.bias"},
};

static const char *const k_conv_leaves[] = {"weight", "bias", NULL};
static const char *const k_attn_leaves[] = {"norm.gamma", "to_qkv.weight", "to_qkv.bias", "proj.weight", "proj.bias",
                                            NULL};
static const char *const k_up_leaves[] = {"resample.1.weight", "resample.1.bias", "time_conv.weight",
                                          "time_conv.bias", NULL};

static int in_list(const char *s, const char *const *list) {
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i])) return 1;
    return 0;
}

static const char *res_leaf(const char *leaf) {
    for (size_t i = 0; i < sizeof k_res_leaves / sizeof k_res_leaves[0]; i++)
        if (!strcmp(leaf, k_res_leaves[i].d)) return k_res_leaves[i].o;
    return NULL;
}

/* Parses "<int>.<rest>" at s: the integer in *v (0..9999, no sign or leading zeros) and rest in *rest. */
static int take_index(const char *s, int *v, const char **rest) {
    if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '.')) return 0;
    int x = 0, i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && i < 4; i++) x = x * 10 + (s[i] - '0');
    if (s[i] != '.') return 0;
    *v = x;
    *rest = s + i + 1;
    return 1;
}

/* out = head + idx + "." + leaf */
static int put(char *out, size_t n, const char *head, int idx, const char *leaf) {
    int k = snprintf(out, n, "%s%d.%s", head, idx, leaf);
    return k > 0 && (size_t)k < n;
}

static int starts(const char *s, const char *prefix, const char **rest) {
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n)) return 0;
    *rest = s + n;
    return 1;
}

/* decoder.up_blocks.I.(resnets.R.LEAF | upsamplers.0.LEAF) */
static int map_up(const vgen_wan_vae_config *c, const char *s, char *out, size_t n) {
    int lvl, r;
    const char *rest, *leaf;
    if (!take_index(s, &lvl, &rest) || lvl >= c->n_levels) return 0;
    int base = lvl * (c->num_res_blocks + 2);
    if (starts(rest, "resnets.", &rest)) {
        if (!take_index(rest, &r, &leaf) || r > c->num_res_blocks || !res_leaf(leaf)) return 0;
        return put(out, n, "decoder.upsamples.", base + r, res_leaf(leaf));
    }
    if (starts(rest, "upsamplers.0.", &leaf) && lvl < c->n_levels - 1 && in_list(leaf, k_up_leaves))
        return put(out, n, "decoder.upsamples.", base + c->num_res_blocks + 1, leaf);
    return 0;
}

/* decoder.mid_block.(resnets.K.LEAF | attentions.0.LEAF) */
static int map_mid(const char *s, char *out, size_t n) {
    int k;
    const char *leaf;
    if (starts(s, "resnets.", &s) && take_index(s, &k, &leaf) && k <= 1 && res_leaf(leaf))
        return put(out, n, "decoder.middle.", 2 * k, res_leaf(leaf));
    if (starts(s, "attentions.0.", &leaf) && in_list(leaf, k_attn_leaves))
        return put(out, n, "decoder.middle.", 1, leaf);
    return 0;
}

static int map_original(const vgen_wan_vae_config *c, const char *d, char *out, size_t n) {
    const char *rest;
    if (starts(d, "post_quant_conv.", &rest) && in_list(rest, k_conv_leaves))
        return put(out, n, "conv", 2, rest);
    if (starts(d, "decoder.conv_in.", &rest) && in_list(rest, k_conv_leaves))
        return put(out, n, "decoder.conv", 1, rest);
    if (starts(d, "decoder.conv_out.", &rest) && in_list(rest, k_conv_leaves))
        return put(out, n, "decoder.head.", 2, rest);
    if (!strcmp(d, "decoder.norm_out.gamma")) return put(out, n, "decoder.head.", 0, "gamma");
    if (starts(d, "decoder.mid_block.", &rest)) return map_mid(rest, out, n);
    if (starts(d, "decoder.up_blocks.", &rest)) return map_up(c, rest, out, n);
    return 0;
}

int vgen_wan_vae_name_map(const vgen_wan_vae_config *c, vgen_wan_vae_layout layout, const char *dname, char *out,
                          size_t out_size, vgen_err *err) {
    int ok;
    if (layout == VGEN_WAN_VAE_LAYOUT_ORIGINAL) {
        ok = map_original(c, dname, out, out_size);
    } else {
        size_t len = strlen(dname);
        ok = len < out_size;
        if (ok) memcpy(out, dname, len + 1);
    }
    if (!ok) return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "\"%s\" is not a Wan VAE decoder tensor name", dname);
    return VGEN_OK;
}

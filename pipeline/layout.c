/* layout.c - checkpoint layout detection by marker tensors. */
#include "layout.h"

#include <stddef.h>

typedef struct layout_rule {
    const char *name;
    const char *markers[3];   /* every marker must be present; NULL-terminated */
} layout_rule;

/* First match wins, so more specific layouts come first. */
static const layout_rule k_layouts[] = {
    {"comfyui-wan-fp8-scaled", {"scaled_fp8", "model.diffusion_model.blocks.0.self_attn.q.weight", NULL}},
    {"comfyui-wan-fp8-scaled", {"scaled_fp8", "blocks.0.self_attn.q.weight", NULL}},
    {"comfyui-wan", {"model.diffusion_model.blocks.0.self_attn.q.weight", NULL}},
    {"wan-original", {"blocks.0.self_attn.q.weight", "patch_embedding.weight", NULL}},
    {"diffusers-wan", {"blocks.0.attn1.to_q.weight", "condition_embedder.time_embedder.linear_1.weight", NULL}},
    {"hf-umt5", {"encoder.block.0.layer.0.SelfAttention.q.weight", NULL}},
    {"diffusers-wan-vae", {"decoder.conv_in.weight", "decoder.up_blocks.0.resnets.0.conv1.weight", NULL}},
    {"wan-vae-original", {"decoder.conv1.weight", "decoder.head.2.weight", NULL}},
};

static int has_all(const vgen_st_set *set, const char *const *markers) {
    for (int i = 0; i < 3 && markers[i]; i++)
        if (!vgen_st_find(set, markers[i])) return 0;
    return 1;
}

const char *vgen_layout_detect(const vgen_st_set *set) {
    for (size_t i = 0; i < sizeof k_layouts / sizeof k_layouts[0]; i++)
        if (has_all(set, k_layouts[i].markers)) return k_layouts[i].name;
    return "unknown";
}

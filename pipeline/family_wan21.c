/* family_wan21.c - the Wan2.1 text-to-video family (diffusers' WanPipeline): folder layout, geometry, defaults
 * (docs/wan21-reference.md, "Sampling") and its component functions. */
#include "family_wan21.h"

#include "sampler.h"

const char *wan21_plan_format(const vgen_component_plan *plan) {
    const vgen_wformat_traits *tr = vgen_wformat_get(plan->weights);
    return tr ? tr->name : "f32";
}

const vgen_family vgen_family_wan21 = {
    .name = "wan21",
    .pipeline_class = "WanPipeline",
    .part_dirs = {"transformer", "text_encoder", "tokenizer", "vae", "scheduler"},
    .latent_channels = 16,
    .spatial_factor = 8,
    .temporal_factor = 4,
    .size_multiple = 16,
    .ctx_len = 512,
    .defaults = {.width = 832, .height = 480, .frames = 81, .steps = 50, .fps = 16, .guidance = 5.0,
                 .sampler = VGEN_SAMPLER_UNIPC, .shift = 3.0},
    .text_open = wan21_text_open,
    .text_encode = wan21_text_encode,
    .dit_load = wan21_dit_load,
    .dit_session_new = wan21_dit_session_new,
    .dit_session_free = wan21_dit_session_free,
    .dit_forward = wan21_dit_forward,
    .vae_load = wan21_vae_load,
    .vae_frames_out = wan21_vae_frames_out,
    .vae_decode = wan21_vae_decode,
    .plan_text = wan21_plan_text,
    .plan_dit = wan21_plan_dit,
    .plan_vae = wan21_plan_vae,
};

/* layout.h - which known checkpoint layout a set of tensor names follows (DESIGN.md: the pipeline is the only
 * place that knows model families). Detection is by marker tensors that a layout always has, table-driven. */
#ifndef VGEN_PIPELINE_LAYOUT_H
#define VGEN_PIPELINE_LAYOUT_H

#include "safetensors.h"

/* "diffusers-wan", "wan-original", "comfyui-wan", "comfyui-wan-fp8-scaled", "hf-umt5", "diffusers-wan-vae",
 * "wan-vae-original", or "unknown". Never NULL. */
const char *vgen_layout_detect(const vgen_st_set *set);

#endif

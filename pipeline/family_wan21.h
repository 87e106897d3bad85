/* family_wan21.h - the Wan2.1 entry's component functions (family_wan21_*.c), gathered by family_wan21.c. */
#ifndef VGEN_PIPELINE_FAMILY_WAN21_H
#define VGEN_PIPELINE_FAMILY_WAN21_H

#include "family.h"

/* family_wan21_text.c: T5 tokenizer + UMT5 encoder (textenc/text_encoder.h) */
int wan21_text_open(const vgen_part_load *a, vgen_backend *be, vgen_part **out, vgen_err *err);
int wan21_text_encode(vgen_part *te, const char *prompt, float *ctx, int64_t *n_tokens, vgen_err *err);

/* family_wan21_dit.c: WanTransformer3DModel (dit/) */
int wan21_dit_load(const vgen_part_load *a, vgen_part **out, vgen_err *err);
int wan21_dit_session_new(const vgen_part *dit, vgen_backend *be, const vgen_dit_shape *shape, void **session,
                          size_t *session_bytes, vgen_err *err);
void wan21_dit_session_free(void **session);
int wan21_dit_forward(void *session, const float *x, float t, const float *ctx, float *v, vgen_err *err);

/* family_wan21_vae.c: AutoencoderKLWan decoder (vae/) */
int wan21_vae_load(const vgen_part_load *a, vgen_part **out, vgen_err *err);
int64_t wan21_vae_frames_out(const vgen_part *vae, int64_t latent_frames);
int wan21_vae_decode(const vgen_part *vae, vgen_backend *be, vgen_vae_request *r, vgen_err *err);

/* family_wan21_plan.c: memory plans from the configurations */
int wan21_plan_text(const char *path, const vgen_component_plan *plan, int64_t ctx_len, vgen_part_plan *out,
                    vgen_err *err);
int wan21_plan_dit(const char *path, const vgen_component_plan *plan, const vgen_dit_shape *shape,
                   vgen_part_plan *out, vgen_err *err);
int wan21_plan_vae(const char *path, const vgen_component_plan *plan, const vgen_vae_request *r, vgen_part_plan *out,
                   vgen_err *err);

/* The decoder parameters of request r under plan (streaming, denormalize, tiling), shared by the decode and its
 * plan. */
struct vgen_wan_vae_params;
void wan21_vae_params(const vgen_component_plan *plan, const vgen_vae_request *r, struct vgen_wan_vae_params *p);

/* The weight format name a plan asks for ("int8_row", "bf16", ...). */
const char *wan21_plan_format(const vgen_component_plan *plan);

#endif

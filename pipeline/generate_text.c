/* generate_text.c - the text phase: the prompt (and, with guidance, the negative prompt) -> contexts
 * [ctx_len, width], rows past the prompt zero. The text encoder is opened for the run; with offload
 * "free_after_use" (the cpu preset) its weights are freed as soon as the contexts exist, before the DiT runs. */
#include <stdlib.h>

#include "generate.h"

static int open_encoder(vgen_run *r) {
    const vgen_model *m = r->model;
    const vgen_part_load a = {.path = m->paths[VGEN_PART_TEXT_ENCODER],
                              .aux_path = m->paths[VGEN_PART_TOKENIZER],
                              .cache_dir = m->embed_cache_dir[0] ? m->embed_cache_dir : NULL,
                              .ctx_len = r->fam->ctx_len,
                              .plan = &m->preset.components[VGEN_COMPONENT_TEXT_ENCODER],
                              .pool = r->ctx->pool,
                              .log = &r->log};
    vgen_backend *be = vgen_run_backend(r, VGEN_COMPONENT_TEXT_ENCODER);
    VGEN_LOGI(&r->log, "text encoder %s, tokenizer %s, on %s", a.path, a.aux_path, be->name);
    int rc = r->fam->text_open(&a, be, &r->text, r->err);
    if (rc) return rc;
    vgen_run_note_component(r, VGEN_COMPONENT_TEXT_ENCODER, r->text);
    r->ctx_width = r->text->width;
    return VGEN_OK;
}

static int encode(vgen_run *r, int cond, float **out) {
    const char *prompt = cond ? r->p.prompt : r->p.negative_prompt;
    const size_t n = (size_t)r->fam->ctx_len * (size_t)r->ctx_width;
    *out = malloc(n * sizeof(float));
    if (!*out) return vgen_err_set(r->err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a context of %zu floats", n);
    int64_t n_tokens = 0;
    int rc = r->fam->text_encode(r->text, prompt, *out, &n_tokens, r->err);
    if (rc) return vgen_err_prefix(r->err, "%s", cond ? "prompt" : "negative prompt");
    VGEN_LOGI(&r->log, "%s: %lld tokens", cond ? "prompt" : "negative prompt", (long long)n_tokens);
    if (r->taps && r->taps->context) r->taps->context(r->taps->user_data, cond, *out, r->fam->ctx_len, r->ctx_width);
    return VGEN_OK;
}

int vgen_run_text(vgen_run *r) {
    int rc = vgen_run_check_abort(r, "before the text encoder");
    if (rc) return rc;
    vgen_run_phase_begin(r, VGEN_PHASE_TEXT_ENCODER, r->guided ? 2 : 1);
    rc = open_encoder(r);
    if (!rc) rc = encode(r, 1, &r->ctx_cond);
    if (!rc) vgen_run_progress(r, 1);
    if (!rc && r->guided) rc = vgen_run_check_abort(r, "between the prompts");
    if (!rc && r->guided) rc = encode(r, 0, &r->ctx_uncond);
    if (rc) return rc;
    if (!vgen_model_keeps(r->model, VGEN_COMPONENT_TEXT_ENCODER)) {
        vgen_part_free(&r->text);
        VGEN_LOGI(&r->log, "text encoder freed (offload free_after_use)");
    }
    vgen_run_phase_end(r);
    return VGEN_OK;
}

/* family_wan21_text.c - Wan2.1's text encoder: prompt cleaning, the T5 tokenizer and UMT5 (textenc/text_encoder.h),
 * with the preset's compute dtype and quantize-on-load format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "family_wan21.h"
#include "text_encoder.h"

static void text_destroy(void *impl) {
    vgen_text_encoder *te = impl;
    vgen_text_encoder_free(&te);
}

int wan21_text_open(const vgen_part_load *a, vgen_backend *be, vgen_part **out, vgen_err *err) {
    *out = NULL;
    vgen_text_encoder_params p;
    vgen_text_encoder_params_init(&p);
    p.tokenizer_path = a->aux_path;
    p.encoder_path = a->path;
    p.umt5.compute = a->plan->compute;
    p.umt5.format = wan21_plan_format(a->plan);
    p.umt5.pool = a->pool;
    p.max_len = a->ctx_len;
    p.cache_dir = a->cache_dir;
    p.log = a->log;
    vgen_part *part = calloc(1, sizeof *part);
    if (!part) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the text encoder");
    vgen_text_encoder *te = NULL;
    int rc = vgen_text_encoder_new(&p, be, &te, err);
    if (rc) {
        free(part);
        return rc;
    }
    part->impl = te;
    part->destroy = text_destroy;
    snprintf(part->weights, sizeof part->weights, "%s", p.umt5.format);
    snprintf(part->compute, sizeof part->compute, "%s", vgen_dtype_name(p.umt5.compute));
    part->width = vgen_text_encoder_config(te)->d_model;
    *out = part;
    return VGEN_OK;
}

int wan21_text_encode(vgen_part *part, const char *prompt, float *ctx, int64_t *n_tokens, vgen_err *err) {
    vgen_tensor t;
    int rc = vgen_text_encoder_encode(part->impl, prompt, &t, n_tokens, err);
    if (rc) return rc;
    memcpy(ctx, t.data, vgen_tensor_bytes(&t));
    vgen_tensor_release(&t);
    return VGEN_OK;
}

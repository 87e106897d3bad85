/* text_encoder.h - the text-encoder front end WanPipeline needs: prompt -> ctx [max_len, d_model] f32.
 *
 *   prompt --vgen_prompt_clean--> text --vgen_tokenizer_encode_padded--> ids[max_len], n tokens
 *          --UMT5 (rows [0, n))--> ctx, rows [n, max_len) exactly zero
 *
 * With a cache directory, encodings are looked up in the embedding cache (embed_cache.h) first. The UMT5 weights are
 * loaded lazily, on the first prompt the cache does not hold, and can be dropped with vgen_text_encoder_unload (the
 * pipeline frees the text encoder before the DiT runs); the tokenizer stays. */
#ifndef VGEN_TEXTENC_TEXT_ENCODER_H
#define VGEN_TEXTENC_TEXT_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "err.h"
#include "log.h"
#include "tensor.h"
#include "umt5.h"

typedef struct vgen_text_encoder_params {
    const char *tokenizer_path;  /* a tokenizer/ directory, tokenizer.json or spiece.model (tokenizer.h) */
    const char *encoder_path;    /* a text_encoder/ directory, index or .safetensors file (umt5.h) */
    vgen_umt5_params umt5;       /* compute dtype, quantize-on-load format, ... (its log is replaced by log) */
    int64_t max_len;             /* padded length (WanPipeline: 512) */
    const char *cache_dir;       /* NULL: no embedding cache */
    const vgen_logger *log;      /* may be NULL */
    vgen_abort_fn abort;         /* checked between the encoder's layers; NULL: never */
    void *abort_user_data;
} vgen_text_encoder_params;

void vgen_text_encoder_params_init(vgen_text_encoder_params *p);

typedef struct vgen_text_encoder vgen_text_encoder;

/* Loads the tokenizer, reads the encoder's configuration (no weights yet), computes the cache identities and opens
 * the cache. be is borrowed and must outlive te (a cache hit never touches it). Errors: those of vgen_tokenizer_load
 * (a missing tokenizer file is VGEN_ERR_NOT_FOUND, a tokenizer.json of another model type VGEN_ERR_UNSUPPORTED), of
 * vgen_st_open and the UMT5 configuration for encoder_path, VGEN_ERR_SHAPE when the tokenizer's ids exceed the
 * embedding's rows, VGEN_ERR_INVALID_ARGUMENT for a max_len outside 2..65536. */
int vgen_text_encoder_new(const vgen_text_encoder_params *p, vgen_backend *be, vgen_text_encoder **out,
                          vgen_err *err);
void vgen_text_encoder_free(vgen_text_encoder **te);

/* ctx = the encoding of prompt (NUL-terminated UTF-8; "" is valid: just </s>), allocated here as an f32 heap tensor
 * [max_len, d_model] (release with vgen_tensor_release); *n_tokens (may be NULL) = its token count, the rows kept.
 * Errors: VGEN_ERR_INVALID_ARGUMENT (NULL prompt, invalid UTF-8 naming the byte offset), the loading errors of
 * vgen_umt5_load on the first miss, the encoder's (VGEN_ERR_ABORTED from the abort callback). Cache problems are
 * only warnings. */
int vgen_text_encoder_encode(vgen_text_encoder *te, const char *prompt, vgen_tensor *ctx, int64_t *n_tokens,
                             vgen_err *err);

/* Frees the UMT5 weights and session (a later encode loads them again); 1 if they are loaded. */
void vgen_text_encoder_unload(vgen_text_encoder *te);
int vgen_text_encoder_loaded(const vgen_text_encoder *te);

const vgen_umt5_config *vgen_text_encoder_config(const vgen_text_encoder *te);
/* What the loaded encoder holds (0 before the first encode): weights (owned + mapped) and the session arena. */
void vgen_text_encoder_memory(const vgen_text_encoder *te, size_t *weights, size_t *session);

#endif

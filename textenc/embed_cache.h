/* embed_cache.h - encoded prompts on disk, so a repeated prompt skips loading and running the text encoder.
 *
 * One safetensors file per entry, <dir>/<key hash as 16 hex digits>.safetensors, written atomically (the
 * safetensors writer goes through core/atomic_file.h), holding
 *   "ctx"         F32 [max_len, d_model]: the text encoder's output, rows past the prompt zero
 *   __metadata__  "vgen.embed_cache" = format version, and every key field in full ("weights_id", "tokenizer_id",
 *                 "prompt", "max_len", "d_model", "precision"), "n_tokens", "ids_fnv" (the hash of the token ids and
 *                 mask that produced it), "data_fnv" (the hash of the ctx bytes).
 * The key hash is FNV-1a 64 (see vgen_fnv1a64) over the key fields; it only names the file. A read checks the
 * whole entry: the file parses as strict safetensors (so a truncated file is caught), every metadata key field equals
 * the requested one (so a hash collision or a renamed file is caught), ctx has the expected dtype and shape, its bytes
 * hash to data_fnv, n_tokens and ids_fnv match the current tokenization, the rows past n_tokens are zero and every
 * value is finite. Anything else is reported through the log callback as a warning and treated as a miss, so the
 * caller recomputes and overwrites the entry. A directory that cannot be created or written gives one warning and a
 * cache that never stores; no cache error ever fails an encode.
 *
 * A cache is a plain object (no global state); it is not thread-safe, give each thread its own (entries are written
 * atomically, so several processes may share a directory). */
#ifndef VGEN_TEXTENC_EMBED_CACHE_H
#define VGEN_TEXTENC_EMBED_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "log.h"
#include "safetensors.h"

/* Bumped whenever vgen's tokenization or encoder numerics change, so old entries stop matching. */
#define VGEN_EMBED_CACHE_VERSION "1"

#define VGEN_FNV1A64_INIT UINT64_C(0xcbf29ce484222325)

/* FNV-1a 64: h = (h ^ byte) * 0x100000001b3 for each byte; start from VGEN_FNV1A64_INIT. */
static inline uint64_t vgen_fnv1a64(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}

/* What an entry is keyed by. weights_id / tokenizer_id: vgen_embed_cache_weights_id / _tokenizer_id. precision:
 * compute dtype and every option that changes the numbers (text_encoder.c writes "bf16/stored/wo_f32=0/..."). */
typedef struct vgen_embed_key {
    uint64_t weights_id;
    uint64_t tokenizer_id;
    const char *prompt;       /* the prompt as given (before cleaning), NUL-terminated UTF-8 */
    int64_t max_len;
    int64_t d_model;
    const char *precision;
} vgen_embed_key;

/* What produced an entry: checked on reads, stored on writes. */
typedef struct vgen_embed_tokens {
    int64_t n_tokens;         /* rows of the prompt; the rest are zero */
    uint64_t ids_fnv;         /* vgen_embed_cache_ids_hash of the padded ids and mask */
} vgen_embed_tokens;

uint64_t vgen_embed_cache_ids_hash(const int32_t *ids, const uint8_t *mask, int64_t max_len);

/* The identity of encoder weights: FNV-1a 64 over, for every shard of the open checkpoint in order, its file name
 * (without directory), its size and its whole safetensors header (8-byte length + JSON), then the bytes of
 * config_path if given (NULL: none). Renaming the directory keeps the identity; any change to a header (a tensor's
 * dtype, shape or offset, the metadata) or to the config changes it. Tensor data is not read, so an edit of weight
 * values that keeps every header byte is not detected. */
int vgen_embed_cache_weights_id(const vgen_st_set *set, const char *config_path, uint64_t *id, vgen_err *err);

/* The identity of a tokenizer: FNV-1a 64 over the name and bytes of each of tokenizer.json, spiece.model and
 * tokenizer_config.json that a tokenizer/ directory holds (or of the one file given). */
int vgen_embed_cache_tokenizer_id(const char *dir_or_file, uint64_t *id, vgen_err *err);

typedef struct vgen_embed_cache vgen_embed_cache;

/* Opens (creating it and its parents, mode 0755) the cache directory. Only NULL arguments and out-of-memory fail;
 * a directory that cannot be created or written is a warning through log (may be NULL) and gives a cache that only
 * misses. */
int vgen_embed_cache_open(const char *dir, const vgen_logger *log, vgen_embed_cache **out, vgen_err *err);
void vgen_embed_cache_free(vgen_embed_cache **c);
/* 1 if entries can be stored. */
int vgen_embed_cache_writable(const vgen_embed_cache *c);

/* The entry's file name for key k into buf: 0, or VGEN_ERR_INVALID_ARGUMENT if it does not fit. */
int vgen_embed_cache_entry_path(const vgen_embed_cache *c, const vgen_embed_key *k, char *buf, size_t size);

/* 1 and ctx[max_len * d_model] filled on a valid entry for k produced by tok; 0 on a miss (no entry, or a bad one:
 * warned). */
int vgen_embed_cache_get(vgen_embed_cache *c, const vgen_embed_key *k, const vgen_embed_tokens *tok, float *ctx);

/* Stores ctx[max_len * d_model] for k (atomically replacing any entry). Failures are warnings. */
void vgen_embed_cache_put(vgen_embed_cache *c, const vgen_embed_key *k, const vgen_embed_tokens *tok,
                          const float *ctx);

#endif

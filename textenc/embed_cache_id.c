/* embed_cache_id.c - the identities that key the embedding cache: of the encoder weights (shard names, sizes and
 * safetensors headers, the config), of the tokenizer (its files' bytes) and of a tokenization (ids and mask). All
 * FNV-1a 64 (embed_cache.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "embed_cache.h"

#define ID_CHUNK (1u << 16)

uint64_t vgen_embed_cache_ids_hash(const int32_t *ids, const uint8_t *mask, int64_t max_len) {
    uint64_t h = VGEN_FNV1A64_INIT;
    for (int64_t i = 0; i < max_len; i++) {
        const uint32_t u = (uint32_t)ids[i];
        unsigned char b[5] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                              (unsigned char)(u >> 24), mask[i] != 0};
        h = vgen_fnv1a64(h, b, sizeof b);
    }
    return h;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* h over the first `limit` bytes of the file at path (all of it when limit is 0); *size = the file's size. */
static int hash_file(const char *path, uint64_t limit, uint64_t *h, uint64_t *size, vgen_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return vgen_io_error(err, path, "open", errno);
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return vgen_io_error(err, path, "stat", errno);
    }
    *size = (uint64_t)st.st_size;
    unsigned char *buf = malloc(ID_CHUNK);
    int rc = buf ? VGEN_OK : vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a read buffer");
    uint64_t left = limit ? limit : *size;
    while (!rc && left > 0) {
        size_t want = left < ID_CHUNK ? (size_t)left : ID_CHUNK;
        size_t got = fread(buf, 1, want, f);
        if (got == 0) {
            rc = vgen_io_error(err, path, "read", ferror(f) ? errno : EIO);
            break;
        }
        *h = vgen_fnv1a64(*h, buf, got);
        left -= got;
    }
    free(buf);
    fclose(f);
    return rc;
}

/* The 8-byte length field of a safetensors file: how many bytes its header spans, length field included. */
static int header_span(const char *path, uint64_t *span, vgen_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return vgen_io_error(err, path, "open", errno);
    unsigned char b[8];
    size_t got = fread(b, 1, 8, f);
    fclose(f);
    if (got != 8) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: shorter than a safetensors length field", path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | b[i];
    if (n > VGEN_ST_MAX_HEADER) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: header too long", path);
    *span = 8 + n;
    return VGEN_OK;
}

int vgen_embed_cache_weights_id(const vgen_st_set *set, const char *config_path, uint64_t *id, vgen_err *err) {
    uint64_t h = vgen_fnv1a64(VGEN_FNV1A64_INIT, "vgen-umt5-weights", 17);
    for (size_t i = 0; i < vgen_st_shard_count(set); i++) {
        const char *path = vgen_st_shard_path(set, (int)i);
        const char *name = base_name(path);
        uint64_t span = 0, size = 0, hh = VGEN_FNV1A64_INIT;
        int rc = header_span(path, &span, err);
        if (!rc) rc = hash_file(path, span, &hh, &size, err);
        if (rc) return rc;
        h = vgen_fnv1a64(h, name, strlen(name) + 1);
        h = vgen_fnv1a64(h, &size, sizeof size);
        h = vgen_fnv1a64(h, &hh, sizeof hh);
    }
    if (config_path) {
        uint64_t size = 0;
        h = vgen_fnv1a64(h, "config.json", 12);
        int rc = hash_file(config_path, 0, &h, &size, err);
        if (rc) return rc;
    }
    *id = h;
    return VGEN_OK;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int vgen_embed_cache_tokenizer_id(const char *dir_or_file, uint64_t *id, vgen_err *err) {
    static const char *const files[] = {"tokenizer.json", "spiece.model", "tokenizer_config.json"};
    uint64_t h = vgen_fnv1a64(VGEN_FNV1A64_INIT, "vgen-tokenizer", 14), size = 0;
    if (!is_dir(dir_or_file)) {
        const char *name = base_name(dir_or_file);
        h = vgen_fnv1a64(h, name, strlen(name) + 1);
        int rc = hash_file(dir_or_file, 0, &h, &size, err);
        *id = h;
        return rc;
    }
    int found = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/%s", dir_or_file, files[i]);
        struct stat st;
        if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0) continue;
        h = vgen_fnv1a64(h, files[i], strlen(files[i]) + 1);
        int rc = hash_file(path, 0, &h, &size, err);
        if (rc) return rc;
        found++;
    }
    if (!found)
        return vgen_err_set(err, VGEN_ERR_NOT_FOUND, "%s: no tokenizer.json or spiece.model", dir_or_file);
    *id = h;
    return VGEN_OK;
}

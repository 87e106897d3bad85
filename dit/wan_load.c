/* wan_load.c - vgen_dit_load: open the checkpoint, find its layout and configuration, then walk the tensor table
 * (globals, then block by block), checking every tensor and quantizing block linears when asked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wan_internal.h"

void vgen_dit_params_init(vgen_dit_params *p) {
    memset(p, 0, sizeof *p);
    p->compute = VGEN_DTYPE_BF16;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The config.json of a diffusers transformer folder: path itself is the folder, or its sharded index file. */
static int diffusers_config(const char *path, char *buf, size_t size) {
    int n = -1;
    if (is_dir(path)) {
        n = snprintf(buf, size, "%s/config.json", path);
    } else if (ends_with(path, ".safetensors.index.json")) {
        const char *slash = strrchr(path, '/');
        int dir_len = slash ? (int)(slash - path) : 1;
        n = snprintf(buf, size, "%.*s/config.json", dir_len, slash ? path : ".");
    }
    return n > 0 && (size_t)n < size && file_exists(buf);
}

/* config.json when given or beside the weights in a diffusers folder; else derived from the shapes. */
static int load_config(const char *path, const vgen_dit_params *p, vgen_dit_model *m, vgen_err *err) {
    char cfg[4096];
    if (p->config_path) return vgen_wan_config_read(p->config_path, &m->cfg, err);
    if (diffusers_config(path, cfg, sizeof cfg)) return vgen_wan_config_read(cfg, &m->cfg, err);
    VGEN_LOGI(p->log, "%s: no config.json, configuration derived from the tensor shapes (head_dim 128)", path);
    return vgen_wan_config_derive(m->set, m->layout, &m->cfg, err);
}

static int check_block_count(const vgen_dit_model *m, vgen_err *err) {
    int64_t stored = wan_stored_blocks(m->set, m->layout);
    if (stored > m->cfg.layers)
        return vgen_err_set(err, VGEN_ERR_SHAPE, "the checkpoint holds %lld blocks but the configuration says "
                            "num_layers = %lld", (long long)stored, (long long)m->cfg.layers);
    return VGEN_OK; /* fewer blocks: the first missing tensor is reported by name */
}

static int load_slots(wan_load_ctx *lc, vgen_wan_layout l, const vgen_wan_config *c, const wan_slot *slots,
                      size_t n, int64_t block, void *base, vgen_err *err) {
    for (size_t i = 0; i < n; i++) {
        char name[512];
        int64_t shape[5];
        int rank = wan_slot_shape(&slots[i], c, shape);
        if (wan_slot_name(l, &slots[i], block, name, sizeof name))
            return vgen_err_set(err, VGEN_ERR_INTERNAL, "tensor name too long");
        int rc = wan_load_slot(lc, &slots[i], name, shape, rank, (char *)base + slots[i].offset, err);
        if (rc) return rc;
    }
    return VGEN_OK;
}

static void free_slots(const wan_slot *slots, size_t n, void *base) {
    for (size_t i = 0; i < n; i++) {
        void *dst = (char *)base + slots[i].offset;
        if (slots[i].kind == WAN_K_LINEAR || slots[i].kind == WAN_K_PATCH) {
            wan_linear_release(dst);
        } else {
            float **v = dst;
            free(*v);
            *v = NULL;
        }
    }
}

static int load_weights(vgen_dit_model *m, const vgen_dit_params *p, wan_load_ctx *lc, vgen_err *err) {
    m->blocks = calloc((size_t)m->cfg.layers, sizeof *m->blocks);
    if (!m->blocks) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %lld blocks",
                                        (long long)m->cfg.layers);
    int rc = load_slots(lc, m->layout, &m->cfg, wan_global_slots, wan_global_slot_count, -1, &m->g, err);
    for (int64_t b = 0; !rc && b < m->cfg.layers; b++) {
        rc = load_slots(lc, m->layout, &m->cfg, wan_block_slots, wan_block_slot_count, b, &m->blocks[b], err);
        VGEN_LOGD(p->log, "DiT block %lld/%lld loaded", (long long)b + 1, (long long)m->cfg.layers);
    }
    m->owned_bytes = lc->owned_bytes;
    m->mapped_bytes = lc->mapped_bytes;
    return rc;
}

static int parse_options(const vgen_dit_params *p, wan_load_ctx *lc, vgen_err *err) {
    if (p->compute != VGEN_DTYPE_F32 && p->compute != VGEN_DTYPE_BF16)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "DiT compute dtype %s: expected f32 or bf16",
                            vgen_dtype_name(p->compute));
    lc->compute = p->compute;
    lc->pool = p->pool;
    if (!p->dit_format || !p->dit_format[0]) return VGEN_OK;
    if (vgen_wformat_from_name(p->dit_format, &lc->format))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "dit_format \"%s\" is not a weight format name "
                            "(int8_row, fp8_e4m3_row, fp8_e4m3_tensor, int4_g32, int4_g64_zp, bf16, ...)",
                            p->dit_format);
    lc->quantize = 1;
    return VGEN_OK;
}

static int load_into(vgen_dit_model *m, const char *path, const vgen_dit_params *p, vgen_err *err) {
    wan_load_ctx lc = {0};
    int rc = parse_options(p, &lc, err);
    if (!rc) rc = vgen_st_open(path, &m->set, err);
    if (!rc) rc = vgen_wan_layout_detect(m->set, &m->layout, err);
    if (!rc) rc = load_config(path, p, m, err);
    if (!rc) rc = check_block_count(m, err);
    if (rc) return rc;
    m->compute = p->compute;
    lc.set = m->set;
    return load_weights(m, p, &lc, err);
}

int vgen_dit_load(const char *path, const vgen_dit_params *p, vgen_dit_model **out, vgen_err *err) {
    if (!out || !path) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_dit_load: NULL argument");
    *out = NULL;
    vgen_dit_params defaults;
    if (!p) {
        vgen_dit_params_init(&defaults);
        p = &defaults;
    }
    vgen_dit_model *m = calloc(1, sizeof *m);
    if (!m) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the DiT model");
    int rc = load_into(m, path, p, err);
    if (rc) {
        vgen_dit_free(&m);
        return rc;
    }
    VGEN_LOGI(p->log, "DiT %s (%s): %lld layers, dim %lld, %zu MB owned + %zu MB mapped", path,
              vgen_wan_layout_name(m->layout), (long long)m->cfg.layers, (long long)m->cfg.dim, m->owned_bytes >> 20,
              m->mapped_bytes >> 20);
    *out = m;
    return VGEN_OK;
}

void vgen_dit_free(vgen_dit_model **pm) {
    if (!pm || !*pm) return;
    vgen_dit_model *m = *pm;
    free_slots(wan_global_slots, wan_global_slot_count, &m->g);
    for (int64_t b = 0; m->blocks && b < m->cfg.layers; b++)
        free_slots(wan_block_slots, wan_block_slot_count, &m->blocks[b]);
    free(m->blocks);
    vgen_st_close(&m->set);
    free(m);
    *pm = NULL;
}

const vgen_wan_config *vgen_dit_config(const vgen_dit_model *m) { return &m->cfg; }
vgen_wan_layout vgen_dit_layout(const vgen_dit_model *m) { return m->layout; }
vgen_dtype vgen_dit_compute(const vgen_dit_model *m) { return m->compute; }
size_t vgen_dit_owned_bytes(const vgen_dit_model *m) { return m->owned_bytes; }
size_t vgen_dit_mapped_bytes(const vgen_dit_model *m) { return m->mapped_bytes; }
vgen_wformat vgen_dit_block_format(const vgen_dit_model *m) { return m->blocks[0].sa_q.w.format; }

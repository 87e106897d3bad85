/* quantize.c - vgen_quantize_file: a streaming safetensors-to-safetensors quantizer.
 *
 * Plan first (every output tensor must be declared before any data is written), then stream tensor by tensor:
 * a kept tensor is copied straight from the mapping; a quantized one is converted to f32, quantized by the
 * reference quantizer and written as [scale][data][zero] (qfile.h). The input pages of each tensor are dropped
 * after use, so the resident set stays near the largest tensor's f32 copy whatever the file size.
 * Tensors keep their alignment: a small "__vgen_pad.N" U8 tensor is inserted where a tensor would otherwise start
 * at an offset that is not a multiple of its element size (scales are read in place as float32).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "context.h"
#include "mmap_evict.h"
#include "numeric.h"
#include "qfile.h"
#include "quant_rules.h"
#include "safetensors.h"

typedef struct qitem {
    const vgen_st_tensor *in;
    int action;                          /* VGEN_RULE_KEEP or a vgen_wformat */
    size_t pad_before;                   /* bytes of padding declared just before this item */
    size_t n_parts;                      /* output tensors: 1 when kept, 1-3 when quantized */
    char part_names[2][VGEN_QFILE_NAME_MAX];
} qitem;

typedef struct qplan {
    qitem *items;
    size_t n_items;
    vgen_st_decl *decls;
    size_t n_decls;
    char (*pad_names)[32];
    size_t n_pads;
    const char **meta_keys;
    const char **meta_values;
    char **meta_owned;                   /* strings this plan allocated */
    size_t n_meta, n_owned;
} qplan;

static void plan_free(qplan *p) {
    for (size_t i = 0; i < p->n_owned; i++) free(p->meta_owned[i]);
    free(p->meta_owned);
    free(p->meta_keys);
    free(p->meta_values);
    free(p->pad_names);
    free(p->decls);
    free(p->items);
    memset(p, 0, sizeof *p);
}

static uint64_t decl_bytes(const vgen_st_decl *d) {
    uint64_t n = vgen_st_dtype_size(d->dtype);
    for (int i = 0; i < d->n_dims; i++) n *= (uint64_t)d->shape[i];
    return n;
}

/* Output declarations of one item, in file order. */
static int item_decls(qitem *it, vgen_st_decl out[3], vgen_err *err) {
    const vgen_st_tensor *t = it->in;
    if (it->action == VGEN_RULE_KEEP) {
        out[0] = (vgen_st_decl){.name = t->name, .dtype = t->dtype, .n_dims = t->n_dims};
        memcpy(out[0].shape, t->shape, sizeof out[0].shape);
        it->n_parts = 1;
        return VGEN_OK;
    }
    vgen_st_decl d[3];
    int rc = vgen_qfile_declare((vgen_wformat)it->action, t->name, t->shape[0], t->shape[1], d, it->part_names,
                                &it->n_parts, err);
    if (rc) return rc;
    /* declare [scale][data][zero]: the float scales first, so only they may need padding */
    if (it->n_parts == 1) {
        out[0] = d[0];
    } else {
        out[0] = d[1];
        out[1] = d[0];
        if (it->n_parts == 3) out[2] = d[2];
    }
    return VGEN_OK;
}

static int add_meta(qplan *p, const char *key, const char *value, int own_key, int own_value, vgen_err *err) {
    const char **k = realloc(p->meta_keys, (p->n_meta + 1) * sizeof *k);
    if (k) p->meta_keys = k;
    const char **v = realloc(p->meta_values, (p->n_meta + 1) * sizeof *v);
    if (v) p->meta_values = v;
    char **o = realloc(p->meta_owned, (p->n_owned + 2) * sizeof *o);
    if (o) p->meta_owned = o;
    if (!k || !v || !o) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate metadata");
    p->meta_keys[p->n_meta] = key;
    p->meta_values[p->n_meta] = value;
    p->n_meta++;
    if (own_key) p->meta_owned[p->n_owned++] = (char *)key;
    if (own_value) p->meta_owned[p->n_owned++] = (char *)value;
    return VGEN_OK;
}

static int add_item_meta(qplan *p, const qitem *it, vgen_err *err) {
    char *fkey = malloc(VGEN_QFILE_NAME_MAX + 16), *skey = malloc(VGEN_QFILE_NAME_MAX + 16), *shape = malloc(48);
    int rc = (!fkey || !skey || !shape) ? vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate metadata") : 0;
    if (!rc && (vgen_qfile_meta_key("format", it->in->name, fkey, VGEN_QFILE_NAME_MAX + 16) ||
                vgen_qfile_meta_key("shape", it->in->name, skey, VGEN_QFILE_NAME_MAX + 16)))
        rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "tensor name too long: %.64s...", it->in->name);
    if (rc) {
        free(fkey), free(skey), free(shape);
        return rc;
    }
    snprintf(shape, 48, "%" PRId64 ",%" PRId64, it->in->shape[0], it->in->shape[1]);
    rc = add_meta(p, fkey, vgen_wformat_get((vgen_wformat)it->action)->name, 1, 0, err);
    if (rc) {
        free(skey), free(shape);
        return rc;
    }
    return add_meta(p, skey, shape, 1, 1, err);
}

/* Metadata: the input's own entries (except an earlier vgen.quantized), then vgen's. */
static int plan_metadata(qplan *p, const vgen_st_set *in, vgen_err *err) {
    int rc = VGEN_OK;
    for (size_t i = 0; !rc && i < vgen_st_metadata_count(in); i++) {
        const char *k, *v;
        vgen_st_metadata_at(in, i, &k, &v);
        if (strcmp(k, "vgen.quantized") != 0 && strcmp(k, "vgen.version") != 0) rc = add_meta(p, k, v, 0, 0, err);
    }
    if (!rc) rc = add_meta(p, "vgen.quantized", "1", 0, 0, err);
    if (!rc) rc = add_meta(p, "vgen.version", vgen_version_string(), 0, 0, err);
    for (size_t i = 0; !rc && i < p->n_items; i++)
        if (p->items[i].action != VGEN_RULE_KEEP) rc = add_item_meta(p, &p->items[i], err);
    return rc;
}

/* Appends a padding declaration if offset is not aligned for the item's first tensor. */
static void plan_padding(qplan *p, qitem *it, const vgen_st_decl *first, uint64_t *offset) {
    uint64_t align = vgen_st_dtype_size(first->dtype);
    uint64_t rem = align > 1 ? *offset % align : 0;
    if (rem == 0) return;
    it->pad_before = (size_t)(align - rem);
    snprintf(p->pad_names[p->n_pads], sizeof p->pad_names[0], "__vgen_pad.%zu", p->n_pads);
    p->decls[p->n_decls++] = (vgen_st_decl){.name = p->pad_names[p->n_pads], .dtype = VGEN_ST_U8, .n_dims = 1,
                                            .shape = {(int64_t)it->pad_before}};
    p->n_pads++;
    *offset += it->pad_before;
}

static int plan_build(qplan *p, const vgen_st_set *in, const vgen_quant_rules *rules, vgen_err *err) {
    memset(p, 0, sizeof *p);
    size_t n = vgen_st_count(in);
    p->items = calloc(n ? n : 1, sizeof *p->items);
    p->decls = calloc(4 * n + 1, sizeof *p->decls);
    p->pad_names = calloc(n ? n : 1, sizeof *p->pad_names);
    if (!p->items || !p->decls || !p->pad_names)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate a plan for %zu tensors", n);
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        qitem *it = &p->items[p->n_items++];
        it->in = vgen_st_at(in, i);
        it->action = vgen_quant_rules_decide(rules, it->in);
        vgen_st_decl d[3];
        int rc = item_decls(it, d, err);
        if (rc) return rc;
        plan_padding(p, it, &d[0], &offset);
        for (size_t k = 0; k < it->n_parts; k++) {
            p->decls[p->n_decls++] = d[k];
            offset += decl_bytes(&d[k]);
        }
    }
    return plan_metadata(p, in, err);
}

/* ---- streaming ---- */

typedef struct qbuffers {
    float *w;          /* [N, K] f32 copy of the input */
    void *data;
    float *scales;
    uint8_t *zeros;
} qbuffers;

static void buffers_free(qbuffers *b) {
    free(b->w);
    free(b->data);
    free(b->scales);
    free(b->zeros);
    memset(b, 0, sizeof *b);
}

/* in: [N, K] F32/F16/BF16 at any alignment -> w: [N, K] f32 */
static void to_f32(const vgen_st_tensor *t, float *w, size_t numel) {
    const unsigned char *src = t->data;
    for (size_t i = 0; i < numel; i++) {
        if (t->dtype == VGEN_ST_F32) {
            memcpy(&w[i], src + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            w[i] = t->dtype == VGEN_ST_BF16 ? vgen_bf16_to_f32(h) : vgen_f16_to_f32(h);
        }
    }
}

static int quantize_item(const qitem *it, qbuffers *b, size_t sizes[3], vgen_err *err) {
    vgen_wformat f = (vgen_wformat)it->action;
    int64_t n = it->in->shape[0], k = it->in->shape[1];
    size_t numel, n_scales, n_zeros, wbytes;
    if (!vgen_mul_size((size_t)n, (size_t)k, &numel) || !vgen_mul_size(numel, sizeof(float), &wbytes))
        return vgen_err_set(err, VGEN_ERR_SHAPE, "tensor %s is too large", it->in->name);
    int rc = vgen_wformat_data_bytes(f, n, k, &sizes[0]);
    if (!rc) rc = vgen_wformat_scale_count(f, n, k, &n_scales);
    if (!rc) rc = vgen_wformat_zero_count(f, n, k, &n_zeros);
    if (rc) return vgen_err_set(err, rc, "tensor %s: bad shape for quantization", it->in->name);
    sizes[1] = n_scales * sizeof(float);
    sizes[2] = n_zeros;
    b->w = malloc(wbytes);
    b->data = malloc(sizes[0] ? sizes[0] : 1);
    b->scales = malloc(sizes[1] ? sizes[1] : 1);
    b->zeros = malloc(sizes[2] ? sizes[2] : 1);
    if (!b->w || !b->data || !b->scales || !b->zeros)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "tensor %s: cannot allocate %zu bytes to quantize it",
                            it->in->name, wbytes + sizes[0] + sizes[1] + sizes[2]);
    to_f32(it->in, b->w, numel);
    rc = vgen_wformat_quantize(f, b->w, n, k, b->data, b->scales, b->zeros, err);
    if (rc) return vgen_err_prefix(err, "tensor %s", it->in->name);
    return VGEN_OK;
}

static int write_item(vgen_st_writer *w, const qitem *it, vgen_err *err) {
    static const unsigned char zeros[8] = {0};
    int rc = it->pad_before ? vgen_st_writer_write(w, zeros, it->pad_before, err) : VGEN_OK;
    if (rc) return rc;
    if (it->action == VGEN_RULE_KEEP) {
        rc = vgen_st_writer_write(w, it->in->data, (size_t)it->in->n_bytes, err);
        vgen_mmap_evict(it->in->data, (size_t)it->in->n_bytes);
        return rc;
    }
    qbuffers b = {0};
    size_t sizes[3];
    rc = quantize_item(it, &b, sizes, err);
    vgen_mmap_evict(it->in->data, (size_t)it->in->n_bytes);
    if (!rc && it->n_parts > 1) rc = vgen_st_writer_write(w, b.scales, sizes[1], err);
    if (!rc) rc = vgen_st_writer_write(w, b.data, sizes[0], err);
    if (!rc && it->n_parts > 2) rc = vgen_st_writer_write(w, b.zeros, sizes[2], err);
    buffers_free(&b);
    return rc;
}

static int stream(const qplan *p, const char *out_path, const vgen_quantize_params *qp, vgen_err *err) {
    vgen_st_writer *w = NULL;
    int rc = vgen_st_writer_open(out_path, p->decls, p->n_decls, p->meta_keys, p->meta_values, p->n_meta, &w, err);
    for (size_t i = 0; !rc && i < p->n_items; i++) {
        if (qp->abort && qp->abort(qp->abort_user_data)) {
            rc = vgen_err_set(err, VGEN_ERR_ABORTED, "quantization aborted after %zu of %zu tensors", i, p->n_items);
            break;
        }
        rc = write_item(w, &p->items[i], err);
        if (!rc && qp->progress) qp->progress((int64_t)i + 1, (int64_t)p->n_items, qp->progress_user_data);
    }
    if (rc) {
        vgen_st_writer_abort(&w);
        return rc;
    }
    return vgen_st_writer_finish(&w, err);
}

vgen_quantize_params vgen_quantize_params_init(void) {
    vgen_quantize_params p = {0};
    p.format = "int8";
    return p;
}

vgen_status vgen_quantize_file(vgen_context *ctx, const char *in_path, const char *out_path,
                               const vgen_quantize_params *params) {
    if (!ctx) return VGEN_ERR_INVALID_ARGUMENT;
    vgen_err_clear(&ctx->err);
    if (!in_path || !out_path || !params)
        return vgen_ctx_fail(ctx, &(vgen_err){VGEN_ERR_INVALID_ARGUMENT, "vgen_quantize_file: NULL argument"});
    vgen_quant_rules rules;
    int rc = vgen_quant_rules_init(&rules, params->format, params->keep_patterns, params->n_keep_patterns,
                                   params->rules_file, &ctx->err);
    if (rc) return vgen_ctx_fail(ctx, &ctx->err);
    vgen_st_set *in = NULL;
    qplan plan = {0};
    rc = vgen_st_open(in_path, &in, &ctx->err);
    if (!rc) rc = plan_build(&plan, in, &rules, &ctx->err);
    if (!rc) rc = stream(&plan, out_path, params, &ctx->err);
    plan_free(&plan);
    vgen_st_close(&in);
    vgen_quant_rules_free(&rules);
    return rc ? vgen_ctx_fail(ctx, &ctx->err) : VGEN_OK;
}

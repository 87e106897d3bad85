/* umt5_place.c - the encoder's weights on a backend's device (umt5_internal.h, umt5_place): all resident in one
 * device buffer, layer after layer and then the final norm, every piece (matrix data, scales, zero points, norm
 * weights, bias table) at a 64-byte-aligned offset. Each layer is packed into a host staging image and uploaded,
 * so the host holds one layer's image at a time. On a host-addressable backend the model's own pointers are used
 * and nothing is copied. The embedding table stays on the host: encode gathers the prompt's rows there. */
#include <stdlib.h>
#include <string.h>

#include "device_image.h"
#include "umt5_internal.h"

/* ---- image layout (core/device_image.h): one walk serves measuring, packing and pointing at a device copy ---- */

typedef vgen_image_walk layout;

static void matrix_layout(layout *l, umt5_matrix *dst, const umt5_matrix *src) {
    *dst = *src;
    dst->own = NULL, dst->own_bytes = 0; /* the copy owns nothing */
    vgen_image_qmatrix(l, &dst->w, &src->w);
}

static float *vec(layout *l, const float *src, int64_t n) { return vgen_image_floats(l, src, n); }

/* One layer: q, k, v, o, wi_0, wi_1, wo, the two norms [D] and the bias table [Nh, B]. Returns its image bytes. */
static size_t layer_layout(layout *l, const vgen_umt5_config *c, umt5_layer *dst, const umt5_layer *src) {
    const umt5_matrix *in[] = {&src->q, &src->k, &src->v, &src->o, &src->wi0, &src->wi1, &src->wo};
    umt5_matrix *out[] = {&dst->q, &dst->k, &dst->v, &dst->o, &dst->wi0, &dst->wi1, &dst->wo};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) matrix_layout(l, out[i], in[i]);
    dst->ln_attn = vec(l, src->ln_attn, c->d_model);
    dst->ln_ffn = vec(l, src->ln_ffn, c->d_model);
    dst->rel_bias = vec(l, src->rel_bias, c->heads * c->buckets);
    return vgen_image_bytes(l);
}

/* Packs layer b into img (sized by a measuring walk), uploads it at dev and points p->dev_layers[b] there. */
static int upload_layer(const vgen_umt5_model *m, vgen_backend *be, umt5_place *p, int64_t b, uint8_t *dev,
                        uint8_t *img, size_t *bytes, vgen_err *err) {
    layout l = {.image = img};
    *bytes = layer_layout(&l, &m->cfg, &p->dev_layers[b], &m->layers[b]);
    int rc = be->upload(be, dev, img, *bytes, err);
    l = (layout){.base = dev};
    layer_layout(&l, &m->cfg, &p->dev_layers[b], &m->layers[b]);
    return rc;
}

/* Every layer, then the final norm, uploaded through one staging image of the largest layer's size. */
static int place_device(const vgen_umt5_model *m, vgen_backend *be, umt5_place *p, vgen_err *err) {
    const int64_t layers = m->cfg.layers;
    size_t max_layer = 0, total = 0;
    for (int64_t b = 0; b < layers; b++) {
        layout l = {0};
        umt5_layer tmp;
        const size_t bytes = layer_layout(&l, &m->cfg, &tmp, &m->layers[b]);
        total += bytes;
        if (bytes > max_layer) max_layer = bytes;
    }
    const size_t fin = vgen_round64((size_t)m->cfg.d_model * sizeof(float));
    p->buf = be->alloc(be, total + fin, err);
    if (!p->buf) return vgen_err_code(err, VGEN_ERR_OUT_OF_MEMORY);
    p->bytes = total + fin;
    uint8_t *img = malloc(max_layer > fin ? max_layer : fin);
    if (!img) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of UMT5 staging", max_layer);
    uint8_t *dev = p->buf;
    int rc = VGEN_OK;
    for (int64_t b = 0; !rc && b < layers; b++) {
        size_t bytes = 0;
        rc = upload_layer(m, be, p, b, dev, img, &bytes, err);
        dev += bytes;
    }
    if (!rc) rc = be->upload(be, dev, m->ln_final, (size_t)m->cfg.d_model * sizeof(float), err);
    p->ln_final = (const float *)dev;
    free(img);
    return rc;
}

int umt5_place_new(const vgen_umt5_model *m, vgen_backend *be, umt5_place *p, vgen_err *err) {
    *p = (umt5_place){.layers = m->layers, .ln_final = m->ln_final};
    if (be->host_addressable) return VGEN_OK;
    p->dev_layers = calloc((size_t)m->cfg.layers, sizeof *p->dev_layers);
    if (!p->dev_layers) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the UMT5 placement");
    p->layers = p->dev_layers;
    int rc = place_device(m, be, p, err);
    if (rc) umt5_place_free(be, p);
    return rc;
}

void umt5_place_free(vgen_backend *be, umt5_place *p) {
    if (p->buf) be->buf_free(be, p->buf, p->bytes);
    free(p->dev_layers);
    *p = (umt5_place){0};
}

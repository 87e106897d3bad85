/* wan_vae_place.c - the decoder's weights on the backend's device. Every weight lives in the model's one f32
 * storage block, so a backend whose memory the host cannot address gets that block uploaded once per decode into
 * one buffer, and a copy of the model struct whose weight pointers are moved by the same offset (conv weight
 * tensors marked as on the backend's device). Host-addressable backends use the loaded weights in place. */
#include <stdlib.h>
#include <string.h>

#include "wan_vae_internal.h"

typedef struct rebase {
    const float *from;      /* m->storage */
    float *to;              /* the device copy */
    vgen_device device;
} rebase;

static const float *rb(const rebase *r, const float *p) { return p ? r->to + (p - r->from) : NULL; }

static void rb_conv(const rebase *r, wvae_conv *c) {
    c->w.data = (void *)rb(r, c->w.data);
    c->w.device = r->device;
    c->b = rb(r, c->b);
}

static void rb_res(const rebase *r, wvae_res *x) {
    x->gamma1 = rb(r, x->gamma1), x->gamma2 = rb(r, x->gamma2);
    rb_conv(r, &x->conv1), rb_conv(r, &x->conv2);
    if (x->has_shortcut) rb_conv(r, &x->shortcut);
}

static void rb_attn(const rebase *r, wvae_attn *a) {
    vgen_qmatrix *q[4] = {&a->wq, &a->wk, &a->wv, &a->wp};
    for (int i = 0; i < 4; i++) q[i]->data = rb(r, q[i]->data);
    a->gamma = rb(r, a->gamma);
    a->bq = rb(r, a->bq), a->bk = rb(r, a->bk), a->bv = rb(r, a->bv), a->bp = rb(r, a->bp);
}

static void rb_model(const rebase *r, vgen_wan_vae *m) {
    rb_conv(r, &m->post_quant), rb_conv(r, &m->conv_in), rb_conv(r, &m->conv_out);
    rb_res(r, &m->mid_res[0]), rb_res(r, &m->mid_res[1]);
    rb_attn(r, &m->attn);
    for (int i = 0; i < m->cfg.n_levels; i++) {
        wvae_level *lv = &m->levels[i];
        for (int j = 0; j < lv->n_res; j++) rb_res(r, &lv->res[j]);
        if (lv->upsample) rb_conv(r, &lv->resample);
        if (lv->upsample == 3) rb_conv(r, &lv->time_conv);
    }
    m->norm_out_gamma = rb(r, m->norm_out_gamma);
    m->storage = NULL; /* the copy owns nothing */
}

int wvae_place(const vgen_wan_vae *m, vgen_backend *be, wvae_placed *p, vgen_err *err) {
    memset(p, 0, sizeof *p);
    p->m = m, p->be = be;
    if (be->host_addressable) return VGEN_OK;
    p->bytes = m->storage_floats * sizeof(float);
    p->copy = malloc(sizeof *p->copy);
    if (!p->copy) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot allocate the placed model");
    if (!(p->dev = be->alloc(be, p->bytes, err))) {
        wvae_unplace(p);
        return err && err->code ? err->code : VGEN_ERR_OUT_OF_MEMORY;
    }
    int rc = be->upload(be, p->dev, m->storage, p->bytes, err);
    if (rc) {
        wvae_unplace(p);
        return rc;
    }
    *p->copy = *m;
    const rebase r = {m->storage, p->dev, be->device};
    rb_model(&r, p->copy);
    p->m = p->copy;
    return VGEN_OK;
}

void wvae_unplace(wvae_placed *p) {
    if (p->dev) {
        vgen_err ignored = {0};
        (void)p->be->synchronize(p->be, &ignored); /* queued ops may still read the weights */
        p->be->buf_free(p->be, p->dev, p->bytes);
    }
    free(p->copy);
    memset(p, 0, sizeof *p);
}

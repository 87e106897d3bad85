/* wan_forward.c - one DiT forward: patch embedding, time and text embeddings, the blocks, the modulated head and
 * unpatchify (diffusers WanTransformer3DModel.forward, batch 1). */
#include "wan_internal.h"

/* Every op the forward calls; a backend lacking one is refused before anything runs. */
static int check_backend(const vgen_backend *be, vgen_err *err) {
    static const struct {
        vgen_op op;
        const char *name;
    } ops[] = {{VGEN_OP_LINEAR, "linear"}, {VGEN_OP_LAYER_NORM, "layer_norm"}, {VGEN_OP_RMS_NORM, "rms_norm"},
               {VGEN_OP_ROPE, "rope"}, {VGEN_OP_ATTENTION, "attention"}, {VGEN_OP_UNARY, "unary"},
               {VGEN_OP_GATED_ADD, "gated_add"}, {VGEN_OP_CONVERT, "convert"}, {VGEN_OP_BINARY, "binary"}};
    const void *fns[] = {(const void *)be->linear, (const void *)be->layer_norm, (const void *)be->rms_norm,
                         (const void *)be->rope, (const void *)be->attention, (const void *)be->unary,
                         (const void *)be->gated_add, (const void *)be->convert, (const void *)be->binary};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!fns[i]) return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "backend %s has no %s op, which the DiT needs",
                                         be->name, ops[i].name);
    return VGEN_OK;
}

static int check_io(const vgen_tensor *t, const char *what, int rank, const int64_t *shape, vgen_err *err) {
    int ok = t && t->data && t->dtype == VGEN_DTYPE_F32 && t->device == VGEN_DEVICE_CPU && t->n_dims == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->shape[i] == shape[i];
    if (ok) return VGEN_OK;
    char want[96], got[96] = "";
    if (t) vgen_shape_str(t->shape, t->n_dims, got, sizeof got);
    return vgen_err_set(err, VGEN_ERR_SHAPE, "DiT forward: %s is %s %s, expected f32 %s", what,
                        t ? vgen_dtype_name(t->dtype) : "NULL", got, vgen_shape_str(shape, rank, want, sizeof want));
}

static int check_inputs(const vgen_dit_session *s, const vgen_tensor *latent, const vgen_tensor *context,
                        const vgen_tensor *out, vgen_err *err) {
    const vgen_wan_config *c = &s->m->cfg;
    const int64_t in[4] = {c->in_channels, s->p.frames, s->p.height, s->p.width};
    const int64_t o[4] = {c->out_channels, s->p.frames, s->p.height, s->p.width};
    const int64_t ctx[2] = {s->p.ctx_len, c->text_dim};
    int rc = check_io(latent, "latent", 4, in, err);
    if (!rc) rc = check_io(context, "context", 2, ctx, err);
    if (!rc) rc = check_io(out, "output", 4, o, err);
    return rc;
}

int wan_head_forward(vgen_dit_session *s, vgen_err *err) {
    vgen_backend *be = s->be;
    wan_acts *a = &s->a;
    const int64_t d = s->m->cfg.dim;
    const float eps = s->m->cfg.eps;
    int rc = VGEN_OK;
    if (s->p.hook) { /* the un-modulated norm, only to show it */
        rc = be->layer_norm(be, &a->x, NULL, NULL, NULL, NULL, eps, &a->h, err);
        if (!rc) wan_hook(s, -1, "head.norm_out.out", &a->h);
    }
    /* h[L, D] = LN(x) * (1 + scale) + shift with (shift, scale) = head_mod[0], head_mod[1] */
    if (!rc) rc = be->layer_norm(be, &a->x, NULL, NULL, a->head_mod, a->head_mod + d, eps, &a->h, err);
    if (!rc) wan_hook(s, -1, "head.modulated", &a->h);
    if (!rc) rc = be->linear(be, &a->h, &s->g->head.w, s->g->head.b, &a->proj, err); /* [L, 4 C_out] */
    if (!rc) wan_hook(s, -1, "head.proj_out", &a->proj);
    return rc;
}

/* out[C_out, F, H, W] (host) from proj [L, 4 C_out], downloaded first when the device is not the host. */
static int unpatchify(vgen_dit_session *s, vgen_tensor *out, vgen_err *err) {
    vgen_tensor host = s->a.proj;
    host.data = s->io.proj;
    int rc = VGEN_OK;
    if (host.data != s->a.proj.data)
        rc = s->be->download(s->be, host.data, s->a.proj.data, vgen_tensor_bytes(&host), err);
    if (!rc) wan_unpatchify(&host, s->m->cfg.out_channels, s->p.frames, s->p.height, s->p.width, out->data);
    return rc;
}

static int aborted(const vgen_dit_session *s, vgen_err *err) {
    if (s->p.abort && s->p.abort(s->p.abort_user_data))
        return vgen_err_set(err, VGEN_ERR_ABORTED, "DiT forward aborted");
    return VGEN_OK;
}

int vgen_dit_forward(vgen_dit_session *s, const vgen_tensor *latent, float t, const vgen_tensor *context,
                     vgen_tensor *out, vgen_err *err) {
    if (!s) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_dit_forward: NULL session");
    int rc = check_backend(s->be, err);
    if (!rc) rc = check_inputs(s, latent, context, out, err);
    if (rc) return rc;
    if (s->p.hook) {
        vgen_tensor rc_t = wan_f32_view(s, s->a.rope_cos, s->tokens, s->m->cfg.head_dim / 2);
        vgen_tensor rs_t = wan_f32_view(s, s->a.rope_sin, s->tokens, s->m->cfg.head_dim / 2);
        wan_hook(s, -1, "rope.cos", &rc_t);
        wan_hook(s, -1, "rope.sin", &rs_t);
    }
    rc = wan_place_begin(s->place, err);            /* the first streamed blocks' copies overlap the embeddings */
    if (!rc) rc = wan_embed_patches(s, latent->data, err); /* x [L, D] */
    if (!rc) rc = wan_embed_time(s, t, err);      /* tproj [6D], head_mod [2, D] */
    if (!rc) rc = wan_embed_text(s, context, err); /* ctx [Lc, D] */
    for (int64_t b = 0; !rc && b < s->m->cfg.layers; b++) {
        const wan_block *w = NULL;
        rc = aborted(s, err);
        if (!rc) rc = wan_place_block(s->place, b, &w, err);
        if (!rc) rc = wan_block_forward(s, w, b, err);
        if (!rc) rc = wan_place_done(s->place, b, err);
    }
    if (!rc) rc = wan_head_forward(s, err);
    return rc ? rc : unpatchify(s, out, err);
}

double vgen_dit_flops(const vgen_wan_config *c, int64_t tokens, int64_t ctx_len) {
    const double L = (double)tokens, Lc = (double)ctx_len, D = (double)c->dim, F = (double)c->ffn_dim;
    const double per_block = 2.0 * L * D * D * 4.0      /* self q, k, v, o */
                           + 2.0 * L * D * D * 2.0      /* cross q, o */
                           + 2.0 * Lc * D * D * 2.0     /* cross k, v */
                           + 2.0 * L * D * F * 2.0      /* ffn */
                           + 4.0 * L * L * D            /* self-attention QK^T and PV */
                           + 4.0 * L * Lc * D;          /* cross-attention */
    const double outside = 2.0 * L * D * 4.0 * (double)c->in_channels   /* patch embedding */
                         + 2.0 * L * D * 4.0 * (double)c->out_channels  /* head */
                         + 2.0 * Lc * D * ((double)c->text_dim + D)     /* text embedder */
                         + 2.0 * D * ((double)c->freq_dim + D + 6.0 * D); /* time path */
    return per_block * (double)c->layers + outside;
}

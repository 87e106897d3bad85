/* wan_embed.c - what surrounds the blocks: patchify / unpatchify (DiT-specific data movement, plain loops), the
 * sinusoidal timestep embedding, the time MLP with the head modulation, and the text MLP. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "device_image.h"
#include "elem_math.h"
#include "wan_internal.h"

static void store(vgen_tensor *t, int64_t i, float v) { vgen_elem_store(t->data, t->dtype, i, v); }
static float load(const vgen_tensor *t, int64_t i) { return vgen_elem_load(t->data, t->dtype, i); }

void wan_patchify(const float *latent, int64_t c_in, int64_t f, int64_t h, int64_t w, vgen_tensor *patches) {
    const int64_t hp = h / 2, wp = w / 2, k = 4 * c_in;
    for (int64_t fi = 0; fi < f; fi++)
        for (int64_t y = 0; y < hp; y++)
            for (int64_t x = 0; x < wp; x++) {
                const int64_t l = (fi * hp + y) * wp + x; /* token, f-major */
                for (int64_t c = 0; c < c_in; c++)
                    for (int64_t kh = 0; kh < 2; kh++)
                        for (int64_t kw = 0; kw < 2; kw++) {
                            const float v = latent[((c * f + fi) * h + 2 * y + kh) * w + 2 * x + kw]; /* [C,F,H,W] */
                            store(patches, l * k + c * 4 + kh * 2 + kw, v);                         /* [L, 4C] */
                        }
            }
}

void wan_unpatchify(const vgen_tensor *proj, int64_t c_out, int64_t f, int64_t h, int64_t w, float *out) {
    const int64_t hp = h / 2, wp = w / 2, n = 4 * c_out;
    for (int64_t fi = 0; fi < f; fi++)
        for (int64_t y = 0; y < hp; y++)
            for (int64_t x = 0; x < wp; x++) {
                const int64_t l = (fi * hp + y) * wp + x;
                for (int64_t b = 0; b < 2; b++)
                    for (int64_t d = 0; d < 2; d++)
                        for (int64_t c = 0; c < c_out; c++) { /* out [C, F, H, W] <- proj [L, (b, d, c)] */
                            const float v = load(proj, l * n + (b * 2 + d) * c_out + c);
                            out[((c * f + fi) * h + 2 * y + b) * w + 2 * x + d] = v;
                        }
            }
}

/* torch's get_timestep_embedding(flip_sin_to_cos=True, downscale_freq_shift=0) step by step in float32. */
void wan_timestep_sinusoid(float t, int64_t freq_dim, float *tsin) {
    const int64_t half = freq_dim / 2;
    const float c = (float)-log(10000.0);
    for (int64_t k = 0; k < half; k++) {
        const float e = c * (float)k / (float)half;
        const float arg = t * expf(e);
        tsin[k] = cosf(arg);        /* [freq_dim] = [cos | sin] */
        tsin[half + k] = sinf(arg);
    }
}

vgen_tensor wan_view2(const vgen_tensor *t, int64_t rows, int64_t cols) {
    vgen_tensor v = *t;
    v.owner = VGEN_OWNER_NONE;
    v.n_dims = 2;
    v.shape[0] = rows;
    v.shape[1] = cols;
    return v;
}

/* Device tensors are copied to the host for the hook (tests only: the cost does not matter). */
void wan_hook(const vgen_dit_session *s, int64_t bi, const char *what, const vgen_tensor *t) {
    if (!s->p.hook) return;
    char name[64];
    if (bi >= 0) snprintf(name, sizeof name, "block.%lld.%s", (long long)bi, what);
    else snprintf(name, sizeof name, "%s", what);
    if (s->be->host_addressable) {
        s->p.hook(name, t, s->p.hook_user_data);
        return;
    }
    vgen_tensor h;
    vgen_err ignored;
    if (vgen_tensor_download_copy(s->be, t, &h, &ignored) == VGEN_OK) s->p.hook(name, &h, s->p.hook_user_data);
    free(h.data);
}

/* Host data (the session's staging, wan_host_io) to its device tensor; nothing when they are the same memory. */
static int to_device(vgen_dit_session *s, const vgen_tensor *t, const void *host, vgen_err *err) {
    if (host == t->data) return VGEN_OK;
    return s->be->upload(s->be, t->data, host, vgen_tensor_bytes(t), err);
}

/* y = x in y's dtype (a device copy when the dtypes agree). */
int wan_copy_convert(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    if (x->dtype == y->dtype) return be->copy(be, y->data, x->data, vgen_tensor_bytes(y), err);
    return be->convert(be, x, y, err);
}

/* A view of n floats at p on the session's device. */
vgen_tensor wan_f32_view(const vgen_dit_session *s, const float *p, int64_t rows, int64_t cols) {
    vgen_tensor t = {.dtype = VGEN_DTYPE_F32, .n_dims = 2, .shape = {rows, cols}, .device = s->be->device,
                     .owner = VGEN_OWNER_NONE, .data = (void *)p};
    return t;
}

/* head_mod[2, D] = head_table + temb_c (temb as the compute dtype rounds it, as diffusers' type_as does), each row
 * of temb_c widened to f32 in place, then one add. */
static int head_modulation(vgen_dit_session *s, vgen_err *err) {
    const int64_t d = s->m->cfg.dim;
    vgen_tensor hm = wan_f32_view(s, s->a.head_mod, 2, d);
    vgen_tensor row0 = wan_f32_view(s, s->a.head_mod, 1, d), row1 = wan_f32_view(s, s->a.head_mod + d, 1, d);
    vgen_tensor table = wan_f32_view(s, s->g->head_table, 2, d);
    int rc = wan_copy_convert(s->be, &s->a.temb_c, &row0, err);
    if (!rc) rc = wan_copy_convert(s->be, &s->a.temb_c, &row1, err);
    if (!rc) rc = s->be->binary(s->be, VGEN_BINARY_ADD, &hm, &table, &hm, err);
    return rc;
}

/* temb[D] = time2(SiLU(time1(sinusoid(t)))) in f32; tproj[6D] = tproj(SiLU(temb)) in the compute dtype. */
int wan_embed_time(vgen_dit_session *s, float t, vgen_err *err) {
    vgen_backend *be = s->be;
    const wan_globals *g = s->g;
    wan_acts *a = &s->a;
    wan_timestep_sinusoid(t, s->m->cfg.freq_dim, s->io.tsin);
    int rc = to_device(s, &a->tsin, s->io.tsin, err);
    if (!rc) wan_hook(s, -1, "timesteps_proj", &a->tsin);
    if (!rc) rc = be->linear(be, &a->tsin, &g->time1.w, g->time1.b, &a->t_h, err);  /* [1, D] f32 */
    if (!rc) rc = be->unary(be, VGEN_UNARY_SILU, &a->t_h, &a->t_h, err);
    if (!rc) rc = be->linear(be, &a->t_h, &g->time2.w, g->time2.b, &a->temb, err); /* [1, D] f32 */
    if (!rc) rc = wan_copy_convert(be, &a->temb, &a->temb_c, err);                 /* [1, D] compute dtype */
    if (rc) return rc;
    wan_hook(s, -1, "temb", &a->temb_c);
    rc = head_modulation(s, err);
    if (!rc) rc = be->unary(be, VGEN_UNARY_SILU, &a->temb_c, &a->temb_c, err);
    if (!rc) rc = be->linear(be, &a->temb_c, &g->tproj.w, g->tproj.b, &a->tproj, err); /* [1, 6D] */
    if (!rc) wan_hook(s, -1, "timestep_proj", &a->tproj);
    return rc;
}

/* ctx[Lc, D] = text2(GELU_tanh(text1(context[Lc, Dt]))) in the compute dtype; the context is rounded to the
 * compute dtype on the host (as the convert op does: core/elem_math.h) and uploaded. */
int wan_embed_text(vgen_dit_session *s, const vgen_tensor *context, vgen_err *err) {
    vgen_backend *be = s->be;
    const wan_globals *g = s->g;
    wan_acts *a = &s->a;
    const int64_t n = vgen_tensor_numel(&a->ctx_in);
    for (int64_t i = 0; i < n; i++) vgen_elem_store(s->io.ctx, a->ctx_in.dtype, i, ((const float *)context->data)[i]);
    int rc = to_device(s, &a->ctx_in, s->io.ctx, err);                                 /* [Lc, Dt] */
    if (!rc) rc = be->linear(be, &a->ctx_in, &g->text1.w, g->text1.b, &a->ctx_h, err); /* [Lc, D] */
    if (!rc) rc = be->unary(be, VGEN_UNARY_GELU_TANH, &a->ctx_h, &a->ctx_h, err);
    if (!rc) rc = be->linear(be, &a->ctx_h, &g->text2.w, g->text2.b, &a->ctx, err);     /* [Lc, D] */
    if (!rc) wan_hook(s, -1, "text_embed", &a->ctx);
    return rc;
}

/* x[L, D] = patch(patchify(latent)) in the compute dtype (patchified on the host, uploaded). */
int wan_embed_patches(vgen_dit_session *s, const float *latent, vgen_err *err) {
    const vgen_wan_config *c = &s->m->cfg;
    vgen_tensor host = s->a.patches;
    host.data = s->io.patches;
    wan_patchify(latent, c->in_channels, s->p.frames, s->p.height, s->p.width, &host); /* [L, 4C] */
    int rc = to_device(s, &s->a.patches, s->io.patches, err);
    if (!rc) rc = s->be->linear(s->be, &s->a.patches, &s->g->patch.w, s->g->patch.b, &s->a.x, err); /* [L, D] */
    if (!rc) wan_hook(s, -1, "patch_embed.tokens", &s->a.x);
    return rc;
}

/* wan_embed.c - what surrounds the blocks: patchify / unpatchify (DiT-specific data movement, plain loops), the
 * sinusoidal timestep embedding, the time MLP with the head modulation, and the text MLP. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "numeric.h"
#include "wan_internal.h"

static void store(vgen_tensor *t, int64_t i, float v) {
    if (t->dtype == VGEN_DTYPE_BF16) ((uint16_t *)t->data)[i] = vgen_f32_to_bf16(v);
    else ((float *)t->data)[i] = v;
}

static float load(const vgen_tensor *t, int64_t i) {
    if (t->dtype == VGEN_DTYPE_BF16) return vgen_bf16_to_f32(((const uint16_t *)t->data)[i]);
    return ((const float *)t->data)[i];
}

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

void wan_hook(const vgen_dit_session *s, int64_t bi, const char *what, const vgen_tensor *t) {
    if (!s->p.hook) return;
    char name[64];
    if (bi >= 0) snprintf(name, sizeof name, "block.%lld.%s", (long long)bi, what);
    else snprintf(name, sizeof name, "%s", what);
    s->p.hook(name, t, s->p.hook_user_data);
}

/* y = x in y's dtype (plain copy when the dtypes agree). */
static int copy_convert(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    if (x->dtype == y->dtype) {
        memcpy(y->data, x->data, vgen_tensor_bytes(y));
        return VGEN_OK;
    }
    return be->convert(be, x, y, err);
}

/* head_mod[2, D] = head_table + temb_c (temb as the compute dtype rounds it, as diffusers' type_as does). */
static void head_modulation(vgen_dit_session *s) {
    const int64_t d = s->m->cfg.dim;
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < d; j++)
            s->a.head_mod[i * d + j] = s->m->g.head_table[i * d + j] + load(&s->a.temb_c, j);
}

/* temb[D] = time2(SiLU(time1(sinusoid(t)))) in f32; tproj[6D] = tproj(SiLU(temb)) in the compute dtype. */
int wan_embed_time(vgen_dit_session *s, float t, vgen_err *err) {
    vgen_backend *be = s->be;
    const wan_globals *g = &s->m->g;
    wan_acts *a = &s->a;
    wan_timestep_sinusoid(t, s->m->cfg.freq_dim, a->tsin.data);
    wan_hook(s, -1, "timesteps_proj", &a->tsin);
    int rc = be->linear(be, &a->tsin, &g->time1.w, g->time1.b, &a->t_h, err);      /* [1, D] f32 */
    if (!rc) rc = be->unary(be, VGEN_UNARY_SILU, &a->t_h, &a->t_h, err);
    if (!rc) rc = be->linear(be, &a->t_h, &g->time2.w, g->time2.b, &a->temb, err); /* [1, D] f32 */
    if (!rc) rc = copy_convert(be, &a->temb, &a->temb_c, err);                    /* [1, D] compute dtype */
    if (rc) return rc;
    wan_hook(s, -1, "temb", &a->temb_c);
    head_modulation(s);
    rc = be->unary(be, VGEN_UNARY_SILU, &a->temb_c, &a->temb_c, err);
    if (!rc) rc = be->linear(be, &a->temb_c, &g->tproj.w, g->tproj.b, &a->tproj, err); /* [1, 6D] */
    if (!rc) wan_hook(s, -1, "timestep_proj", &a->tproj);
    return rc;
}

/* ctx[Lc, D] = text2(GELU_tanh(text1(context[Lc, Dt]))) in the compute dtype. */
int wan_embed_text(vgen_dit_session *s, const vgen_tensor *context, vgen_err *err) {
    vgen_backend *be = s->be;
    const wan_globals *g = &s->m->g;
    wan_acts *a = &s->a;
    int rc = copy_convert(be, context, &a->ctx_in, err);                            /* [Lc, Dt] */
    if (!rc) rc = be->linear(be, &a->ctx_in, &g->text1.w, g->text1.b, &a->ctx_h, err); /* [Lc, D] */
    if (!rc) rc = be->unary(be, VGEN_UNARY_GELU_TANH, &a->ctx_h, &a->ctx_h, err);
    if (!rc) rc = be->linear(be, &a->ctx_h, &g->text2.w, g->text2.b, &a->ctx, err);     /* [Lc, D] */
    if (!rc) wan_hook(s, -1, "text_embed", &a->ctx);
    return rc;
}

/* x[L, D] = patch(patchify(latent)) in the compute dtype. */
int wan_embed_patches(vgen_dit_session *s, const float *latent, vgen_err *err) {
    const vgen_wan_config *c = &s->m->cfg;
    wan_patchify(latent, c->in_channels, s->p.frames, s->p.height, s->p.width, &s->a.patches); /* [L, 4C] */
    int rc = s->be->linear(s->be, &s->a.patches, &s->m->g.patch.w, s->m->g.patch.b, &s->a.x, err); /* [L, D] */
    if (!rc) wan_hook(s, -1, "patch_embed.tokens", &s->a.x);
    return rc;
}

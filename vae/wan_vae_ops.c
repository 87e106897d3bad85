/* wan_vae_ops.c - the decoder's backend calls. In a dry run (planning) they do nothing; a backend that lacks an op
 * gives VGEN_ERR_UNSUPPORTED naming it. Activations are f32; [C, T, H, W] chunks are viewed as [C, S] for norms. */
#include <math.h>

#include "wan_vae_internal.h"

static int missing(const wvae_dec *d, const char *op, vgen_err *err) {
    return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "vae: backend \"%s\" has no %s op", d->be->name, op);
}

/* y [Cout, T', H', W'] = conv3d(x [Cin, T + pad_t, H, W]) with zero padding pad_t frames before, pad_hw around. */
int wvae_op_conv(wvae_dec *d, const vgen_tensor *x, const wvae_conv *cv, int pad_t, int pad_hw, vgen_tensor *y,
                 vgen_err *err) {
    if (d->dry) return VGEN_OK;
    if (!d->be->conv3d) return missing(d, "conv3d", err);
    vgen_conv3d_params p = {{pad_t, 0}, {pad_hw, pad_hw}, {pad_hw, pad_hw}, 1, 1, 1};
    return d->be->conv3d(d->be, x, &cv->w, cv->b, &p, y, err);
}

/* y [C, S] = channel_rms_norm(x [C, S]) * gamma, for x of any rank >= 2 viewed as [C, rest]. */
int wvae_op_norm(wvae_dec *d, const vgen_tensor *x, const float *gamma, vgen_tensor *y, vgen_err *err) {
    if (d->dry) return VGEN_OK;
    if (!d->be->channel_rms_norm) return missing(d, "channel_rms_norm", err);
    int64_t s[2] = {x->shape[0], vgen_tensor_numel(x) / x->shape[0]};
    vgen_tensor x2, y2;
    wvae_view(&x2, x, 2, s);
    wvae_view(&y2, y, 2, s);
    return d->be->channel_rms_norm(d->be, &x2, gamma, NULL, &y2, err);
}

int wvae_op_silu(wvae_dec *d, const vgen_tensor *x, vgen_tensor *y, vgen_err *err) {
    if (d->dry) return VGEN_OK;
    if (!d->be->unary) return missing(d, "unary", err);
    return d->be->unary(d->be, VGEN_UNARY_SILU, x, y, err);
}

int wvae_op_add(wvae_dec *d, const vgen_tensor *a, const vgen_tensor *b, vgen_tensor *y, vgen_err *err) {
    if (d->dry) return VGEN_OK;
    if (!d->be->binary) return missing(d, "binary", err);
    return d->be->binary(d->be, VGEN_BINARY_ADD, a, b, y, err);
}

int wvae_op_linear(wvae_dec *d, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias, vgen_tensor *y,
                   vgen_err *err) {
    if (d->dry) return VGEN_OK;
    if (!d->be->linear) return missing(d, "linear", err);
    return d->be->linear(d->be, x, w, bias, y, err);
}

int wvae_op_attention(wvae_dec *d, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v, float scale,
                      vgen_tensor *out, vgen_err *err) {
    if (d->dry) return VGEN_OK;
    if (!d->be->attention) return missing(d, "attention", err);
    return d->be->attention(d->be, q, k, v, scale, NULL, out, err);
}

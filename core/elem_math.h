/* elem_math.h - the per-element math every backend shares: activations, the rope rotation of one pair, the
 * finalization of the norms, the gated residual add, and element access for f32 / bf16 / f16 arrays.
 *
 * Header-only and compiled for host and device (VGEN_HD of numeric.h), so the reference, the CPU backend's scalar
 * paths and the CUDA kernels evaluate the same formulas in the same order, and the CPU tests exercise the math the
 * GPU runs. Everything is f32. The statistics of the norms (means, sums of squares) are reductions: each backend
 * sums in its own order and precision and hands the result to these functions.
 *
 * Rounding: every +, -, * and / below is one correctly rounded f32 operation, never fused into an FMA (the one
 * fused multiply-add, in gelu_tanh, is an explicit fmaf, itself one rounding). In device code that is enforced
 * with the __f*_rn intrinsics (nvcc contracts a * b + c by default); host C is built in ISO mode (-std=c11),
 * where GCC does not contract either. sqrtf and / are IEEE on both sides (nvcc's defaults,
 * -prec-sqrt=true -prec-div=true), so given the same statistics the norms, rope and gated_add agree bit for bit.
 * expf is libm's on the host and CUDA's (at most 2 ulp) on the device, so gelu_tanh and silu may differ by a few
 * ulp between host and device.
 */
#ifndef VGEN_CORE_ELEM_MATH_H
#define VGEN_CORE_ELEM_MATH_H

#include <math.h>
#include <stdint.h>

#include "numeric.h"
#include "tensor.h"

/* ---- unfused f32 arithmetic ---- */

VGEN_HD float vgen_em_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

VGEN_HD float vgen_em_add(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

VGEN_HD float vgen_em_sub(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

/* ---- activations ---- */

#define VGEN_GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define VGEN_GELU_C 0.044715f

/* 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), evaluated as x / (1 + exp(-2u)): the same value, without
 * the cancellation of 1 + tanh(u) for negative x. -2u = (-2 sqrt(2/pi) x) (1 + 0.044715 x^2) with the inner
 * (0.044715 x) x + 1 fused (fmaf: one rounding on host and device alike), the operations of the CPU backend's
 * AVX-512 loop. exp overflowing to +inf gives -0 for very negative x (the true value is below 1e-37 in magnitude);
 * +-inf give +inf and NaN, as the tanh form does. */
VGEN_HD float vgen_gelu_tanh(float x) {
    const float m2u = vgen_em_mul(vgen_em_mul(-2.0f * VGEN_GELU_K, x), fmaf(vgen_em_mul(VGEN_GELU_C, x), x, 1.0f));
    return x / vgen_em_add(1.0f, expf(m2u));
}

/* x / (1 + exp(-x)); for x < -88.7 exp overflows and the result is -0 (true magnitude below 3e-37). */
VGEN_HD float vgen_silu(float x) { return x / vgen_em_add(1.0f, expf(-x)); }

/* ---- rotary embedding: one interleaved pair (x0, x1) = (x[2j], x[2j+1]) rotated by the angle with cosine c and
 * sine s (backend.h rope): o0 = x0 c - x1 s, o1 = x0 s + x1 c. ---- */
VGEN_HD void vgen_rope_pair(float x0, float x1, float c, float s, float *o0, float *o1) {
    *o0 = vgen_em_sub(vgen_em_mul(x0, c), vgen_em_mul(x1, s));
    *o1 = vgen_em_add(vgen_em_mul(x0, s), vgen_em_mul(x1, c));
}

/* ---- norms ---- */

/* 1 / sqrt(v + eps): v is the biased variance (layer_norm) or the mean of squares (rms_norm) of a row. */
VGEN_HD float vgen_norm_rstd(float v, float eps) { return 1.0f / sqrtf(vgen_em_add(v, eps)); }

/* One element of layer_norm (backend.h): ((x - mean) rstd w + b) (1 + scale) + shift, left to right. Absent
 * vectors are passed as their neutral values (w 1, b 0, scale 0, shift 0), which leave the value unchanged. */
VGEN_HD float vgen_layer_norm_apply(float x, float mean, float rstd, float w, float b, float scale, float shift) {
    float v = vgen_em_mul(vgen_em_sub(x, mean), rstd);
    v = vgen_em_add(vgen_em_mul(v, w), b);
    return vgen_em_add(vgen_em_mul(v, vgen_em_add(1.0f, scale)), shift);
}

/* One element of rms_norm: (x rstd) w (w = 1 when the op has no weight). */
VGEN_HD float vgen_rms_norm_apply(float x, float rstd, float w) { return vgen_em_mul(vgen_em_mul(x, rstd), w); }

/* The factor of one position of the Wan VAE's channel RMS norm (backend.h channel_rms_norm):
 * sqrt(C) / max(||x[:, s]||_2, 1e-12) from ss = sum_c x[c, s]^2 and root_c = sqrtf((float)C). A NaN sum stays
 * NaN (as torch's clamp_min does), so a bad position is not hidden behind the 1e-12 floor. */
VGEN_HD float vgen_channel_rms_scale(float ss, float root_c) {
    const float n = sqrtf(ss);
    return root_c / (n < 1e-12f ? 1e-12f : n);
}

/* One element: x factor gamma + bias (bias 0 when the op has none). */
VGEN_HD float vgen_channel_rms_apply(float x, float factor, float gamma, float bias) {
    return vgen_em_add(vgen_em_mul(vgen_em_mul(x, factor), gamma), bias);
}

/* ---- residual update of the DiT blocks: x + g y (g = 1 without a gate) ---- */
VGEN_HD float vgen_gated_add1(float x, float g, float y) { return vgen_em_add(x, vgen_em_mul(g, y)); }

/* ---- element access: element i of an f32, bf16 or f16 array as f32, and stores rounded to nearest even
 * (numeric.h's conversions, the values PyTorch produces). Any other dtype reads as f32. ---- */

VGEN_HD float vgen_elem_load(const void *p, vgen_dtype dt, int64_t i) {
    if (dt == VGEN_DTYPE_BF16) return vgen_bf16_to_f32(((const uint16_t *)p)[i]);
    if (dt == VGEN_DTYPE_F16) return vgen_f16_to_f32(((const uint16_t *)p)[i]);
    return ((const float *)p)[i];
}

VGEN_HD void vgen_elem_store(void *p, vgen_dtype dt, int64_t i, float v) {
    if (dt == VGEN_DTYPE_BF16) ((uint16_t *)p)[i] = vgen_f32_to_bf16(v);
    else if (dt == VGEN_DTYPE_F16) ((uint16_t *)p)[i] = vgen_f32_to_f16(v);
    else ((float *)p)[i] = v;
}

#endif

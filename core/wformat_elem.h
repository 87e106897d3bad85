/* wformat_elem.h - per-element decoding of every weight format of wformat.h, for host and device.
 *
 * Header-only and compiled for both sides (VGEN_HD of numeric.h), so the reference dequantizer of wformat.c (which
 * calls these functions) and the CUDA dequantization kernel (kernels/cuda/cuda_dequant.cu) run the same math:
 *
 *   f32 / f16 / bf16      w = the stored value, widened to f32 (numeric.h)
 *   int8_row              w = (float)q * s[n]                       (q the int8 code)
 *   fp8_e4m3_row/_tensor  w = e4m3(c) * s                           (s per row, or s[0] for the tensor)
 *   int4_gG               w = (float)(q - 8) * s[n, k/G]            (q the 4-bit code, symmetric)
 *   int4_gG_zp            w = (float)(q - z[n, k/G]) * s[n, k/G]    (z the stored zero point)
 *
 * Each value is one IEEE float32 multiplication of exactly representable operands, so host and device agree bit for
 * bit (device code must not be built with --use_fast_math, whose flush-to-zero would change subnormal results).
 * int4 packing (as wformat.c packs it): element j of a row is in byte j/2, the low nibble for even j, the high
 * nibble for odd j.
 *
 * The layout facts below (bits, group, scale kind, zero points) repeat the table of wformat.c, which lives in host
 * memory only; tests/test_wformat_elem.c checks that both agree for every format.
 */
#ifndef VGEN_CORE_WFORMAT_ELEM_H
#define VGEN_CORE_WFORMAT_ELEM_H

#include <stdint.h>
#include <string.h>

#include "numeric.h"

#ifdef __cplusplus
extern "C" {
#endif
#include "wformat.h"
#ifdef __cplusplus
}
#endif

/* ---- layout facts -------------------------------------------------------------------------------------------- */

/* Storage bits per weight (32, 16, 8 or 4); 0 for an unknown format. */
VGEN_HD int vgen_wfe_bits(vgen_wformat f) {
    switch (f) {
    case VGEN_WF_F32: return 32;
    case VGEN_WF_F16:
    case VGEN_WF_BF16: return 16;
    case VGEN_WF_INT8_ROW:
    case VGEN_WF_FP8_E4M3_ROW:
    case VGEN_WF_FP8_E4M3_TENSOR: return 8;
    case VGEN_WF_INT4_G32:
    case VGEN_WF_INT4_G64:
    case VGEN_WF_INT4_G128:
    case VGEN_WF_INT4_G32_ZP:
    case VGEN_WF_INT4_G64_ZP:
    case VGEN_WF_INT4_G128_ZP: return 4;
    default: return 0;
    }
}

/* Elements per scale group of the int4 formats; 0 for every other format. */
VGEN_HD int vgen_wfe_group(vgen_wformat f) {
    switch (f) {
    case VGEN_WF_INT4_G32:
    case VGEN_WF_INT4_G32_ZP: return 32;
    case VGEN_WF_INT4_G64:
    case VGEN_WF_INT4_G64_ZP: return 64;
    case VGEN_WF_INT4_G128:
    case VGEN_WF_INT4_G128_ZP: return 128;
    default: return 0;
    }
}

/* 1 for the formats with stored zero points (the int4 _zp formats). */
VGEN_HD int vgen_wfe_has_zero(vgen_wformat f) {
    return f == VGEN_WF_INT4_G32_ZP || f == VGEN_WF_INT4_G64_ZP || f == VGEN_WF_INT4_G128_ZP;
}

VGEN_HD vgen_scale_kind vgen_wfe_scale_kind(vgen_wformat f) {
    switch (f) {
    case VGEN_WF_INT8_ROW:
    case VGEN_WF_FP8_E4M3_ROW: return VGEN_SCALE_ROW;
    case VGEN_WF_FP8_E4M3_TENSOR: return VGEN_SCALE_TENSOR;
    default: return vgen_wfe_group(f) ? VGEN_SCALE_GROUP : VGEN_SCALE_NONE;
    }
}

/* The code of zero in the formats without stored zero points: 8 for symmetric int4, 0 otherwise. */
VGEN_HD int vgen_wfe_offset(vgen_wformat f) { return (vgen_wfe_group(f) && !vgen_wfe_has_zero(f)) ? 8 : 0; }

/* Elements of a row covered by one stored scale: the group, or the whole row (k). */
VGEN_HD int64_t vgen_wfe_span(vgen_wformat f, int64_t k) {
    int g = vgen_wfe_group(f);
    return g ? (int64_t)g : k;
}

/* Scales (and zero points) per row for row / group scales: ceil(k / span). */
VGEN_HD int64_t vgen_wfe_groups(vgen_wformat f, int64_t k) {
    int64_t span = vgen_wfe_span(f, k);
    return span > 0 ? (k + span - 1) / span : 0;
}

/* Bytes of one row of k weights (k validated by the caller: vgen_wformat_row_bytes cannot overflow). */
VGEN_HD int64_t vgen_wfe_row_bytes(vgen_wformat f, int64_t k) { return (k * vgen_wfe_bits(f) + 7) / 8; }

/* ---- codes to values ----------------------------------------------------------------------------------------- */

/* Plain formats: element j of a row (byte-addressed; memcpy, so rows need no alignment). */
VGEN_HD float vgen_wfe_f32_at(const uint8_t *row, int64_t j) {
    float v;
    memcpy(&v, row + 4 * j, sizeof v);
    return v;
}

VGEN_HD float vgen_wfe_f16_at(const uint8_t *row, int64_t j) {
    uint16_t h;
    memcpy(&h, row + 2 * j, sizeof h);
    return vgen_f16_to_f32(h);
}

VGEN_HD float vgen_wfe_bf16_at(const uint8_t *row, int64_t j) {
    uint16_t h;
    memcpy(&h, row + 2 * j, sizeof h);
    return vgen_bf16_to_f32(h);
}

/* int8: the byte as a signed code times the scale. */
VGEN_HD float vgen_wfe_int8(uint8_t code, float s) { return (float)(int8_t)code * s; }

/* fp8 e4m3fn: the decoded code times the scale (NaN codes 0x7f / 0xff stay NaN). */
VGEN_HD float vgen_wfe_fp8(uint8_t code, float s) { return vgen_e4m3_to_f32(code) * s; }

/* int4: the 4-bit code (0..15) of element j of a row: byte j/2, low nibble for even j, high nibble for odd j. */
VGEN_HD int vgen_wfe_nibble(const uint8_t *row, int64_t j) {
    uint8_t b = row[j >> 1];
    return (j & 1) ? (b >> 4) : (b & 15);
}

/* int4: (q - z) * s, z = 8 (symmetric) or the stored zero point. */
VGEN_HD float vgen_wfe_int4(int q, int z, float s) { return (float)(q - z) * s; }

/* ---- whole matrices ------------------------------------------------------------------------------------------ */

/* Scale s and zero code z of group g of row r; ng = vgen_wfe_groups(f, k). Plain formats: s = 1, z = 0. */
VGEN_HD void vgen_wfe_params(vgen_wformat f, const float *scales, const uint8_t *zeros, int64_t r, int64_t g,
                             int64_t ng, float *s, int *z) {
    switch (vgen_wfe_scale_kind(f)) {
    case VGEN_SCALE_NONE:
        *s = 1.0f;
        *z = 0;
        return;
    case VGEN_SCALE_TENSOR:
        *s = scales[0];
        *z = vgen_wfe_offset(f);
        return;
    default: /* row (ng = 1) or group */
        *s = scales[r * ng + g];
        *z = vgen_wfe_has_zero(f) ? (int)zeros[r * ng + g] : vgen_wfe_offset(f);
        return;
    }
}

/* Element j of a row given its group's s and z (ignored by the plain formats); NaN for an unknown format. */
VGEN_HD float vgen_wfe_decode(vgen_wformat f, const uint8_t *row, int64_t j, float s, int z) {
    switch (f) {
    case VGEN_WF_F32: return vgen_wfe_f32_at(row, j);
    case VGEN_WF_F16: return vgen_wfe_f16_at(row, j);
    case VGEN_WF_BF16: return vgen_wfe_bf16_at(row, j);
    case VGEN_WF_INT8_ROW: return vgen_wfe_int8(row[j], s);
    case VGEN_WF_FP8_E4M3_ROW:
    case VGEN_WF_FP8_E4M3_TENSOR: return vgen_wfe_fp8(row[j], s);
    default:
        if (vgen_wfe_group(f)) return vgen_wfe_int4(vgen_wfe_nibble(row, j), z, s);
        return vgen_f32_from_bits(0x7fc00000u);
    }
}

/* W[r, j] of a quantized matrix (data, scales, zeros as wformat.h describes them; r < rows, j < cols). */
VGEN_HD float vgen_wfe_at(const vgen_qmatrix *w, int64_t r, int64_t j) {
    const vgen_wformat f = w->format;
    const int64_t k = w->cols, ng = vgen_wfe_groups(f, k);
    const uint8_t *row = (const uint8_t *)w->data + r * vgen_wfe_row_bytes(f, k);
    float s;
    int z;
    vgen_wfe_params(f, w->scales, w->zeros, r, j / vgen_wfe_span(f, k), ng, &s, &z);
    return vgen_wfe_decode(f, row, j, s, z);
}

#endif

/* wformat.h - weight formats: one append-only table serving the loader, the kernels and the tests
 * (DESIGN.md section 2, in the manner of ggml's type traits).
 *
 * A weight matrix W has N rows (out features) and K columns (in features), row-major, as nn.Linear stores it.
 * A quantized matrix is three arrays, which is also how it is stored in safetensors files written by
 * `vgen quantize` (<name> = data, <name>_scale = scales, <name>_zero = zero points; see docs/formats.md):
 *
 *   data    N rows of row_bytes(K) bytes each
 *             f32/f16/bf16: the values;
 *             int8_row: int8 q, w = q * s[n];
 *             fp8_e4m3_row / fp8_e4m3_tensor: e4m3fn codes c, w = e4m3(c) * s;
 *             int4_gG: two 4-bit codes per byte along K, element 2i in the low nibble, element 2i+1 in the high
 *               one; a row has ceil(K/2) bytes (an odd K leaves the last high nibble zero).
 *               symmetric:        w = (q - 8) * s[n, k/G]            (q in 0..15)
 *               with zero-point:  w = (q - z[n, k/G]) * s[n, k/G]    (q, z in 0..15)
 *   scales  float32: none (plain formats), 1 (per tensor), N (per row) or N * ceil(K/G) (per group, row-major)
 *   zeros   uint8, N * ceil(K/G), one zero point per group (only the _zp formats)
 *
 * The last group of a row may be shorter than G when K is not a multiple of G.
 * Reference quantizers round to nearest (ties away from zero, as roundf) and are plain C; they are the
 * definition of each format that faster paths are tested against.
 */
#ifndef VGEN_CORE_WFORMAT_H
#define VGEN_CORE_WFORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Append-only: values are stored in files and caches. */
typedef enum vgen_wformat {
    VGEN_WF_F32 = 0,
    VGEN_WF_F16 = 1,
    VGEN_WF_BF16 = 2,
    VGEN_WF_INT8_ROW = 3,
    VGEN_WF_FP8_E4M3_ROW = 4,
    VGEN_WF_FP8_E4M3_TENSOR = 5,
    VGEN_WF_INT4_G32 = 6,
    VGEN_WF_INT4_G64 = 7,
    VGEN_WF_INT4_G128 = 8,
    VGEN_WF_INT4_G32_ZP = 9,
    VGEN_WF_INT4_G64_ZP = 10,
    VGEN_WF_INT4_G128_ZP = 11,
    VGEN_WF_COUNT
} vgen_wformat;

typedef enum vgen_scale_kind {
    VGEN_SCALE_NONE = 0,   /* plain floating-point formats */
    VGEN_SCALE_TENSOR = 1, /* one scale for the whole matrix */
    VGEN_SCALE_ROW = 2,    /* one scale per output row */
    VGEN_SCALE_GROUP = 3   /* one scale per group of `group` consecutive elements of a row */
} vgen_scale_kind;

typedef struct vgen_wformat_traits {
    const char *name;             /* "int4_g64_zp": the name used in files, presets and the CLI */
    int bits;                     /* storage bits per weight: 32, 16, 8 or 4 */
    int group;                    /* elements per scale group along K (VGEN_SCALE_GROUP only), else 0 */
    vgen_scale_kind scale_kind;
    int has_zero;                 /* 1 for the _zp formats */
    const char *storage_dtype;    /* safetensors dtype of the data tensor: "F32", "BF16", "I8", "F8_E4M3", "U8" */
    /* Round-trip error budgets, relative RMS error ||W - deq(q(W))|| / ||W||, guarded by tests/test_wformat.c:
     * on N(0,1) weights, and on heavy-tailed weights (Student-t, 3 degrees of freedom, plus a few 50-sigma
     * outliers per row). */
    float budget_gauss;
    float budget_outlier;
} vgen_wformat_traits;

typedef struct vgen_qmatrix {
    vgen_wformat format;
    int64_t rows;                 /* N */
    int64_t cols;                 /* K */
    const void *data;             /* N * row_bytes(K) bytes */
    const float *scales;          /* scale_count(N, K) floats, NULL for plain formats */
    const uint8_t *zeros;         /* zero_count(N, K) bytes, NULL unless has_zero */
} vgen_qmatrix;

/* The table entry; NULL for an unknown value. */
const vgen_wformat_traits *vgen_wformat_get(vgen_wformat f);
/* Looks a format up by its table name ("int8_row"); returns 0 and sets *out, or VGEN_ERR_NOT_FOUND. */
int vgen_wformat_from_name(const char *name, vgen_wformat *out);

/* Sizes; each returns 0 and stores the value, or VGEN_ERR_SHAPE if K/N are not positive or the size overflows. */
int vgen_wformat_row_bytes(vgen_wformat f, int64_t k, size_t *out);
int vgen_wformat_data_bytes(vgen_wformat f, int64_t n, int64_t k, size_t *out);
int vgen_wformat_scale_count(vgen_wformat f, int64_t n, int64_t k, size_t *out); /* floats */
int vgen_wformat_zero_count(vgen_wformat f, int64_t n, int64_t k, size_t *out);  /* bytes */

/* Reference quantizer. W: [N, K] f32. Writes data/scales/zeros sized as above. Fails with VGEN_ERR_NUMERIC if W
 * holds NaN or Inf (naming the row). The plain formats convert (f32 copy, f16/bf16 with round-to-nearest-even). */
int vgen_wformat_quantize(vgen_wformat f, const float *w, int64_t n, int64_t k, void *data, float *scales,
                          uint8_t *zeros, vgen_err *err);

/* Reference dequantizer of rows [r0, r0 + nr) into out: [nr, K] f32. */
void vgen_wformat_dequantize_rows(const vgen_qmatrix *w, int64_t r0, int64_t nr, float *out);

#endif

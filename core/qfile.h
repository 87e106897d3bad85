/* qfile.h - how quantized weight matrices are stored in safetensors files (written by `vgen quantize`, read by
 * the model loaders). For a linear weight named NAME (e.g. "blocks.0.attn1.to_q.weight"):
 *
 *   NAME          data, storage dtype of the format: I8 [N, K] (int8_row), F8_E4M3 [N, K] (fp8),
 *                 U8 [N, ceil(K/2)] (int4, two codes a byte, low nibble first)
 *   NAME_scale    F32: [1] per tensor, [N] per row, [N, ceil(K/G)] per group
 *   NAME_zero     U8 [N, ceil(K/G)], zero-point formats only
 *   __metadata__  "vgen.quantized" = "1", "vgen.format.NAME" = format name (core/wformat.h),
 *                 "vgen.shape.NAME" = "N,K" (the logical shape; int4 storage alone cannot tell an odd K)
 *
 * Plain F32/F16/BF16 2-D tensors are matrices too (format from the dtype), so loaders use one call for any
 * linear weight. */
#ifndef VGEN_CORE_QFILE_H
#define VGEN_CORE_QFILE_H

#include "safetensors.h"
#include "wformat.h"

#define VGEN_QFILE_NAME_MAX 512

/* The vgen format name recorded for tensor `name`, or NULL when it is not a vgen-quantized data tensor. */
const char *vgen_qfile_tensor_format(const vgen_st_set *set, const char *name);

/* A view of the weight matrix `name` (pointing into the mapped file): plain F32/F16/BF16 [N, K] tensors, or
 * vgen-quantized ones, with every shape and dtype checked against the metadata. VGEN_ERR_NOT_FOUND if absent,
 * VGEN_ERR_SHAPE / VGEN_ERR_MALFORMED naming the tensor otherwise. Scales are read in place, so the data must be
 * 4-byte aligned in the file (safetensors files written by vgen align every tensor to 8 bytes). */
int vgen_qfile_matrix(const vgen_st_set *set, const char *name, vgen_qmatrix *out, vgen_err *err);

/* The declarations `vgen quantize` writes for one matrix of format f: 1 to 3 entries (data, scale, zero) in
 * decls; the scale/zero names are stored in name_buf[0..1] (each VGEN_QFILE_NAME_MAX). */
int vgen_qfile_declare(vgen_wformat f, const char *name, int64_t n, int64_t k, vgen_st_decl decls[3],
                       char name_buf[2][VGEN_QFILE_NAME_MAX], size_t *n_decls, vgen_err *err);

/* "vgen.format.NAME" / "vgen.shape.NAME" keys into buf; 0, or VGEN_ERR_INVALID_ARGUMENT if it does not fit. */
int vgen_qfile_meta_key(const char *what, const char *name, char *buf, size_t size);

#endif

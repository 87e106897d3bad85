/* ops_ref.h - the reference implementations of every backend op after linear (backend.h), and the validation
 * that every backend shares so that all of them accept and reject exactly the same calls.
 *
 * vgen_ref_ops_install sets the op pointers of a backend struct to the reference ops (plain loops, f32 values
 * accumulated in double, no threads). Calling it twice is harmless. It does not touch supports().
 *
 * The vgen_ops_check_* functions validate one call: tensors non-NULL, on the calling backend's device `dev`
 * (VGEN_DEVICE_CPU for ref and cpu, VGEN_DEVICE_CUDA for cuda), with data, dtypes among those the op takes, shapes
 * consistent, and the aliasing rules of backend.h. They return VGEN_OK or set err (VGEN_ERR_SHAPE for shapes and
 * dtypes, VGEN_ERR_INVALID_ARGUMENT for NULL pointers, tensors on another device, unknown op codes and illegal
 * overlaps), naming `who` ("ref attention", "cuda conv3d") and the shapes. Every op returns at once for empty
 * tensors after validation. They read only the descriptors, never the data, so they serve device memory too.
 * Raw parameter pointers (w, b, gate, rope tables, ...) carry no device and are only checked for NULL where
 * required: backend.h says they live on the backend's device.
 */
#ifndef VGEN_KERNELS_REF_OPS_REF_H
#define VGEN_KERNELS_REF_OPS_REF_H

#include <stdint.h>

#include "backend.h"
#include "elem_math.h"
#include "numeric.h"

#ifdef __cplusplus
extern "C" { /* the CUDA backend (C++) calls the checks */
#endif

void vgen_ref_ops_install(vgen_backend *be);

/* The installers of each file (ops_norm.c, ops_rope.c, ...), called by vgen_ref_ops_install. */
void vgen_ref_norm_install(vgen_backend *be);
void vgen_ref_rope_install(vgen_backend *be);
void vgen_ref_attention_install(vgen_backend *be);
void vgen_ref_elementwise_install(vgen_backend *be);
void vgen_ref_conv3d_install(vgen_backend *be);
void vgen_ref_copy_install(vgen_backend *be);

/* ---- element access for f32 / bf16 / f16 activations ---- */

/* The shared element access of core/elem_math.h (the CUDA kernels use the same functions). */
static inline float vgen_ops_get(const void *data, vgen_dtype dt, int64_t i) { return vgen_elem_load(data, dt, i); }

/* Rounds v to dt (round to nearest even) and stores it. */
static inline void vgen_ops_put(void *data, vgen_dtype dt, int64_t i, float v) { vgen_elem_store(data, dt, i, v); }

/* ---- validation shared by every backend (dev: the device the calling backend's ops read and write) ---- */

/* x and y: the same shape, rank >= 1, f32 or bf16; y either is x (same data and dtype) or does not overlap it.
 * m = product of the leading dims, d = innermost dim. */
int vgen_ops_check_rows(const char *who, vgen_device dev, const vgen_tensor *x, const vgen_tensor *y, int64_t *m,
                        int64_t *d, vgen_err *err);

/* An optional per-feature parameter vector (w, b, gamma, ...): only checks it is non-NULL when required. */
int vgen_ops_check_param(const char *who, const char *name, const float *p, vgen_err *err);

/* channel_rms_norm: x [C, S...] (rank >= 1; C = shape[0], s = product of the rest), y like x; gamma required. */
int vgen_ops_check_channels(const char *who, vgen_device dev, const vgen_tensor *x, const float *gamma,
                            const vgen_tensor *y, int64_t *c, int64_t *s, vgen_err *err);

/* rope: x [L, H, Dh] f32 or bf16 with Dh even; cos_t and sin_t required. */
int vgen_ops_check_rope(const char *who, vgen_device dev, const vgen_tensor *x, const float *cos_t,
                        const float *sin_t, vgen_err *err);

typedef struct vgen_attn_dims {
    int64_t lq, lk, h, dh;
} vgen_attn_dims;

/* attention: q [Lq, H, Dh], k and v [Lk, H, Dh], out [Lq, H, Dh] (each f32 or bf16), bias NULL or [H, Lq, Lk] f32
 * on dev (not checked for overlap: it is only read); out overlaps none of q, k, v. */
int vgen_ops_check_attention(const char *who, vgen_device dev, const vgen_tensor *q, const vgen_tensor *k,
                             const vgen_tensor *v, const vgen_tensor *bias, const vgen_tensor *out,
                             vgen_attn_dims *dims, vgen_err *err);

/* unary: op known, x and y as vgen_ops_check_rows; n = element count. */
int vgen_ops_check_unary(const char *who, vgen_device dev, vgen_unary_op op, const vgen_tensor *x,
                         const vgen_tensor *y, int64_t *n, vgen_err *err);

/* binary: op known; a and y as vgen_ops_check_rows; b f32 or bf16 with a's shape (*b_rows = 1) or [D] with D = a's
 * innermost dim (*b_rows = 0: broadcast over rows); b is read only, but y must not partially overlap it. */
int vgen_ops_check_binary(const char *who, vgen_device dev, vgen_binary_op op, const vgen_tensor *a,
                          const vgen_tensor *b, const vgen_tensor *y, int64_t *m, int64_t *d, int *b_rows,
                          vgen_err *err);

/* gated_add: x and y f32 or bf16 with the same shape, not overlapping (x is written). gate NULL or [D]. */
int vgen_ops_check_gated_add(const char *who, vgen_device dev, const vgen_tensor *x, const vgen_tensor *y,
                             int64_t *m, int64_t *d, vgen_err *err);

/* convert: x and y among f32 / bf16 / f16 with the same element count; y either is x (same data pointer, any
 * dtypes) or does not overlap it. */
int vgen_ops_check_convert(const char *who, vgen_device dev, const vgen_tensor *x, const vgen_tensor *y, int64_t *n,
                           vgen_err *err);

/* check_finite: x f32, bf16 or f16 on dev with data (VGEN_ERR_INVALID_ARGUMENT "WHO: no tensor" otherwise,
 * VGEN_ERR_SHAPE naming `what` for another dtype); n = element count. */
int vgen_ops_check_finite(const char *who, vgen_device dev, const vgen_tensor *x, const char *what, int64_t *n,
                          vgen_err *err);

/* conv3d geometry: x [Cin, F, H, W], w [Cout, Cin, kt, kh, kw], y [Cout, F', H', W'] with
 * F' = (F + pad_t[0] + pad_t[1] - kt) / stride_t + 1 (likewise H', W'). */
typedef struct vgen_conv3d_dims {
    int64_t cin, f, h, w;       /* input */
    int64_t cout, kt, kh, kw;   /* kernel */
    int64_t fo, ho, wo;         /* output */
    int64_t pt, ph, pw;         /* leading pads */
    int64_t st, sh, sw;         /* strides */
} vgen_conv3d_dims;

/* conv3d: x, w, y f32 or bf16, shapes as above (pads >= 0, strides >= 1, padded input >= kernel), y does not
 * overlap x or w. */
int vgen_ops_check_conv3d(const char *who, vgen_device dev, const vgen_tensor *x, const vgen_tensor *w,
                          const vgen_conv3d_params *p, const vgen_tensor *y, vgen_conv3d_dims *dims, vgen_err *err);

/* copy_strided: 1 <= n_dims <= VGEN_COPY_MAX_DIMS, shape and strides >= 0, elem_size 1, 2, 4 or 8, src and dst
 * non-NULL unless nothing is copied, the byte ranges spanned (src_bytes, dst_bytes: from the pointer to the end of
 * the last element addressed) without overflow and not overlapping. n = element count (0: nothing to do). */
int vgen_ops_check_copy_strided(const char *who, const void *src, const int64_t *src_strides, const void *dst,
                                const int64_t *dst_strides, const int64_t *shape, int n_dims, size_t elem_size,
                                int64_t *n, size_t *src_bytes, size_t *dst_bytes, vgen_err *err);

#ifdef __cplusplus
}
#endif
#endif

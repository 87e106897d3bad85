/* umt5_internal.h - what the umt5_*.c files share: the model's weight structs, tensor loading, and the session
 * layout. Not for use outside textenc/. */
#ifndef VGEN_TEXTENC_UMT5_INTERNAL_H
#define VGEN_TEXTENC_UMT5_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "umt5.h"

/* A weight matrix (linear weight or embedding table). */
typedef struct umt5_matrix {
    vgen_qmatrix w;      /* [N, K]: a view into the mapped file, or into own */
    void *own;           /* storage owned by the model (quantized-on-load or an aligned copy), else NULL */
    size_t own_bytes;
    float scale1;        /* the per-tensor scale of an fp8 weight without vgen metadata (w.scales points here) */
} umt5_matrix;

typedef struct umt5_layer {
    umt5_matrix q, k, v, o;     /* [I, D], [I, D], [I, D], [D, I] */
    umt5_matrix wi0, wi1, wo;   /* [Dff, D], [Dff, D], [D, Dff] */
    float *ln_attn, *ln_ffn;    /* [D] RMSNorm weights (bf16-rounded under bf16 compute) */
    float *rel_bias;            /* [Nh, B] relative attention bias, transposed from the stored [B, Nh] */
} umt5_layer;

struct vgen_umt5_model {
    vgen_umt5_config cfg;
    vgen_umt5_layout layout;
    vgen_dtype compute;
    int wo_f32;                 /* bf16 compute: wo in f32, residual stream f32 after the first FFN */
    int round_scores;           /* bf16 compute: attention scores rounded to bf16 as torch's eager attention */
    vgen_st_set *set;           /* the open checkpoint: views point into it */
    umt5_matrix embed;          /* [V, D] */
    float *ln_final;            /* [D] */
    umt5_layer *layers;         /* [layers] */
    size_t owned_bytes, mapped_bytes;
};

/* ---- tensor loading (umt5_tensors.c) ---- */

typedef struct umt5_load_ctx {
    const vgen_st_set *set;
    vgen_dtype compute;
    int quantize;               /* 1: linear weights to format, the embedding to embed_format */
    vgen_wformat format, embed_format;
    vgen_threadpool *pool;
    size_t owned_bytes, mapped_bytes;
} umt5_load_ctx;

/* "<prefix><rest>" into buf; VGEN_ERR_INVALID_ARGUMENT if it does not fit. */
int umt5_name(const vgen_umt5_layout *l, const char *rest, char *buf, size_t size, vgen_err *err);
/* Matrix `name` with logical shape [rows, cols] in any stored format; quantized to fmt when quantize != 0. */
int umt5_load_matrix(umt5_load_ctx *lc, const char *name, int64_t rows, int64_t cols, int quantize, vgen_wformat fmt,
                     umt5_matrix *m, vgen_err *err);
/* An f32 copy of tensor `name` of shape [n] (rank 1) or [rows, cols] (cols > 0: rank 2), rounded to bf16 values
 * under bf16 compute (from_pretrained(torch_dtype=bf16) holds it in bf16). */
int umt5_load_vector(umt5_load_ctx *lc, const char *name, int64_t rows, int64_t cols, float **out, vgen_err *err);
/* A stored matrix's logical [N, K] whatever its format; VGEN_ERR_NOT_FOUND if absent. */
int umt5_matrix_dims(const vgen_st_set *set, const char *name, int64_t *n, int64_t *k, vgen_err *err);
void umt5_matrix_release(umt5_matrix *m);

/* Quantize-on-load (umt5_quant.c): src [N, K] in any format -> m->own in format f; m->w describes it. The source
 * rows' pages are dropped as they are consumed. */
int umt5_quantize_matrix(const vgen_qmatrix *src, vgen_wformat f, vgen_threadpool *pool, const char *name,
                         umt5_matrix *m, vgen_err *err);

/* ---- session (umt5_session.c) ---- */

typedef struct umt5_acts {
    vgen_tensor x;        /* [L, D] f32 residual stream */
    vgen_tensor x16;      /* [L, D] bf16 scratch for rounding the residual stream (bf16 compute) */
    vgen_tensor h;        /* [L, D] normalised input of a sub-block (compute dtype) */
    vgen_tensor q, k, v;  /* [L, I] = [L, Nh, Dk] projections (compute dtype) */
    vgen_tensor att;      /* [L, I] attention output (compute dtype) */
    vgen_tensor o;        /* [L, D] sub-block output (compute dtype, or f32 for wo in f32) */
    vgen_tensor g, u;     /* [L, Dff] FFN gate and linear halves (compute dtype) */
    vgen_tensor g32;      /* [L, Dff] f32 input of wo in f32 (bf16 compute with wo_f32) */
    vgen_tensor bias;     /* [Nh, L, L] f32 relative position bias + key mask (then the logits, round_scores) */
    vgen_tensor qh, kh;   /* [L, Dk] bf16 one head's queries / keys, contiguous (round_scores) */
    vgen_tensor sc;       /* [L, L] bf16 one head's scores (round_scores) */
    int32_t *bucket;      /* [2 max_len - 1] bucket of rel = j - i, indexed rel + max_len - 1 (host memory) */
    float *rel;           /* [Nh, 2 max_len - 1] one layer's bias by relative position (host backends only) */
    /* device backends only (host_addressable false), in device memory: */
    uint16_t *onehot;     /* [max_len^2, B] bf16: row i n + j = one-hot of bucket(j - i) for the current n */
    float *maskv;         /* [max_len] f32: 0 for a kept key, -inf for a masked one */
} umt5_acts;

/* The weights where the session's backend can read them: the model's own on a host-addressable backend, else one
 * device buffer with every layer and the final norm (each piece 64-byte aligned). The embedding table never goes
 * to the device: the prompt's rows are gathered on the host. */
typedef struct umt5_place {
    const umt5_layer *layers;   /* [layers] */
    const float *ln_final;      /* [D] */
    umt5_layer *dev_layers;     /* [layers] pointing into buf; NULL on a host-addressable backend */
    void *buf;
    size_t bytes;
} umt5_place;

/* Places m's weights on be (umt5_place.c); nothing is copied when be is host-addressable. */
int umt5_place_new(const vgen_umt5_model *m, vgen_backend *be, umt5_place *p, vgen_err *err);
void umt5_place_free(vgen_backend *be, umt5_place *p);

/* Host memory of a session on a device backend: the buckets and one staging buffer for uploads and downloads. */
typedef struct umt5_stage {
    void *buf;            /* one allocation: the buckets, then f32 */
    float *f32;           /* [max(max_len D, max_len B, I / 2 + 1, 256 Ki)] staging */
    size_t f32_bytes;
    int64_t onehot_n;     /* the n acts.onehot was built for (0: none yet) */
} umt5_stage;

struct vgen_umt5_session {
    const vgen_umt5_model *m;
    vgen_backend *be;
    int64_t max_len;
    vgen_umt5_hook_fn hook;
    void *hook_user_data;
    vgen_abort_fn abort;
    void *abort_user_data;
    vgen_memstat stat;
    vgen_arena *arena;    /* the activations on a host-addressable backend */
    void *dev;            /* the activations otherwise: one device buffer of dev_bytes */
    size_t dev_bytes;
    umt5_acts a;
    umt5_place place;
    umt5_stage stage;     /* device backends only */
};

/* A tensor [a, b, c] (n_dims of them) of dt at data on the session's device (a view). */
vgen_tensor umt5_view(const vgen_umt5_session *s, void *data, vgen_dtype dt, int n_dims, int64_t a, int64_t b,
                      int64_t c);

/* A view [rows, cols] of the first rows of t (same dtype and data). */
vgen_tensor umt5_rows(const vgen_tensor *t, int64_t rows, int64_t cols);

/* ---- forward pieces (umt5_bias.c, umt5_layer.c) ---- */

/* bias[h, i, j] = rel_bias[h, bucket(j - i)] + (mask && !mask[j] ? -inf : 0) for i, j < n: on the host for a
 * host-addressable backend, else with the backend's ops from the one-hot of the buckets and the mask vector. */
int umt5_fill_bias(vgen_umt5_session *s, const float *rel_bias, const uint8_t *mask, int64_t n, vgen_err *err);
/* Device backends: uploads the one-hot of the buckets for n tokens (when n changed) and the mask vector. */
int umt5_bias_inputs(vgen_umt5_session *s, const uint8_t *mask, int64_t n, vgen_err *err);
/* Uploads rows [0, rows) of row_bytes each to dev, filled chunk by chunk in the staging buffer by fill. */
typedef void (*umt5_fill_rows_fn)(const vgen_umt5_session *s, int64_t r0, int64_t nr, void *dst);
int umt5_upload_rows(vgen_umt5_session *s, void *dev, size_t row_bytes, int64_t rows, umt5_fill_rows_fn fill,
                     vgen_err *err);

/* Residual-stream state of a forward under bf16 compute: whether torch still holds it in bf16. */
typedef struct umt5_fwd {
    int64_t n;            /* tokens */
    int resid_bf16;
} umt5_fwd;

/* x[n, D] = RMS(x) w in the compute dtype, into dst (with torch's bf16 rounding order under bf16 compute). */
int umt5_norm(vgen_umt5_session *s, int64_t n, const float *w, vgen_tensor *dst, vgen_err *err);
/* att[n, Nh, Dk] = softmax(q k^T + bias) v, no 1/sqrt(Dk) scaling (umt5_attn.c). */
int umt5_attention(vgen_umt5_session *s, int64_t n, vgen_err *err);
int umt5_attention_block(vgen_umt5_session *s, const umt5_layer *ly, const uint8_t *mask, umt5_fwd *f,
                         vgen_err *err);
int umt5_ffn_block(vgen_umt5_session *s, const umt5_layer *ly, umt5_fwd *f, vgen_err *err);

/* What a session's buffers depend on besides the configuration (umt5_session.c). */
typedef struct umt5_session_shape {
    vgen_dtype compute;
    int wo_f32, round_scores;
    int device;           /* the backend's memory is not host-addressable: activations only, plus the one-hot,
                           * the mask vector and (round_scores) the identity; buckets on the host */
} umt5_session_shape;

/* Bytes of a session's arena (device buffer) for encodes of up to max_len tokens. */
size_t umt5_session_arena_bytes(const vgen_umt5_config *c, const umt5_session_shape *sh, int64_t max_len);

#endif

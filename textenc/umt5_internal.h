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
    int32_t *bucket;      /* [2 max_len - 1] bucket of rel = j - i, indexed rel + max_len - 1 */
    float *rel;           /* [Nh, 2 max_len - 1] one layer's bias by relative position */
} umt5_acts;

struct vgen_umt5_session {
    const vgen_umt5_model *m;
    vgen_backend *be;
    int64_t max_len;
    vgen_umt5_hook_fn hook;
    void *hook_user_data;
    vgen_abort_fn abort;
    void *abort_user_data;
    vgen_memstat stat;
    vgen_arena *arena;
    umt5_acts a;
};

/* A view [rows, cols] of the first rows of t (same dtype and data). */
vgen_tensor umt5_rows(const vgen_tensor *t, int64_t rows, int64_t cols);

/* ---- forward pieces (umt5_bias.c, umt5_layer.c) ---- */

/* bias[h, i, j] = rel_bias[h, bucket(j - i)] + (mask && !mask[j] ? -inf : 0) for i, j < n. */
void umt5_fill_bias(vgen_umt5_session *s, const float *rel_bias, const uint8_t *mask, int64_t n);

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
} umt5_session_shape;

/* Bytes of a session's arena for encodes of up to max_len tokens. */
size_t umt5_session_arena_bytes(const vgen_umt5_config *c, const umt5_session_shape *sh, int64_t max_len);

#endif

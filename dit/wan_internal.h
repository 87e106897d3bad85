/* wan_internal.h - what the files of dit/ share: the model's weight structs, the tensor table (internal names and
 * the per-layout name maps), and the session layout. Not for use outside dit/. */
#ifndef VGEN_DIT_WAN_INTERNAL_H
#define VGEN_DIT_WAN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "wan_dit.h"

/* A linear layer y = x W^T + b. */
typedef struct wan_linear {
    vgen_qmatrix w;     /* [N, K]: a view into the mapped file, or into own */
    float *b;           /* [N] f32, owned by the model */
    void *own;          /* weight storage owned by the model (copy or quantized-on-load), else NULL */
    size_t own_bytes;
    float scale1;       /* the per-tensor scale of an fp8 "scaled" weight (w.scales points here) */
} wan_linear;

typedef struct wan_block {
    wan_linear sa_q, sa_k, sa_v, sa_o;      /* self-attention [D, D] */
    wan_linear ca_q, ca_k, ca_v, ca_o;      /* cross-attention [D, D] */
    wan_linear ffn1, ffn2;                  /* [Dff, D], [D, Dff] */
    float *sa_nq, *sa_nk, *ca_nq, *ca_nk;   /* [D] RMSNorm weights over all heads */
    float *n2_w, *n2_b;                     /* [D] affine LayerNorm before cross-attention (diffusers norm2) */
    float *table;                           /* [6, D] modulation table (scale_shift_table [1, 6, D]) */
} wan_block;

typedef struct wan_globals {
    wan_linear patch;         /* [D, C_in * 4]: the Conv3d (1, 2, 2) weight flattened (c, kh, kw), f32 copy */
    wan_linear time1, time2;  /* [D, freq_dim], [D, D] time embedder (kept f32 as diffusers does) */
    wan_linear tproj;         /* [6D, D] */
    wan_linear text1, text2;  /* [D, Dt], [D, D] */
    wan_linear head;          /* [4 C_out, D] proj_out */
    float *head_table;        /* [2, D] (shift, scale) */
} wan_globals;

struct vgen_dit_model {
    vgen_wan_config cfg;
    vgen_wan_layout layout;
    vgen_dtype compute;
    vgen_st_set *set;         /* the open checkpoint: views point into it */
    wan_globals g;
    wan_block *blocks;        /* [layers] */
    size_t owned_bytes, mapped_bytes;
};

/* ---- the tensor table (wan_names.c) ---- */

typedef enum wan_kind {
    WAN_K_LINEAR = 0,  /* 2-D weight [N, K]: a matrix in any weight format */
    WAN_K_VEC,         /* 1-D [N]: bias or norm weight, f32 copy */
    WAN_K_TABLE,       /* 3-D [1, n, D] modulation table, f32 copy [n, D] */
    WAN_K_PATCH        /* 5-D [D, C, 1, 2, 2] patch embedding, f32 copy as a [D, 4C] matrix */
} wan_kind;

/* Symbols of expected shapes, resolved against the config. */
typedef enum wan_sym {
    WAN_S_END = 0, WAN_S_1, WAN_S_2, WAN_S_6, WAN_S_DIM, WAN_S_DIM6, WAN_S_FFN, WAN_S_TEXT, WAN_S_FREQ, WAN_S_IN,
    WAN_S_OUT4
} wan_sym;

typedef struct wan_slot {
    const char *name[2];     /* [0] diffusers, [1] original (ComfyUI adds a prefix); block slots: after "blocks.N." */
    wan_kind kind;
    unsigned char shape[5];  /* wan_sym, WAN_S_END-terminated */
    unsigned char bf16_param; /* diffusers holds it in bf16 under torch_dtype=bf16: rounded in bf16 compute */
    unsigned char quantizable; /* a block linear weight: quantize-on-load applies */
    size_t offset;           /* of the destination in wan_globals / wan_block: a wan_linear (LINEAR, PATCH) or a
                              * float * (VEC, TABLE) */
} wan_slot;

extern const wan_slot wan_global_slots[];
extern const size_t wan_global_slot_count;
extern const wan_slot wan_block_slots[];
extern const size_t wan_block_slot_count;

/* The stored name of a slot (block < 0 for global slots) in layout l; VGEN_ERR_INVALID_ARGUMENT if it does not
 * fit in buf. */
int wan_slot_name(vgen_wan_layout l, const wan_slot *s, int64_t block, char *buf, size_t size);
/* The expected shape of a slot under config c; returns the rank. */
int wan_slot_shape(const wan_slot *s, const vgen_wan_config *c, int64_t shape[5]);

/* The number of consecutive blocks from 0 the checkpoint holds (wan_derive.c). */
int64_t wan_stored_blocks(const vgen_st_set *set, vgen_wan_layout l);

/* ---- tensor loading (wan_tensors.c) ---- */

typedef struct wan_load_ctx {
    const vgen_st_set *set;
    vgen_dtype compute;
    int quantize;            /* 1: quantize block linears to format */
    vgen_wformat format;
    vgen_threadpool *pool;
    size_t owned_bytes, mapped_bytes;
} wan_load_ctx;

/* Loads tensor `name` of slot s into dst (a wan_linear or a float *), checking it has shape[0..rank). */
int wan_load_slot(wan_load_ctx *lc, const wan_slot *s, const char *name, const int64_t *shape, int rank, void *dst,
                  vgen_err *err);
/* A linear weight's logical [N, K] whatever its storage (plain, vgen-quantized, fp8); VGEN_ERR_NOT_FOUND if absent. */
int wan_matrix_dims(const vgen_st_set *set, const char *name, int64_t *n, int64_t *k, vgen_err *err);
/* Frees the weight storage a linear owns (its bias belongs to the bias slot). */
void wan_linear_release(wan_linear *l);

/* Quantize-on-load (wan_quant.c): src [N, K] in any format -> lin->own in format f; lin->w describes it. */
int wan_quantize_linear(const vgen_qmatrix *src, vgen_wformat f, vgen_threadpool *pool, const char *name,
                        wan_linear *lin, vgen_err *err);

/* ---- RoPE (wan_rope.c) ---- */

/* cos_t, sin_t [L, Dh/2]: token l = (f, h, w) f-major over (F', H', W'); pair j of head_dim. */
void wan_rope_tables(int64_t head_dim, int64_t fp, int64_t hp, int64_t wp, float *cos_t, float *sin_t);

/* ---- session (wan_session.c) ---- */

typedef struct wan_acts {
    vgen_tensor x;        /* [L, D] residual stream (compute dtype) */
    vgen_tensor h;        /* [L, D] normalised / modulated input of a sub-block */
    vgen_tensor q, k, v;  /* [L, D] = [L, Nh, Dh] self-attention projections */
    vgen_tensor att;      /* [L, D] attention output (heads concatenated) */
    vgen_tensor o;        /* [L, D] sub-block output (projection) */
    vgen_tensor ff;       /* [L, Dff] FFN hidden */
    vgen_tensor ctx_in;   /* [Lc, Dt] context in the compute dtype */
    vgen_tensor ctx_h;    /* [Lc, D] text embedder hidden */
    vgen_tensor ctx;      /* [Lc, D] embedded context */
    vgen_tensor ck, cv;   /* [Lc, D] cross-attention keys / values */
    vgen_tensor patches;  /* [L, 4 C_in] gathered patches */
    vgen_tensor proj;     /* [L, 4 C_out] head output */
    vgen_tensor tsin;     /* [1, freq_dim] f32 sinusoidal timestep embedding */
    vgen_tensor t_h;      /* [1, D] f32 time embedder hidden */
    vgen_tensor temb;     /* [1, D] f32 time embedding */
    vgen_tensor temb_c;   /* [1, D] temb in the compute dtype, SiLU'd in place after the head modulation is read */
    vgen_tensor tproj;    /* [1, 6D] time projection (compute dtype) */
    float *mod;           /* [6, D] f32 per-block modulation (table + tproj) */
    float *head_mod;      /* [2, D] f32 head (shift, scale) */
    float *rope_cos, *rope_sin; /* [L, Dh/2] */
} wan_acts;

/* Host copies of what crosses between host and device each forward: the device tensors themselves on a
 * host-addressable backend, staging buffers otherwise. */
typedef struct wan_host_io {
    void *patches;        /* [L, 4 C_in] compute dtype */
    void *proj;           /* [L, 4 C_out] compute dtype */
    float *tsin;          /* [freq_dim] */
    void *ctx;            /* [Lc, Dt] compute dtype */
    void *buf;            /* the staging allocation, NULL on a host-addressable backend */
    size_t bytes;
} wan_host_io;

struct vgen_dit_session {
    const vgen_dit_model *m;
    vgen_backend *be;
    vgen_dit_session_params p;
    int64_t fp, hp, wp, tokens;  /* F', H', W', L */
    vgen_memstat stat;
    vgen_dit_placement *place;   /* the weights on be (own_place: made by the session) */
    int own_place;
    const wan_globals *g;
    void *dev;                   /* every activation: one device buffer of dev_bytes */
    size_t dev_bytes;
    wan_acts a;
    wan_host_io io;
};

/* ---- block streaming during a forward (wan_place.c) ---- */

/* Queues the first streamed blocks (called before the embeddings, so their copies overlap them). */
int wan_place_begin(vgen_dit_placement *p, vgen_err *err);
/* Block b's weights, once they are on the device (the compute queue waits for its copy). */
int wan_place_block(vgen_dit_placement *p, int64_t b, const wan_block **out, vgen_err *err);
/* After block b's ops are queued: its slot is refilled with block b + 2. */
int wan_place_done(vgen_dit_placement *p, int64_t b, vgen_err *err);
const wan_globals *wan_place_globals(const vgen_dit_placement *p);

/* ---- forward pieces (wan_embed.c, wan_block.c) ---- */

/* patches[l, c*4 + kh*2 + kw] = latent[c, f, 2h + kh, 2w + kw] (l = (f*H' + h)*W' + w), in patches' dtype. */
void wan_patchify(const float *latent, int64_t c_in, int64_t f, int64_t h, int64_t w, vgen_tensor *patches);
/* out[c, f, 2h + b, 2w + d] = proj[l, (b*2 + d)*C_out + c], as f32. */
void wan_unpatchify(const vgen_tensor *proj, int64_t c_out, int64_t f, int64_t h, int64_t w, float *out);
/* tsin[freq_dim] = [cos(t s_k) | sin(t s_k)], s_k = exp(-ln(10000) k / (freq_dim/2)), computed as torch does in f32. */
void wan_timestep_sinusoid(float t, int64_t freq_dim, float *tsin);

int wan_embed_patches(vgen_dit_session *s, const float *latent, vgen_err *err);
int wan_embed_time(vgen_dit_session *s, float t, vgen_err *err);
int wan_embed_text(vgen_dit_session *s, const vgen_tensor *context, vgen_err *err);
int wan_block_forward(vgen_dit_session *s, const wan_block *b, int64_t bi, vgen_err *err);
int wan_head_forward(vgen_dit_session *s, vgen_err *err);

/* Calls the session's hook, if any, with name (or "block.<bi>.<what>" when bi >= 0). */
void wan_hook(const vgen_dit_session *s, int64_t bi, const char *what, const vgen_tensor *t);
/* A 2-D view [rows, cols] of t's data with t's dtype. */
vgen_tensor wan_view2(const vgen_tensor *t, int64_t rows, int64_t cols);
/* A 2-D f32 view of p (on the session's device). */
vgen_tensor wan_f32_view(const vgen_dit_session *s, const float *p, int64_t rows, int64_t cols);
/* y = x in y's dtype: a device copy when the dtypes agree, else the convert op. */
int wan_copy_convert(vgen_backend *be, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);

/* Bytes of a session's arena for `tokens` tokens and ctx_len context rows (wan_session.c). */
size_t wan_session_arena_bytes(const vgen_wan_config *c, vgen_dtype compute, int64_t tokens, int64_t ctx_len);

#endif

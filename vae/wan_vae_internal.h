/* wan_vae_internal.h - the decoder's weights as loaded, and the per-decode state (caches, scratch), shared by the
 * files of vae/. Not part of the module's interface (wan_vae.h). */
#ifndef VGEN_VAE_WAN_VAE_INTERNAL_H
#define VGEN_VAE_WAN_VAE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "wan_vae.h"

#define WVAE_MAX_RES (8 + 1)        /* residual blocks per level: num_res_blocks + 1 */
#define WVAE_CACHE_T 2              /* frames a causal convolution keeps (diffusers CACHE_T) */

/* A convolution. Causal ones (kt == 3) pad time with two frames before: the cache, else zeros. */
typedef struct wvae_conv {
    vgen_tensor w;      /* [Cout, Cin, kt, kh, kw] f32 (a Conv2d weight is stored with kt = 1) */
    const float *b;     /* [Cout] */
    int cin, cout, kt, kh, kw;
    int slot;           /* cache slot (causal convs), else -1 */
} wvae_conv;

typedef struct wvae_res {
    int cin, cout;
    const float *gamma1;    /* [Cin] */
    wvae_conv conv1;        /* Cin -> Cout, 3x3x3 causal */
    const float *gamma2;    /* [Cout] */
    wvae_conv conv2;        /* Cout -> Cout, 3x3x3 causal */
    int has_shortcut;
    wvae_conv shortcut;     /* Cin -> Cout, 1x1x1 */
} wvae_res;

typedef struct wvae_attn {
    int dim;                          /* C */
    const float *gamma;               /* [C] */
    vgen_qmatrix wq, wk, wv, wp;      /* [C, C] f32: rows of to_qkv (q, k, v) and proj */
    const float *bq, *bk, *bv, *bp;   /* [C] */
} wvae_attn;

typedef struct wvae_level {
    int cin, cout, n_res;
    wvae_res res[WVAE_MAX_RES];
    int upsample;           /* 0, 2 (upsample2d) or 3 (upsample3d) */
    wvae_conv resample;     /* nearest x2 then Conv2d 3x3: Cout -> Cout / 2 */
    wvae_conv time_conv;    /* upsample3d: (3, 1, 1) causal, Cout -> 2 Cout */
} wvae_level;

struct vgen_wan_vae {
    vgen_wan_vae_config cfg;
    vgen_wan_vae_layout layout;
    float *storage;         /* every weight, f32 */
    size_t storage_floats;
    wvae_conv post_quant;   /* z -> z, 1x1x1 */
    wvae_conv conv_in;      /* z -> mid, 3x3x3 causal */
    wvae_res mid_res[2];
    wvae_attn attn;
    wvae_level levels[VGEN_WAN_VAE_MAX_LEVELS];
    const float *norm_out_gamma; /* [base] */
    wvae_conv conv_out;     /* base -> 3, 3x3x3 causal */
    int n_slots;            /* causal convolutions = cache slots */
};

/* ---- device memory of one decode: scratch and caches carved from one backend buffer, or a dry run (plans) ----
 *
 * buf [scratch_cap + cache_cap] comes from be->alloc: the scratch is a bump stack at its start (64-byte blocks,
 * marks and resets), the causal caches are taken after it on first use (64-byte blocks too). A dry run has no
 * buffer and only counts, so the plan equals what a decode uses. */

typedef struct wvae_mem {
    vgen_backend *be;           /* owner of buf; NULL in a dry run */
    uint8_t *buf;
    size_t scratch_cap, cache_cap;
    size_t used, peak;          /* scratch */
    size_t cache_used;
} wvae_mem;

/* Allocates buf on be: scratch bytes for the stack, cache bytes for the caches. */
int wvae_mem_open(wvae_mem *m, vgen_backend *be, size_t scratch, size_t cache, vgen_err *err);
void wvae_mem_close(wvae_mem *m);
/* Allocates an f32 tensor [shape] on the scratch stack (data NULL in a dry run). VGEN_ERR_INTERNAL if it is full
 * (the plan was wrong). */
int wvae_alloc(wvae_mem *m, vgen_tensor *t, int n_dims, const int64_t *shape, vgen_err *err);
size_t wvae_mark(const wvae_mem *m);
void wvae_reset(wvae_mem *m, size_t mark);
size_t wvae_peak(const wvae_mem *m);
/* bytes (rounded up to 64) from the cache region: *out NULL in a dry run; VGEN_ERR_INTERNAL when full. */
int wvae_cache_take(wvae_mem *m, size_t bytes, float **out, vgen_err *err);
/* A view of t's data with another shape of no more elements. */
void wvae_view(vgen_tensor *v, const vgen_tensor *t, int n_dims, const int64_t *shape);

/* ---- causal caches ---- */

typedef struct wvae_cache {
    float *data;            /* [C, 2, H, W] on the device; NULL until first used (and in a dry run) */
    int64_t c, h, w;
    int n;                  /* frames held: 0, 1 or 2 */
} wvae_cache;

/* ---- one decoder over one latent rectangle: caches and frame counters ---- */

typedef int (*wvae_emit_fn)(void *user_data, int64_t index, const float *pixels /* [3, H, W] */, int h, int w,
                            vgen_err *err);

typedef struct wvae_dec {
    const vgen_wan_vae *m;
    vgen_backend *be;
    int dry;                    /* plan only: no data is touched */
    int split;                  /* stream mode: one frame at a time below every upsampler */
    int denormalize;
    int lat_h, lat_w;
    int host;                   /* the backend's memory is host memory (be->host_addressable) */
    wvae_mem *mem;              /* borrowed scratch */
    wvae_cache *caches;         /* [m->n_slots] */
    size_t cache_bytes;         /* allocated (or, dry, planned) */
    size_t cache_mark;          /* mem->cache_used when this decoder started */
    float *host_frame;          /* [3, H, W] host copy of an output frame (!host only) */
    int time_seen[VGEN_WAN_VAE_MAX_LEVELS]; /* upsample3d: the first frame has passed (diffusers' "Rep") */
    int64_t frames_in, frames_out;
    wvae_emit_fn emit;
    void *emit_user_data;
    vgen_wan_vae_tap_fn tap;
    void *tap_user_data;
} wvae_dec;

int wvae_dec_init(wvae_dec *d, const vgen_wan_vae *m, vgen_backend *be, wvae_mem *mem, int lat_h, int lat_w,
                  int dry, int split, vgen_err *err);
void wvae_dec_release(wvae_dec *d);
/* Decodes latent frames [t0, t0 + nt) of z [z_dim, F, lat_h, lat_w] (f32; denormalized first if d->denormalize) as
 * one chunk, emitting every output frame it completes. In a dry run z only gives the shape. */
int wvae_dec_push_frames(wvae_dec *d, const vgen_tensor *z, int64_t t0, int64_t nt, vgen_err *err);

/* ---- layers (wan_vae_layers.c), all on chunks x [C, T, H, W] ---- */

/* y [Cout, T, H, W] = causal conv of x with the cache of conv->slot (updated). */
int wvae_causal_conv(wvae_dec *d, const wvae_conv *cv, const vgen_tensor *x, int64_t t0, int64_t nt, vgen_tensor *y,
                     vgen_err *err);
int wvae_res_block(wvae_dec *d, const wvae_res *r, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);
int wvae_attention(wvae_dec *d, const wvae_attn *a, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);
/* y [Cout / 2, T', 2H, 2W]: T' = T (upsample2d), or 2 T (upsample3d; 2 T - 1 for the very first chunk). */
int wvae_upsample(wvae_dec *d, int level, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);
int64_t wvae_upsample_frames(const wvae_dec *d, int level, int64_t t);
/* y = silu(channel_rms_norm(x, gamma)); y may alias x. */
int wvae_norm_silu(wvae_dec *d, const vgen_tensor *x, const float *gamma, vgen_tensor *y, vgen_err *err);

/* ---- backend calls (wan_vae_ops.c): skipped in a dry run; a missing op is VGEN_ERR_UNSUPPORTED ---- */

int wvae_op_conv(wvae_dec *d, const vgen_tensor *x, const wvae_conv *cv, int pad_t, int pad_hw, vgen_tensor *y,
                 vgen_err *err);
int wvae_op_norm(wvae_dec *d, const vgen_tensor *x, const float *gamma, vgen_tensor *y, vgen_err *err);
int wvae_op_silu(wvae_dec *d, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);
int wvae_op_add(wvae_dec *d, const vgen_tensor *a, const vgen_tensor *b, vgen_tensor *y, vgen_err *err);
int wvae_op_linear(wvae_dec *d, const vgen_tensor *x, const vgen_qmatrix *w, const float *bias, vgen_tensor *y,
                   vgen_err *err);
int wvae_op_attention(wvae_dec *d, const vgen_tensor *q, const vgen_tensor *k, const vgen_tensor *v, float scale,
                      vgen_tensor *out, vgen_err *err);

/* ---- data movement on the device (wan_vae_cache.c, wan_vae_moves.c): copy_strided, skipped in a dry run ---- */

/* win [C, n + nt, H, W] = cache frames ++ x frames [t0, t0 + nt); *n = cached frames used. */
int wvae_window(wvae_dec *d, const wvae_cache *cache, const vgen_tensor *x, int64_t t0, int64_t nt, vgen_tensor *win,
                vgen_err *err);
/* Keeps the last (up to) 2 frames of win [C, F, H, W] in cache (allocating it on first use). */
int wvae_cache_update(wvae_dec *d, wvae_cache *cache, const vgen_tensor *win, vgen_err *err);
/* dst[:, dt0 + i] = src[:, st0 + i] for i < nt (same C, H, W). */
int wvae_copy_frames(wvae_dec *d, const vgen_tensor *src, int64_t st0, vgen_tensor *dst, int64_t dt0, int64_t nt,
                     vgen_err *err);
/* y [C, 2T, H, W] from tc [2C, T, H, W]: y[:, 2t + j] = tc[j C : (j + 1) C, t]  (upsample3d's reshape + stack). */
int wvae_interleave(wvae_dec *d, const vgen_tensor *tc, vgen_tensor *y, int64_t y_t0, vgen_err *err);
/* y [C, T, 2H, 2W] = nearest-neighbour x2 of x [C, T, H, W]. */
int wvae_nearest2x(wvae_dec *d, const vgen_tensor *x, vgen_tensor *y, vgen_err *err);
/* y [S, C] = x [C, S] transposed (rows = C, cols = S). */
int wvae_transpose(wvae_dec *d, const float *x, int64_t rows, int64_t cols, float *y, vgen_err *err);

/* ---- host <-> device (wan_vae_io.c) ---- */

/* zc [Z, nt, h, w] on the device = frames [t0, t0 + nt) of the host latent z (denormalized if d->denormalize). */
int wvae_latent_in(wvae_dec *d, const vgen_tensor *z, int64_t t0, vgen_tensor *zc, vgen_err *err);
/* Checks o [3, T, H, W] (device) for NaN/Inf, then emits its frames clamped to [-1, 1] from host memory. */
int wvae_emit_frames(wvae_dec *d, const vgen_tensor *o, vgen_err *err);
/* The debug tap with x, a host copy of it when the backend's memory is not host memory. */
void wvae_tap(wvae_dec *d, const char *name, const vgen_tensor *x);

/* ---- host side (wan_vae_frames.c) ---- */

/* z [C, T, h, w] = x[:, t0:t0 + T] / (1 / std[c]) + mean[c] (x [C, F, h, w]), as WanPipeline computes it in f32.
 * Host memory. */
void wvae_denormalize(const vgen_wan_vae_config *c, const vgen_tensor *x, int64_t t0, vgen_tensor *z);
/* First non-finite value of x [C, T, H, W] (host memory): 1 and its position, else 0. */
int wvae_find_nonfinite(const vgen_tensor *x, int64_t pos[4]);

/* ---- weights on the backend's device (wan_vae_place.c) ---- */

typedef struct wvae_placed {
    const vgen_wan_vae *m;  /* what the decode uses: the loaded model, or copy */
    vgen_wan_vae *copy;     /* the model with every weight pointer in dev (!host_addressable), else NULL */
    float *dev;             /* the device copy of m->storage */
    size_t bytes;
    vgen_backend *be;
} wvae_placed;

/* Host-addressable backends use the loaded weights as they are; others get one upload of all of them. */
int wvae_place(const vgen_wan_vae *m, vgen_backend *be, wvae_placed *p, vgen_err *err);
void wvae_unplace(wvae_placed *p);

/* ---- decode drivers (wan_vae_run.c, wan_vae_tiling.c, wan_vae_plan.c) ---- */

/* Tile geometry along one axis of `len` latent pixels: n tiles of `size`, the last one flush with the end. */
typedef struct wvae_axis {
    int len, size, overlap, n;
} wvae_axis;

typedef struct wvae_tiling {
    wvae_axis y, x;
} wvae_tiling;

void wvae_axis_init(wvae_axis *a, int len, int size, int overlap);
int wvae_axis_start(const wvae_axis *a, int k);
/* Blend weight of pixel p (pixels, scale = spatial factor) of tile k: linear ramps over the overlaps. */
float wvae_axis_weight(const wvae_axis *a, int k, int p, int scale);

/* Where decoded frames go: the user's callback (with rgb) and/or the video array. */
typedef struct wvae_out {
    const vgen_wan_vae_params *p;
    float *video;           /* [3, frames, H, W] or NULL */
    int64_t frames;
    int h, w;
    float *rgb;             /* [3, H, W] */
} wvae_out;

int wvae_out_frame(wvae_out *o, int64_t index, const float *pixels, vgen_err *err);
int wvae_check_abort(const vgen_wan_vae_params *p, const char *where, int64_t at, vgen_err *err);

/* Plans a decode of one tile of th x tw latent pixels: scratch peak and cache bytes of one decoder. */
int wvae_plan_tile(const vgen_wan_vae *m, int64_t n_frames, int th, int tw, vgen_wan_vae_mode mode, size_t *scratch,
                   size_t *cache, vgen_err *err);
/* Resolves the tiling of params for an h x w latent (fixed size, memory budget, or none) and plans it. */
int wvae_resolve(const vgen_wan_vae *m, int64_t n_frames, int h, int w, const vgen_wan_vae_params *p,
                 wvae_tiling *t, vgen_wan_vae_plan *plan, vgen_err *err);
/* Tiled decodes (more than one tile). */
int wvae_decode_tiled(const vgen_wan_vae *m, vgen_backend *be, const vgen_tensor *z, const wvae_tiling *t,
                      const vgen_wan_vae_plan *plan, wvae_out *out, vgen_err *err);

#endif

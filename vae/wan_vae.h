/* wan_vae.h - the Wan2.1 VAE decoder (diffusers AutoencoderKLWan, decoder half): config, weights, streaming decode.
 *
 * Dimension legend (core/tensor.h): C channels, F latent frames, T frames of a chunk at some level of the decoder,
 * h/w latent height/width, H/W pixel height/width (= 8h, 8w for Wan2.1).
 *
 * Decoding is causal in time: every 3x3x3 convolution sees its input padded with two frames before (zeros at the
 * start of the video, else the last two input frames it saw, kept in a per-convolution cache). So the decoder takes
 * one latent frame at a time and emits RGB frames through a callback as soon as they exist: latent frame 0 gives
 * output frame 0, every later latent frame gives 4 more (frames out = 1 + 4 (F - 1)). Memory does not grow with F.
 * The model is immutable once loaded (shareable across threads); a decode owns its caches and scratch.
 * See docs/vae.md for the math, the measured errors against diffusers and the memory figures.
 */
#ifndef VGEN_VAE_WAN_VAE_H
#define VGEN_VAE_WAN_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "err.h"
#include "safetensors.h"
#include "vgen.h"

#define VGEN_WAN_VAE_MAX_LEVELS 8   /* len(dim_mult) */
#define VGEN_WAN_VAE_MAX_Z 64       /* latent channels */

/* ---- config (vae/config.json of a diffusers checkpoint) ---- */

typedef struct vgen_wan_vae_config {
    int base_dim;                  /* decoder width unit: decoder_base_dim if set, else base_dim (Wan2.1: 96) */
    int z_dim;                     /* latent channels (16) */
    int n_levels;                  /* len(dim_mult) (4) */
    int dim_mult[VGEN_WAN_VAE_MAX_LEVELS];            /* [1, 2, 4, 4] */
    int num_res_blocks;            /* 2: each decoder level has num_res_blocks + 1 residual blocks */
    int temperal_downsample[VGEN_WAN_VAE_MAX_LEVELS]; /* n_levels - 1 flags, encoder order ([0, 1, 1]); the
                                                         decoder upsamples in time in the reverse order */
    int out_channels;              /* 3 */
    float latents_mean[VGEN_WAN_VAE_MAX_Z];           /* [z_dim] */
    float latents_std[VGEN_WAN_VAE_MAX_Z];            /* [z_dim] */
} vgen_wan_vae_config;

/* The Wan2.1 values (diffusers' AutoencoderKLWan defaults). */
void vgen_wan_vae_config_default(vgen_wan_vae_config *c);
/* Parses a diffusers config.json held in memory (display names it in messages); starts from the defaults, so
 * absent keys keep the Wan2.1 values. Errors: VGEN_ERR_MALFORMED (not JSON, a wrong type or length),
 * VGEN_ERR_UNSUPPORTED (is_residual true: the Wan2.2 VAE; patch_size set), naming the key. */
int vgen_wan_vae_config_parse(const char *json, size_t n, const char *display, vgen_wan_vae_config *c,
                              vgen_err *err);
int vgen_wan_vae_config_load(const char *path, vgen_wan_vae_config *c, vgen_err *err);
/* Range checks (positive dims, z_dim <= 64, finite non-zero std, ...): VGEN_ERR_INVALID_ARGUMENT naming the field. */
int vgen_wan_vae_config_validate(const vgen_wan_vae_config *c, vgen_err *err);

/* Decoder geometry derived from the config (WanDecoder3d): level i = up_blocks.i, i in [0, n_levels). */
int vgen_wan_vae_mid_dim(const vgen_wan_vae_config *c);               /* base * dim_mult[-1] (384) */
int vgen_wan_vae_level_in(const vgen_wan_vae_config *c, int i);       /* input channels of up_blocks.i */
int vgen_wan_vae_level_out(const vgen_wan_vae_config *c, int i);      /* channels of its residual blocks */
/* 0: no upsampler (last level), 2: upsample2d, 3: upsample3d (x2 in space and time). */
int vgen_wan_vae_level_upsample(const vgen_wan_vae_config *c, int i);
int vgen_wan_vae_spatial_factor(const vgen_wan_vae_config *c);        /* 8 */
/* Output frames for n_latent latent frames: 1 + 4 (n - 1) for Wan2.1; 0 for n <= 0. */
int64_t vgen_wan_vae_frames_out(const vgen_wan_vae_config *c, int64_t n_latent);

/* ---- tensor names ---- */

typedef enum vgen_wan_vae_layout {
    VGEN_WAN_VAE_LAYOUT_DIFFUSERS = 0, /* decoder.conv_in, decoder.up_blocks.0.resnets.1.conv1, post_quant_conv */
    VGEN_WAN_VAE_LAYOUT_ORIGINAL = 1   /* the Wan repository / ComfyUI wan_2.1_vae.safetensors: decoder.conv1,
                                          decoder.upsamples.1.residual.2, decoder.head.2, conv2 */
} vgen_wan_vae_layout;

/* The name `layout` gives the tensor that diffusers calls dname (internal names are the diffusers ones). Writes
 * out (NUL-terminated). VGEN_ERR_NOT_FOUND if dname is not a decoder tensor of this config. */
int vgen_wan_vae_name_map(const vgen_wan_vae_config *c, vgen_wan_vae_layout layout, const char *dname, char *out,
                          size_t out_size, vgen_err *err);

/* Lists the decoder tensors of config c in load order: the diffusers name and the shape a checkpoint stores
 * (Conv2d weights 4-D, norm gains [C, 1, 1(, 1)]). fn returns VGEN_OK to go on; anything else stops the listing
 * and is returned. For tools that write checkpoints (bench/vae.c writes a random one). */
typedef int (*vgen_wan_vae_tensor_fn)(void *user_data, const char *name, int n_dims, const int64_t *shape);
int vgen_wan_vae_list_tensors(const vgen_wan_vae_config *c, vgen_wan_vae_tensor_fn fn, void *user_data,
                              vgen_err *err);

/* ---- model ---- */

typedef struct vgen_wan_vae vgen_wan_vae;

/* Loads the decoder from path: a diffusers vae/ directory (config.json + diffusion_pytorch_model.safetensors), a
 * .safetensors file in either layout, or a sharded index. Config: cfg if non-NULL, else path/config.json when
 * path is a directory holding one, else derived from the tensor shapes (docs/vae.md, "Config without
 * config.json"). Weights may be F32, F16 or BF16 and are kept as f32. A missing tensor is VGEN_ERR_NOT_FOUND and a
 * mis-shaped one VGEN_ERR_SHAPE, each naming the tensor as the file spells it and the expected shape; a NaN/Inf
 * weight is VGEN_ERR_NUMERIC naming the tensor. */
int vgen_wan_vae_load(const char *path, const vgen_wan_vae_config *cfg, vgen_wan_vae **out, vgen_err *err);
/* The same from an open set (which may be closed afterwards: weights are copied). */
int vgen_wan_vae_load_set(const vgen_st_set *set, const vgen_wan_vae_config *cfg, vgen_wan_vae **out,
                          vgen_err *err);
void vgen_wan_vae_free(vgen_wan_vae **m);

const vgen_wan_vae_config *vgen_wan_vae_get_config(const vgen_wan_vae *m);
vgen_wan_vae_layout vgen_wan_vae_get_layout(const vgen_wan_vae *m);
size_t vgen_wan_vae_weight_bytes(const vgen_wan_vae *m);

/* Derives a config from tensor shapes (no config.json): see docs/vae.md. latents mean/std are the Wan2.1 values. */
int vgen_wan_vae_config_from_set(const vgen_st_set *set, vgen_wan_vae_config *c, vgen_wan_vae_layout *layout,
                                 const char **prefix, vgen_err *err);

/* ---- decoding ---- */

/* One decoded frame, handed to the frame callback; the pointers are valid during the call only. */
typedef struct vgen_wan_vae_frame {
    int64_t index;        /* output frame index, from 0 */
    int height, width;    /* pixels */
    const float *pixels;  /* [3, H, W] decoder output clamped to [-1, 1] (what diffusers' vae.decode returns) */
    const float *rgb;     /* [3, H, W] pixels * 0.5 + 0.5, in [0, 1] (what WanPipeline's output_type="np" holds) */
} vgen_wan_vae_frame;

/* Returns VGEN_OK, or a negative vgen_status that stops the decode and is returned by it (a failing sink). */
typedef int (*vgen_wan_vae_frame_fn)(void *user_data, const vgen_wan_vae_frame *frame);

/* Debug tap: called after each stage with the chunk it produced. name: "post_quant_conv", "decoder.conv_in",
 * "decoder.mid_block", "decoder.up_blocks.N", "decoder.conv_out" (before the clamp); x: [C, T, h', w'] f32.
 * Concatenating the chunks of one name along T gives the whole-sequence tensor. */
typedef void (*vgen_wan_vae_tap_fn)(void *user_data, const char *name, const vgen_tensor *x);

typedef enum vgen_wan_vae_mode {
    VGEN_WAN_VAE_STREAM = 0, /* one latent frame at a time, and one frame at a time through every level below an
                                upsampler: memory flat in the frame count (the default) */
    VGEN_WAN_VAE_WHOLE = 1   /* every layer over all frames at once (memory grows with F): a check of the cache
                                logic, and what diffusers' layer-by-layer decode without a cache computes */
} vgen_wan_vae_mode;

typedef enum vgen_wan_vae_tile_order {
    VGEN_WAN_VAE_TILES_FRAME_MAJOR = 0, /* every tile per latent frame: frames stream out; each tile keeps its own
                                           caches, so cache memory is that of the whole frame plus the overlaps */
    VGEN_WAN_VAE_TILES_TILE_MAJOR = 1   /* one tile over all frames, then the next: only one tile's caches live, but
                                           the blended video [3, F_out, H, W] is held until the last tile is done
                                           and frames are emitted at the end */
} vgen_wan_vae_tile_order;

typedef struct vgen_wan_vae_params {
    vgen_wan_vae_mode mode;
    int denormalize;                /* 1 (default): latents are in the DiT's space and get latents / (1/std) + mean
                                       first, as WanPipeline does; 0: they are already what vae.decode takes */
    /* Spatial tiling, in latent pixels. tile_h/tile_w 0 with memory_budget 0: no tiling. */
    int tile_h, tile_w;             /* tile size (clamped to the latent size) */
    int tile_overlap;               /* overlap between neighbouring tiles; default 4 (32 pixels) */
    size_t memory_budget;           /* > 0 and tile_h == tile_w == 0: the largest tiles whose planned peak fits, in
                                       tile_order; a frame-major request that cannot fit falls back to tile-major */
    vgen_wan_vae_tile_order tile_order; /* whole-mode decodes always go tile-major */
    vgen_wan_vae_frame_fn on_frame;
    void *frame_user_data;
    vgen_abort_fn abort;            /* checked between latent frames (and tiles) */
    void *abort_user_data;
    vgen_wan_vae_tap_fn tap;
    void *tap_user_data;
} vgen_wan_vae_params;

vgen_wan_vae_params vgen_wan_vae_params_init(void);

/* Decodes latents [C=z_dim, F, h, w] f32 (batch 1) into frames, streamed to params->on_frame and, if video is
 * non-NULL, also written to video [3, frames_out(F), 8h, 8w] (clamped to [-1, 1]). Errors: VGEN_ERR_SHAPE (wrong
 * channel count or rank), VGEN_ERR_NUMERIC (NaN/Inf in the latents, naming [c, f, y, x]; or in a decoded frame,
 * naming the frame, before the callback sees it), VGEN_ERR_ABORTED, VGEN_ERR_BUDGET (no tiling fits
 * memory_budget), VGEN_ERR_UNSUPPORTED (the backend lacks an op), or what the frame callback returned. */
int vgen_wan_vae_decode(const vgen_wan_vae *m, vgen_backend *be, const vgen_tensor *latents,
                        const vgen_wan_vae_params *params, float *video, vgen_err *err);

/* ---- memory plan ---- */

typedef struct vgen_wan_vae_plan {
    int tile_h, tile_w, tile_overlap;   /* latent pixels; tile = whole latent when untiled */
    int tiles_y, tiles_x;
    vgen_wan_vae_tile_order tile_order; /* the order the decode will use */
    size_t cache_bytes;                 /* causal caches alive at once */
    size_t scratch_bytes;               /* the scratch arena (activations of one chunk of one tile) */
    size_t frame_bytes;                 /* frame buffers (output, blending); the video accumulator for tile-major */
    size_t total_bytes;                 /* sum of the above; weights (vgen_wan_vae_weight_bytes) and the backend's
                                           own bounded scratch are not included */
} vgen_wan_vae_plan;

/* Plans a decode of n_frames latent frames of h x w with params (tiling resolved as the decode would: from the
 * tile size or the memory budget). Runs the decoder's allocation sequence without computing. */
int vgen_wan_vae_plan_decode(const vgen_wan_vae *m, int64_t n_frames, int h, int w, const vgen_wan_vae_params *params,
                             vgen_wan_vae_plan *out, vgen_err *err);

/* The same plan from the configuration alone (no weight is read), and the bytes of weights a load would hold. */
int vgen_wan_vae_plan_config(const vgen_wan_vae_config *c, int64_t n_frames, int h, int w,
                             const vgen_wan_vae_params *params, vgen_wan_vae_plan *out, size_t *weight_bytes,
                             vgen_err *err);

/* ---- frame helpers ---- */

/* rgb8[H, W, 3] (interleaved) = round(rgb[c, y, x] * 255) with round-half-to-even, as diffusers' postprocess
 * ((x * 255).round() of the [0, 1] image). */
void vgen_wan_vae_frame_to_rgb8(const vgen_wan_vae_frame *f, uint8_t *rgb8);
/* PSNR in dB of two [n] arrays of values in [0, max_value] (INFINITY when equal). */
double vgen_wan_vae_psnr(const float *a, const float *b, size_t n, double max_value);

#endif

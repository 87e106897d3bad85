/* wan_dit.h - the Wan2.1 diffusion transformer (diffusers' WanTransformer3DModel), written against the backend
 * interface (core/backend.h) only.
 *
 * Split as whisper.cpp does (DESIGN.md section 2): a model (config + weights) is loaded once, is immutable and may
 * be shared by any number of sessions and threads; a session owns the activations of one latent shape, in one
 * arena whose bytes are counted, and runs forwards on one backend.
 *
 *   vgen_dit_params p; vgen_dit_params_init(&p);       p.compute = VGEN_DTYPE_BF16; p.dit_format = "int8_row";
 *   vgen_dit_load("Wan2.1-T2V-1.3B-Diffusers/transformer", &p, &model, &err);
 *   vgen_dit_session_params sp; vgen_dit_session_params_init(&sp); sp.frames = 21; sp.height = 60; sp.width = 104;
 *   vgen_dit_session_new(model, backend, &sp, &session, &err);
 *   vgen_dit_forward(session, &latent, t, &context, &velocity, &err);   // as often as needed
 *
 * Dimension legend: C channels, F/H/W latent frames/height/width, L = F * H/2 * W/2 tokens, D model dim, Lc context
 * rows (512 for Wan), Dt text_dim, Dh head dim, Nh heads. See docs/dit.md.
 */
#ifndef VGEN_DIT_WAN_DIT_H
#define VGEN_DIT_WAN_DIT_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "err.h"
#include "log.h"
#include "safetensors.h"
#include "tensor.h"
#include "threadpool.h"

/* ---- configuration ---- */

typedef struct vgen_wan_config {
    int64_t heads;            /* num_attention_heads */
    int64_t head_dim;         /* attention_head_dim */
    int64_t dim;              /* heads * head_dim */
    int64_t layers;           /* num_layers */
    int64_t ffn_dim;
    int64_t text_dim;
    int64_t freq_dim;         /* sinusoidal timestep embedding width (even) */
    int64_t in_channels, out_channels;
    int64_t patch[3];         /* (t, h, w); vgen supports (1, 2, 2) */
    float eps;                /* LayerNorm and RMSNorm epsilon */
    int64_t rope_max_seq_len; /* largest F, H/2, W/2 the RoPE tables cover */
} vgen_wan_config;

/* diffusers' defaults (the T2V-14B shape); text_dim 4096 as every Wan2.1 checkpoint. */
void vgen_wan_config_defaults(vgen_wan_config *c);

/* Parses a diffusers transformer/config.json held in memory (display names it in messages). Unknown keys are
 * ignored; a known key with a bad value fails with VGEN_ERR_MALFORMED (or VGEN_ERR_UNSUPPORTED for valid values
 * vgen does not run: image_dim / added_kv_proj_dim (I2V), qk_norm other than "rms_norm_across_heads",
 * cross_attn_norm false, patch_size other than [1, 2, 2]), the message naming the key and the value. */
int vgen_wan_config_parse(const char *text, size_t n, const char *display, vgen_wan_config *c, vgen_err *err);
/* Reads and parses the file at path. */
int vgen_wan_config_read(const char *path, vgen_wan_config *c, vgen_err *err);

/* ---- checkpoint layouts ---- */

typedef enum vgen_wan_layout {
    VGEN_WAN_LAYOUT_DIFFUSERS = 0, /* blocks.N.attn1.to_q.weight, condition_embedder.*, proj_out.* */
    VGEN_WAN_LAYOUT_ORIGINAL = 1,  /* the Wan2.1 repository: blocks.N.self_attn.q.weight, time_embedding.0.*, head.* */
    VGEN_WAN_LAYOUT_COMFYUI = 2,   /* original names under "model.diffusion_model." */
    VGEN_WAN_LAYOUT_COUNT
} vgen_wan_layout;

const char *vgen_wan_layout_name(vgen_wan_layout l); /* "diffusers", "wan-original", "comfyui" */

/* Which layout the tensor names follow (by marker tensors); VGEN_ERR_UNSUPPORTED naming the markers if none, or
 * naming the tensor that shows an image-to-video model (image embedder, image key/value projections). */
int vgen_wan_layout_detect(const vgen_st_set *set, vgen_wan_layout *out, vgen_err *err);

/* The configuration implied by the tensor shapes, for checkpoints without config.json (docs/dit.md):
 * dim and in_channels from patch_embedding [D, C, 1, 2, 2]; layers = the number of consecutive blocks from 0;
 * heads = D / 128 (every released Wan model has head_dim 128; other head sizes need config.json); ffn_dim from
 * the first FFN weight; text_dim and freq_dim from the text and time embedders; out_channels from the head
 * ([4 * C_out, D]); eps 1e-6 and rope_max_seq_len 1024 as diffusers' defaults. */
int vgen_wan_config_derive(const vgen_st_set *set, vgen_wan_layout l, vgen_wan_config *c, vgen_err *err);

/* ---- model ---- */

typedef struct vgen_dit_params {
    const char *config_path;  /* NULL: the config.json of a diffusers folder (path is the folder or its
                               * *.safetensors.index.json) when there is one, else derived from the shapes */
    vgen_dtype compute;       /* VGEN_DTYPE_BF16 (default; diffusers' torch_dtype=bf16 numerics) or F32 */
    const char *dit_format;   /* NULL or "": keep the stored formats; else a core/wformat.h table name
                               * ("int8_row", "fp8_e4m3_row", "int4_g64", ...): block linear weights are quantized
                               * to it while loading, block by block, dropping the source pages as it goes */
    vgen_threadpool *pool;    /* threads for quantize-on-load (borrowed; NULL = serial) */
    const vgen_logger *log;   /* may be NULL */
} vgen_dit_params;

void vgen_dit_params_init(vgen_dit_params *p);

typedef struct vgen_dit_model vgen_dit_model;

/* path: a diffusers transformer/ directory (config.json + diffusion_pytorch_model.safetensors or its sharded
 * index), a *.safetensors.index.json, or one .safetensors file in any layout above, including ComfyUI fp8
 * "scaled" files and files written by `vgen quantize`. Every tensor the config implies is checked: a missing one
 * is VGEN_ERR_NOT_FOUND and a mis-shaped one VGEN_ERR_SHAPE, the message naming the tensor as stored and the
 * expected shape. Tensors the model does not use are ignored. */
int vgen_dit_load(const char *path, const vgen_dit_params *p, vgen_dit_model **out, vgen_err *err);
void vgen_dit_free(vgen_dit_model **m);

const vgen_wan_config *vgen_dit_config(const vgen_dit_model *m);
vgen_wan_layout vgen_dit_layout(const vgen_dit_model *m);
vgen_dtype vgen_dit_compute(const vgen_dit_model *m);
/* Bytes of weights: held by the model (copies, quantized-on-load matrices), and viewed in the mapped file. */
size_t vgen_dit_owned_bytes(const vgen_dit_model *m);
size_t vgen_dit_mapped_bytes(const vgen_dit_model *m);
/* The weight format of block 0's first self-attention projection (what the block linears run in). */
vgen_wformat vgen_dit_block_format(const vgen_dit_model *m);

/* ---- weights on a backend's device ---- */

/* The model's weights where a backend's ops can read them. On a host-addressable backend (CPU) this is the model
 * itself, nothing is copied. Otherwise (CUDA, the device emulator) the globals and `resident_blocks` blocks are
 * uploaded once, each block as one 64-byte-aligned image (docs/dit.md); the other blocks are packed into the
 * backend's staging memory (pinned host memory on CUDA) and streamed through two device slots during each forward,
 * block b + 2 copied on the copy queue while block b computes. resident_blocks <= 0 or >= layers: every block
 * resident, no streaming. */
typedef struct vgen_dit_placement vgen_dit_placement;

int vgen_dit_place(const vgen_dit_model *m, vgen_backend *be, int64_t resident_blocks, vgen_dit_placement **out,
                   vgen_err *err);
void vgen_dit_placement_free(vgen_dit_placement **p);
/* Bytes it holds on the device (globals, resident blocks, streaming slots) and in staging memory (streamed blocks);
 * both 0 on a host-addressable backend. */
size_t vgen_dit_placement_device_bytes(const vgen_dit_placement *p);
size_t vgen_dit_placement_staging_bytes(const vgen_dit_placement *p);
/* Blocks kept on the device for good (every block when nothing streams). */
int64_t vgen_dit_placement_resident(const vgen_dit_placement *p);
/* Blocks uploaded from staging so far (every forward streams layers - resident_blocks of them). */
int64_t vgen_dit_placement_streamed(const vgen_dit_placement *p);

/* ---- session and forward ---- */

/* Called at the hook points (docs/dit.md) with the tensor in the compute dtype; the tensor is only valid during the
 * call. Names: "rope.cos" / "rope.sin" [L, Dh/2] f32, "patch_embed.tokens" [L, D], "timesteps_proj" [freq_dim] f32,
 * "temb" [D], "timestep_proj" [6D], "text_embed" [Lc, D], "block.N.attn1.out" / "attn2.out" / "ffn.out" / "out"
 * [L, D], "head.norm_out.out" [L, D], "head.modulated" [L, D], "head.proj_out" [L, 4 C_out]. */
typedef void (*vgen_dit_hook_fn)(const char *name, const vgen_tensor *t, void *user_data);

typedef struct vgen_dit_session_params {
    int64_t frames, height, width; /* latent F, H, W (H and W even) */
    int64_t ctx_len;               /* context rows Lc (default 512) */
    vgen_dit_hook_fn hook;         /* NULL: none */
    void *hook_user_data;
    vgen_abort_fn abort;           /* checked between blocks; NULL: never */
    void *abort_user_data;
    vgen_dit_placement *placement; /* the weights on the session's backend (borrowed; used by one session at a
                                    * time); NULL: the session places them itself, every block resident */
} vgen_dit_session_params;

void vgen_dit_session_params_init(vgen_dit_session_params *p);

typedef struct vgen_dit_session vgen_dit_session;

/* The session borrows model and backend: both must outlive it. Its arena is sized here, once. */
int vgen_dit_session_new(const vgen_dit_model *m, vgen_backend *be, const vgen_dit_session_params *p,
                         vgen_dit_session **out, vgen_err *err);
void vgen_dit_session_free(vgen_dit_session **s);
/* Bytes of the session's arena (all activations and scratch of a forward), and the peak used. */
size_t vgen_dit_session_bytes(const vgen_dit_session *s);
size_t vgen_dit_session_peak(const vgen_dit_session *s);

/* out[C_out, F, H, W] = DiT(latent[C_in, F, H, W], t, context[Lc, Dt]); all three f32 tensors in host memory
 * with exactly these shapes, whatever the backend. t is the scheduler's timestep (0..1000). */
int vgen_dit_forward(vgen_dit_session *s, const vgen_tensor *latent, float t, const vgen_tensor *context,
                     vgen_tensor *out, vgen_err *err);

/* ---- memory plan: from the configuration alone, no weight is read ---- */

typedef struct vgen_dit_plan {
    size_t weight_bytes;       /* every weight as vgen_dit_load holds it (owned + mapped) */
    size_t global_bytes;       /* the part outside the transformer blocks */
    size_t block_bytes;        /* one block: the unit of block streaming */
    size_t device_global_bytes; /* the globals and one block as vgen_dit_place lays them out on a device */
    size_t device_block_bytes;
    size_t max_linear_bf16;    /* the largest linear weight as bf16: the dequantize buffer of a weight-only GEMM */
    int64_t tokens;            /* F * H/2 * W/2 */
    size_t session_bytes;      /* the session arena of one forward (vgen_dit_session_bytes) */
} vgen_dit_plan;

/* Plans a model of configuration c whose block linears are held in block_format (the quantize-on-load target, or
 * their stored format) and whose other linears are stored as `stored`, running sessions of latent [F, H, W] with
 * ctx_len context rows in compute. */
int vgen_dit_plan_memory(const vgen_wan_config *c, vgen_wformat block_format, vgen_wformat stored,
                         vgen_dtype compute, int64_t frames, int64_t height, int64_t width, int64_t ctx_len,
                         vgen_dit_plan *out, vgen_err *err);

/* Floating-point operations of one forward counted over the linear layers (2 M N K each, the patch embedding
 * included) and the attention products (4 Lq Lk D per attention): what the benchmarks divide by. */
double vgen_dit_flops(const vgen_wan_config *c, int64_t tokens, int64_t ctx_len);

#endif

/* umt5.h - the UMT5 encoder (transformers' UMT5EncoderModel, Wan's umt5-xxl text encoder), written against the
 * backend interface (core/backend.h) only.
 *
 * Split as whisper.cpp does (DESIGN.md section 2): a model (config + weights) is loaded once, is immutable and may be
 * shared by any number of sessions and threads; a session owns the activations for up to max_len tokens in one
 * arena whose bytes are counted, and runs on one backend.
 *
 *   vgen_umt5_params p; vgen_umt5_params_init(&p);          p.compute = VGEN_DTYPE_BF16; p.format = "int8_row";
 *   vgen_umt5_load("Wan2.1-T2V-1.3B-Diffusers/text_encoder", &p, &model, &err);
 *   vgen_umt5_session_new(model, backend, 512, &session, &err);
 *   vgen_umt5_encode(session, ids, mask, n, &out, &err);     // out [n, D] f32
 *
 * Per layer (T5 pre-norm, no biases, no embedding scaling):
 *   h = RMS(x) w1;  x += O(softmax(Q K^T + bias_l + mask) V)       (no 1/sqrt(d_kv) scaling)
 *   h = RMS(x) w2;  x += Wo(gelu_tanh(Wi0 h) * (Wi1 h))
 * bias_l[h, i, j] = table_l[bucket(j - i), h], a table per layer (UMT5 does not share it). After the last layer,
 * out = RMS(x) w_final. RMS(x) = x * rsqrt(mean(x^2) + eps).
 *
 * Dimension legend: L tokens, D d_model, I inner = heads * d_kv, Nh heads, Dk d_kv, Dff d_ff, V vocab rows,
 * B relative-position buckets. See docs/textenc.md. */
#ifndef VGEN_TEXTENC_UMT5_H
#define VGEN_TEXTENC_UMT5_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "err.h"
#include "log.h"
#include "safetensors.h"
#include "tensor.h"
#include "threadpool.h"

/* ---- configuration ---- */

typedef struct vgen_umt5_config {
    int64_t vocab;          /* vocab_size: rows of the embedding table (may exceed the tokenizer's ids) */
    int64_t d_model;        /* D */
    int64_t d_kv;           /* Dk */
    int64_t heads;          /* Nh */
    int64_t layers;         /* num_layers (encoder blocks) */
    int64_t d_ff;           /* Dff */
    int64_t buckets;        /* relative_attention_num_buckets (even: half per direction) */
    int64_t max_distance;   /* relative_attention_max_distance */
    float eps;              /* layer_norm_epsilon */
} vgen_umt5_config;

/* umt5-xxl: vocab 256384, d_model 4096, 64 heads x 64, d_ff 10240, 24 layers, 32 buckets, distance 128, eps 1e-6. */
void vgen_umt5_config_defaults(vgen_umt5_config *c);

/* Parses a transformers config.json held in memory (display names it in messages). Read keys: d_model, d_kv,
 * num_heads, num_layers, d_ff, relative_attention_num_buckets, relative_attention_max_distance, layer_norm_epsilon,
 * feed_forward_proj, vocab_size; absent ones keep the defaults of vgen_umt5_config_defaults, others are ignored.
 * A bad value fails with VGEN_ERR_MALFORMED naming the key; feed_forward_proj other than "gated-gelu",
 * "gated-gelu_new" or "gated-gelu_pytorch_tanh" (the tanh GELU) fails with VGEN_ERR_UNSUPPORTED. */
int vgen_umt5_config_parse(const char *text, size_t n, const char *display, vgen_umt5_config *c, vgen_err *err);
int vgen_umt5_config_read(const char *path, vgen_umt5_config *c, vgen_err *err);

/* Where the encoder's tensors live in a checkpoint: the name prefix before "encoder.final_layer_norm.weight"
 * ("" for the HF layout, e.g. "text_encoders.umt5xxl.transformer." in a combined file), and the embedding's name
 * ("<prefix>shared.weight", else "<prefix>encoder.embed_tokens.weight"). VGEN_ERR_NOT_FOUND if the file holds no
 * UMT5 encoder, VGEN_ERR_UNSUPPORTED if it holds several. */
typedef struct vgen_umt5_layout {
    char prefix[256];
    char embed[320];
} vgen_umt5_layout;

int vgen_umt5_layout_detect(const vgen_st_set *set, vgen_umt5_layout *out, vgen_err *err);

/* The configuration implied by the shapes, for checkpoints without config.json (documented in docs/textenc.md):
 * vocab and d_model from the embedding [V, D]; layers = consecutive blocks from 0; heads from block 0's
 * relative_attention_bias [B, Nh] (buckets = B); d_kv = rows of q / heads; d_ff from wi_0; max_distance 128 and
 * eps 1e-6 (transformers' defaults, not visible in the shapes). */
int vgen_umt5_config_derive(const vgen_st_set *set, const vgen_umt5_layout *l, vgen_umt5_config *c, vgen_err *err);

/* ---- model ---- */

typedef struct vgen_umt5_params {
    const char *config_path;  /* NULL: <path>/config.json when path is a directory holding one, else derived */
    vgen_dtype compute;       /* VGEN_DTYPE_BF16 (default) or VGEN_DTYPE_F32 */
    int wo_f32;               /* bf16 compute only: run the FFN output wo in f32 and promote the residual stream to
                               * f32 after it (transformers' _keep_in_fp32_modules = ["wo"], which transformers 4.57
                               * applies to float16 loads only). Default 0: every layer in bf16, which is what
                               * from_pretrained(torch_dtype=bf16) and model.to(bfloat16) both run. */
    int round_scores;         /* bf16 compute only: round the attention scores q k^T, then scores + bias, to bf16
                               * before the softmax, as torch's eager bf16 attention does (default 1); 0: the
                               * backend's fused attention with f32 scores (faster, further from transformers). */
    const char *format;       /* NULL or "": keep the stored formats; else a core/wformat.h name ("int8_row",
                               * "fp8_e4m3_row", "int4_g64", "bf16", ...): every linear weight is quantized to it
                               * while loading, layer by layer, dropping the source pages as it goes */
    const char *embed_format; /* the embedding table's format when quantizing: NULL = same as format */
    vgen_threadpool *pool;    /* threads for quantize-on-load (borrowed; NULL = serial) */
    const vgen_logger *log;   /* may be NULL */
} vgen_umt5_params;

void vgen_umt5_params_init(vgen_umt5_params *p);

typedef struct vgen_umt5_model vgen_umt5_model;

/* path: a transformers text_encoder/ directory (config.json + model.safetensors or a sharded index), a
 * *.safetensors.index.json, or one .safetensors file (HF names, possibly under a prefix; ComfyUI fp8 "scaled" files
 * with F8_E4M3 weights and "<layer>.scale_weight"; files written by `vgen quantize`). Every tensor the config implies
 * is checked: a missing one is VGEN_ERR_NOT_FOUND and a mis-shaped one VGEN_ERR_SHAPE, the message naming the
 * tensor as stored and the expected shape. Tensors the encoder does not use (a decoder, lm_head) are ignored. */
int vgen_umt5_load(const char *path, const vgen_umt5_params *p, vgen_umt5_model **out, vgen_err *err);
void vgen_umt5_free(vgen_umt5_model **m);

/* What vgen_umt5_load(path, p) would use besides the weights, without reading any: the configuration, and the
 * config file it comes from into config_path[size] ("" when derived from the shapes of set, the checkpoint opened
 * from path). */
int vgen_umt5_probe(const char *path, const vgen_umt5_params *p, const vgen_st_set *set, vgen_umt5_config *c,
                    char *config_path, size_t size, vgen_err *err);

const vgen_umt5_config *vgen_umt5_model_config(const vgen_umt5_model *m);
vgen_dtype vgen_umt5_model_compute(const vgen_umt5_model *m);
/* Bytes of weights held by the model (copies, quantized-on-load matrices) and viewed in the mapped file. */
size_t vgen_umt5_owned_bytes(const vgen_umt5_model *m);
size_t vgen_umt5_mapped_bytes(const vgen_umt5_model *m);
/* The format of block 0's q weight and of the embedding table. */
vgen_wformat vgen_umt5_linear_format(const vgen_umt5_model *m);
vgen_wformat vgen_umt5_embed_format(const vgen_umt5_model *m);

/* ---- session and encoding ---- */

/* Called with the residual stream after the embedding ("embed"), after each layer ("block.N.out") and with the
 * final output ("final"), each [L, D] (f32, or bf16 values in f32 under bf16 compute); valid only during the
 * call. These are transformers' output_hidden_states. */
typedef void (*vgen_umt5_hook_fn)(const char *name, const vgen_tensor *t, void *user_data);

typedef struct vgen_umt5_session vgen_umt5_session;

/* A session for up to max_len tokens on backend be (both model and be must outlive it). Its arena is sized here,
 * once. VGEN_ERR_UNSUPPORTED if be lacks an op the encoder needs or linear with one of the model's formats.
 * On a backend whose memory the host cannot address (be->host_addressable false: CUDA, the device emulator) the
 * session uploads the model's weights (all but the embedding table) into one device buffer and holds its
 * activations in another (vgen_umt5_plan's device_* figures); inputs and outputs cross through host staging. */
int vgen_umt5_session_new(const vgen_umt5_model *m, vgen_backend *be, int64_t max_len, vgen_umt5_session **out,
                          vgen_err *err);
void vgen_umt5_session_free(vgen_umt5_session **s);
void vgen_umt5_session_set_hook(vgen_umt5_session *s, vgen_umt5_hook_fn fn, void *user_data);
/* abort: checked between layers; the encode then fails with VGEN_ERR_ABORTED. */
void vgen_umt5_session_set_abort(vgen_umt5_session *s, vgen_abort_fn fn, void *user_data);
/* Bytes of the session's arena (its device buffer of activations on a device backend), and the peak used. */
size_t vgen_umt5_session_bytes(const vgen_umt5_session *s);
size_t vgen_umt5_session_peak(const vgen_umt5_session *s);

/* out[n, D] f32 (a CPU tensor of exactly that shape) = encoder(ids[n]) with key j masked where mask[j] == 0
 * (mask NULL: no padding). Every row is computed, padding rows included (as transformers' last_hidden_state).
 * Errors: VGEN_ERR_INVALID_ARGUMENT (n outside 1..max_len, an id outside [0, vocab), a mask with no token). */
int vgen_umt5_encode(vgen_umt5_session *s, const int32_t *ids, const uint8_t *mask, int64_t n, vgen_tensor *out,
                     vgen_err *err);

/* What WanPipeline keeps: out[max_len, D] f32 with rows [0, n_tokens) = the encoder run on ids[0, n_tokens) and
 * rows [n_tokens, max_len) exactly zero. Padding keys are masked, so the kept rows do not depend on the padding
 * and only n_tokens rows are computed. */
int vgen_umt5_encode_padded(vgen_umt5_session *s, const int32_t *ids, int64_t n_tokens, vgen_tensor *out,
                            vgen_err *err);

/* The T5 bidirectional relative-position bucket of rel = key - query (transformers' _relative_position_bucket,
 * with its float32 logarithm). */
int32_t vgen_umt5_bucket(int64_t rel, int64_t buckets, int64_t max_distance);

/* Floating-point operations of encoding n tokens: 2 M N K per linear and 4 n^2 I per attention, over all layers. */
double vgen_umt5_flops(const vgen_umt5_config *c, int64_t n);

/* ---- memory plan: from the configuration alone, no weight is read ---- */

typedef struct vgen_umt5_plan {
    size_t weight_bytes;       /* every weight as vgen_umt5_load holds it */
    size_t embed_bytes;        /* the embedding table's part */
    size_t layer_bytes;        /* one encoder layer */
    size_t max_linear_bf16;    /* the largest linear as bf16 (a weight-only GEMM's dequantize buffer) */
    size_t session_bytes;      /* the arena of a session of max_len tokens */
    /* On a backend whose memory the host cannot address (CUDA): the weights a session uploads (every layer and
     * the final norm, each piece 64-byte aligned; the embedding table stays in host memory), and its activations
     * (the arena's buffers, plus the one-hot of the buckets [max_len^2, B] bf16 and the mask [max_len] f32; the
     * buckets stay on the host). Together: the device memory the
     * session allocates (the backend's own scratch aside). */
    size_t device_weight_bytes;
    size_t device_session_bytes;
} vgen_umt5_plan;

/* A model of configuration c with linears held in `format` and the embedding in embed_format (as stored, or the
 * quantize-on-load targets), loaded with p's options (compute, wo_f32, round_scores). */
int vgen_umt5_plan_memory(const vgen_umt5_config *c, vgen_wformat format, vgen_wformat embed_format,
                          const vgen_umt5_params *p, int64_t max_len, vgen_umt5_plan *out, vgen_err *err);

#endif

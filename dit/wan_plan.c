/* wan_plan.c - the DiT's memory from its configuration alone (no weight is read): the bytes vgen_dit_load holds per
 * tensor of the table (wan_names.c), and the session arena of a latent shape (wan_session.c). */
#include "device_image.h"
#include "wan_internal.h"

/* Bytes of one slot: quantizable block linears in block_format, other linears as stored, the rest f32 copies;
 * on a device (vgen_dit_place) every piece starts 64-byte aligned. */
static size_t slot_bytes(const wan_slot *s, const vgen_wan_config *c, vgen_wformat block_format,
                         vgen_wformat stored, int device) {
    int64_t shape[5];
    const int rank = wan_slot_shape(s, c, shape);
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)shape[i];
    switch (s->kind) {
    case WAN_K_LINEAR: return vgen_image_qmatrix_bytes(s->quantizable ? block_format : stored, shape[0], shape[1]);
    case WAN_K_PATCH:
    case WAN_K_VEC:
    case WAN_K_TABLE: return device ? vgen_round64(n * sizeof(float)) : n * sizeof(float);
    }
    return 0;
}

static size_t slots_bytes(const wan_slot *slots, size_t count, const vgen_wan_config *c, vgen_wformat block_format,
                          vgen_wformat stored, int device, size_t *max_linear) {
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        total += slot_bytes(&slots[i], c, block_format, stored, device);
        int64_t shape[5];
        wan_slot_shape(&slots[i], c, shape);
        const size_t bf16 = vgen_image_qmatrix_bytes(VGEN_WF_BF16, shape[0], shape[1]);
        if (slots[i].kind == WAN_K_LINEAR && bf16 > *max_linear) *max_linear = bf16;
    }
    return total;
}

int vgen_dit_plan_memory(const vgen_wan_config *c, vgen_wformat block_format, vgen_wformat stored,
                         vgen_dtype compute, int64_t frames, int64_t height, int64_t width, int64_t ctx_len,
                         vgen_dit_plan *out, vgen_err *err) {
    if (!c || !out || frames <= 0 || height <= 0 || width <= 0 || height % 2 || width % 2 || ctx_len <= 0 ||
        !vgen_wformat_get(block_format) || !vgen_wformat_get(stored))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_dit_plan_memory: bad argument");
    *out = (vgen_dit_plan){0};
    out->global_bytes = slots_bytes(wan_global_slots, wan_global_slot_count, c, block_format, stored, 0,
                                    &out->max_linear_bf16);
    out->block_bytes = slots_bytes(wan_block_slots, wan_block_slot_count, c, block_format, stored, 0,
                                   &out->max_linear_bf16);
    out->device_global_bytes = slots_bytes(wan_global_slots, wan_global_slot_count, c, block_format, stored, 1,
                                           &out->max_linear_bf16);
    out->device_block_bytes = slots_bytes(wan_block_slots, wan_block_slot_count, c, block_format, stored, 1,
                                          &out->max_linear_bf16);
    out->weight_bytes = out->global_bytes + out->block_bytes * (size_t)c->layers;
    out->tokens = frames * (height / 2) * (width / 2);
    out->session_bytes = wan_session_arena_bytes(c, compute, out->tokens, ctx_len);
    return VGEN_OK;
}

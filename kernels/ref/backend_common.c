/* backend_common.c - vgen_backend_free and the shared supports() rule (backend.h, backend_common.h). */
#include "ref/backend_common.h"

#include <stdlib.h>

void vgen_backend_free(vgen_backend **be) {
    if (!be || !*be) return;
    if ((*be)->destroy) (*be)->destroy(*be);
    free(*be);
    *be = NULL;
}

bool vgen_backend_has_op(const vgen_backend *be, vgen_op op, vgen_wformat format) {
    if (!be) return false;
    switch (op) {
    case VGEN_OP_LINEAR: return be->linear && vgen_wformat_get(format) != NULL;
    case VGEN_OP_LAYER_NORM: return be->layer_norm != NULL;
    case VGEN_OP_RMS_NORM: return be->rms_norm != NULL;
    case VGEN_OP_CHANNEL_RMS_NORM: return be->channel_rms_norm != NULL;
    case VGEN_OP_ROPE: return be->rope != NULL;
    case VGEN_OP_ATTENTION: return be->attention != NULL;
    case VGEN_OP_UNARY: return be->unary != NULL;
    case VGEN_OP_BINARY: return be->binary != NULL;
    case VGEN_OP_GATED_ADD: return be->gated_add != NULL;
    case VGEN_OP_CONV3D: return be->conv3d != NULL;
    case VGEN_OP_CONVERT: return be->convert != NULL;
    default: return false;
    }
}

/* ops_install.c - vgen_ref_ops_install: every reference op after linear (ops_ref.h). */
#include "ref/ops_ref.h"

void vgen_ref_ops_install(vgen_backend *be) {
    if (!be) return;
    vgen_ref_norm_install(be);
    vgen_ref_rope_install(be);
    vgen_ref_attention_install(be);
    vgen_ref_elementwise_install(be);
    vgen_ref_conv3d_install(be);
    vgen_ref_copy_install(be);
}

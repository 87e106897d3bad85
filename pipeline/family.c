/* family.c - the table of model families and lookups in it. */
#include "family.h"

#include <stdlib.h>
#include <string.h>

static const vgen_family *const k_families[] = {&vgen_family_wan21};

#define N_FAMILIES (sizeof k_families / sizeof k_families[0])

const vgen_family *vgen_family_find(const char *name) {
    for (size_t i = 0; name && i < N_FAMILIES; i++)
        if (strcmp(k_families[i]->name, name) == 0) return k_families[i];
    return NULL;
}

const vgen_family *vgen_family_by_class(const char *cls) {
    for (size_t i = 0; cls && i < N_FAMILIES; i++)
        if (strcmp(k_families[i]->pipeline_class, cls) == 0) return k_families[i];
    return NULL;
}

const char *vgen_part_name(vgen_part_kind k) {
    static const char *const names[VGEN_PART_COUNT] = {"transformer", "text_encoder", "tokenizer", "vae",
                                                       "scheduler"};
    return (k >= 0 && k < VGEN_PART_COUNT) ? names[k] : "?";
}

void vgen_part_free(vgen_part **p) {
    if (!p || !*p) return;
    if ((*p)->destroy && (*p)->impl) (*p)->destroy((*p)->impl);
    free(*p);
    *p = NULL;
}

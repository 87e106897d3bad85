/* model_preset.c - the built-in preset (used when vgen_model_params.preset is NULL) and what the preset keeps.
 *
 * The built-in preset is the text of presets/cpu.json; tests/test_pipeline.c checks that the two agree. */
#include <string.h>

#include "model.h"

const char vgen_builtin_preset_json[] =
    "{\n"
    "  \"name\": \"cpu\",\n"
    "  \"description\": \"CPU only: bf16 compute, int8 DiT weights; for machines with 16 GB or more of RAM\",\n"
    "  \"target\": {\n"
    "    \"device\": \"cpu\",\n"
    "    \"memory_budget_gb\": 16\n"
    "  },\n"
    "  \"components\": {\n"
    "    \"text_encoder\": { \"weights\": \"bf16\", \"compute\": \"bf16\", \"device\": \"cpu\", \"offload\": \"free_after_use\" },\n"
    "    \"dit\":          { \"weights\": \"int8\", \"compute\": \"bf16\", \"device\": \"cpu\", \"offload\": \"keep\" },\n"
    "    \"vae\":          { \"weights\": \"f32\",  \"compute\": \"f32\",  \"device\": \"cpu\", \"offload\": \"keep\", \"tile\": \"auto\" }\n"
    "  }\n"
    "}\n";

int vgen_model_builtin_preset(vgen_preset *out, vgen_err *err) {
    return vgen_preset_parse(vgen_builtin_preset_json, strlen(vgen_builtin_preset_json), "<built-in preset cpu>", out,
                             err);
}

int vgen_model_keeps(const vgen_model *m, vgen_component c) {
    return m->preset.components[c].offload != VGEN_OFFLOAD_FREE_AFTER_USE;
}

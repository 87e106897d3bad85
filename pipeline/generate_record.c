/* generate_record.c - the run record (record_json.h) of a run: every parameter as used (the sampler and shift
 * resolved), the model's family and files, what each component ran in, the preset, the vgen version and the time
 * of each phase. It goes into the JSON file and the mp4's comment tag. */
#include "generate.h"
#include "record_json.h"

static void add_files(const vgen_run *r, vgen_run_record *rec) {
    for (int k = 0; k < VGEN_PART_COUNT && rec->n_files < VGEN_RECORD_MAX_FILES; k++) {
        if (!r->model->paths[k][0]) continue;
        rec->files[rec->n_files++] = (vgen_record_file){.component = vgen_part_name((vgen_part_kind)k),
                                                        .path = r->model->paths[k],
                                                        .bytes = r->model->bytes[k]};
    }
}

static void add_components(const vgen_run *r, vgen_run_record *rec) {
    for (int c = 0; c < VGEN_COMPONENT_COUNT; c++) {
        const vgen_run_component *rc = &r->comp[c];
        if (!rc->weights[0]) continue;
        rec->components[rec->n_components++] = (vgen_record_component){
            .name = vgen_component_name((vgen_component)c), .weights = rc->weights, .compute = rc->compute,
            .device = r->model->preset.components[c].device == VGEN_DEVICE_CUDA ? "cuda" : "cpu"};
    }
}

static void add_timings(const vgen_run *r, vgen_run_record *rec) {
    for (int ph = 0; ph < VGEN_PHASE_COUNT; ph++) {
        if (ph != VGEN_PHASE_LOAD && r->seconds[ph] == 0.0) continue;
        rec->timings[rec->n_timings++] = (vgen_record_phase){vgen_phase_name((vgen_phase)ph), r->seconds[ph]};
    }
}

int vgen_run_record_text(const vgen_run *r, char **json, vgen_err *err) {
    vgen_run_record rec = vgen_run_record_init();
    rec.model_family = r->fam->name;
    add_files(r, &rec);
    add_components(r, &rec);
    rec.prompt = r->p.prompt;
    rec.negative_prompt = r->p.negative_prompt;
    rec.seed = r->p.seed;
    rec.width = r->p.width;
    rec.height = r->p.height;
    rec.frames = r->p.frames;
    rec.fps_num = r->p.fps;
    rec.fps_den = 1;
    rec.steps = r->p.steps;
    rec.sampler = vgen_sampler_kind_name(r->kind);
    rec.shift = r->shift;
    rec.guidance = r->p.guidance;
    rec.preset = r->model->preset.name;
    add_timings(r, &rec);
    return vgen_run_record_to_json(&rec, json, err);
}

/* model_part.c - loading the denoiser or the VAE of a model per its preset, with a log line before and after. */
#include <stdio.h>
#include <time.h>

#include "model.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int vgen_model_check_channels(const vgen_model *m, const vgen_part *part, vgen_component c, vgen_err *err) {
    const vgen_part_kind k = c == VGEN_COMPONENT_DIT ? VGEN_PART_TRANSFORMER : VGEN_PART_VAE;
    if (part->channels == m->family->latent_channels) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_SHAPE, "%s: %lld latent channels, but %s models have %d", m->paths[k],
                        (long long)part->channels, m->family->name, m->family->latent_channels);
}

int vgen_model_load_part(const vgen_model *m, vgen_component c, vgen_threadpool *pool, const vgen_logger *log,
                         vgen_part **out, vgen_err *err) {
    const vgen_part_kind k = c == VGEN_COMPONENT_DIT ? VGEN_PART_TRANSFORMER : VGEN_PART_VAE;
    const vgen_component_plan *plan = &m->preset.components[c];
    const vgen_part_load a = {.path = m->paths[k], .plan = plan, .pool = pool, .log = log};
    const vgen_wformat_traits *tr = vgen_wformat_get(plan->weights);
    VGEN_LOGI(log, "loading the %s from %s (weights %s, compute %s)", vgen_part_name(k), a.path, tr ? tr->name : "?",
              vgen_dtype_name(plan->compute));
    const double t0 = now_s();
    int rc = c == VGEN_COMPONENT_DIT ? m->family->dit_load(&a, out, err) : m->family->vae_load(&a, out, err);
    if (!rc) rc = vgen_model_check_channels(m, *out, c, err);
    if (rc) {
        vgen_part_free(out);
        return rc;
    }
    VGEN_LOGI(log, "loaded the %s in %.2f s: weights %s, %.1f MiB in memory + %.1f MiB mapped", vgen_part_name(k),
              now_s() - t0, (*out)->weights, (double)(*out)->owned_bytes / 1048576.0,
              (double)(*out)->mapped_bytes / 1048576.0);
    return VGEN_OK;
}

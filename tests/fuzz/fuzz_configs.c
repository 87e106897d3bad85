/* fuzz_configs.c - libFuzzer target: the input is a JSON text given to every strict JSON reader of vgen that takes
 * a buffer: presets, scheduler_config.json, the DiT's, the VAE's and UMT5's config.json, and the run record. Each
 * either fails cleanly (an error code and a one-line message) or succeeds; a record that parses must survive being
 * written back and parsed again unchanged. A broken promise aborts, so libFuzzer records it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preset.h"
#include "record_json.h"
#include "scheduler_config.h"
#include "umt5.h"
#include "wan_dit.h"
#include "wan_vae.h"

#define FUZZ_ASSERT(c)       \
    do {                     \
        if (!(c)) abort();   \
    } while (0)

/* rc is OK, or an error whose message is one line. */
static void clean(int rc, const vgen_err *err) {
    FUZZ_ASSERT(rc == VGEN_OK || (rc < 0 && err->code == rc && err->msg[0] && !strchr(err->msg, '\n')));
}

static void record_round_trip(const char *text, size_t n) {
    vgen_run_record r, again;
    vgen_err err;
    vgen_err_clear(&err);
    int rc = vgen_run_record_from_json(text, n, &r, &err);
    clean(rc, &err);
    if (rc) return;
    char *json = NULL;
    rc = vgen_run_record_to_json(&r, &json, &err);
    FUZZ_ASSERT(rc == VGEN_OK && json);
    rc = vgen_run_record_from_json(json, strlen(json), &again, &err);
    FUZZ_ASSERT(rc == VGEN_OK && vgen_run_record_equal(&r, &again));
    vgen_run_record_release(&again);
    vgen_run_record_release(&r);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    vgen_err err;
    vgen_preset preset;
    vgen_sched_config sched;
    vgen_wan_config dit;
    vgen_wan_vae_config vae;
    vgen_umt5_config umt5;
    vgen_err_clear(&err);
    clean(vgen_preset_parse(text, size, "fuzz.json", &preset, &err), &err);
    vgen_err_clear(&err);
    clean(vgen_sched_config_parse(text, size, "fuzz.json", &sched, &err), &err);
    vgen_err_clear(&err);
    clean(vgen_wan_config_parse(text, size, "fuzz.json", &dit, &err), &err);
    vgen_err_clear(&err);
    clean(vgen_wan_vae_config_parse(text, size, "fuzz.json", &vae, &err), &err);
    vgen_err_clear(&err);
    clean(vgen_umt5_config_parse(text, size, "fuzz.json", &umt5, &err), &err);
    record_round_trip(text, size);
    return 0;
}

/* test_noise.c - core/torch_rng against torch 2.8 bit patterns (tests/fixtures/noise, tools/reference/gen_noise.py):
 * every case of cases.json (randn and rand, fresh generators and successive calls on one generator) compared bit
 * for bit, plus properties that do not need the fixtures. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "safetensors.h"
#include "testutil.h"
#include "torch_rng.h"

#define NOISE_DIR VGEN_FIXTURES_DIR "/noise"

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                buf[n] = '\0';
            }
        }
    }
    fclose(f);
    return buf;
}

/* Number of elements of the case's "shape" array; 0 if malformed. */
static size_t case_numel(const cJSON *c) {
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(c, "shape");
    if (!cJSON_IsArray(shape)) return 0;
    size_t n = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        if (!cJSON_IsNumber(d) || d->valuedouble < 1) return 0;
        n *= (size_t)d->valuedouble;
    }
    return n;
}

typedef struct noise_stats {
    int cases, exact, randn_small, randn_large, rand, sequences_calls;
} noise_stats;

/* Runs one case on g (seeded here when it starts a sequence) and compares bit patterns with the fixture. */
static void check_case(const cJSON *c, const vgen_st_set *set, vgen_torch_rng *g, noise_stats *st) {
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "tensor"));
    const char *seed_str = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "seed_str"));
    const char *call = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "call"));
    const cJSON *call_index = cJSON_GetObjectItemCaseSensitive(c, "call_index");
    size_t n = case_numel(c);
    CHECKF(name && seed_str && call && cJSON_IsNumber(call_index) && n > 0, "malformed case in cases.json");
    if (!name || !seed_str || !call || !cJSON_IsNumber(call_index) || n == 0) return;
    const vgen_st_tensor *t = vgen_st_find(set, name);
    CHECKF(t && t->dtype == VGEN_ST_F32 && t->n_bytes == n * sizeof(float), "%s: missing or wrong size", name);
    if (!t || t->n_bytes != n * sizeof(float)) return;
    if (call_index->valueint == 0) vgen_torch_rng_seed(g, strtoull(seed_str, NULL, 10));
    else st->sequences_calls++;
    float *got = malloc(n * sizeof(float));
    CHECK(got != NULL);
    if (!got) return;
    int is_rand = strcmp(call, "rand") == 0;
    if (is_rand) vgen_torch_rand(g, got, n);
    else vgen_torch_randn(g, got, n);
    size_t first_bad = n, n_bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t a, b;
        memcpy(&a, &got[i], 4);
        memcpy(&b, (const uint8_t *)t->data + 4 * i, 4);
        if (a != b) {
            if (first_bad == n) first_bad = i;
            n_bad++;
        }
    }
    if (n_bad) {
        float ref;
        memcpy(&ref, (const uint8_t *)t->data + 4 * first_bad, 4);
        CHECKF(0, "%s: %zu of %zu elements differ, first at %zu: got %.9g want %.9g", name, n_bad, n, first_bad,
               (double)got[first_bad], (double)ref);
    }
    st->cases++;
    st->exact += n_bad == 0;
    if (is_rand) st->rand++;
    else if (n < 16) st->randn_small++;
    else st->randn_large++;
    free(got);
}

static void test_fixture_cases(void) {
    char *text = read_text(NOISE_DIR "/cases.json");
    CHECKF(text != NULL, "cannot read %s", NOISE_DIR "/cases.json");
    if (!text) return;
    cJSON *root = cJSON_Parse(text);
    free(text);
    vgen_err err;
    vgen_err_clear(&err);
    vgen_st_set *set = NULL;
    int rc = vgen_st_open(NOISE_DIR "/randn.safetensors", &set, &err);
    CHECKF(rc == VGEN_OK, "open randn.safetensors: %s", err.msg);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    CHECK(cJSON_IsArray(cases));
    if (rc == VGEN_OK && cJSON_IsArray(cases)) {
        vgen_torch_rng g;
        vgen_torch_rng_seed(&g, 0);
        noise_stats st = {0};
        const cJSON *c;
        cJSON_ArrayForEach(c, cases) check_case(c, set, &g, &st);
        printf("  noise fixtures: %d/%d cases bit-exact (randn n<16: %d, randn n>=16: %d, rand: %d; %d successive "
               "calls)\n", st.exact, st.cases, st.randn_small, st.randn_large, st.rand, st.sequences_calls);
        CHECK(st.cases == cJSON_GetArraySize(cases));
        CHECK(st.cases > 150);
    }
    vgen_st_close(&set);
    cJSON_Delete(root);
}

/* The C++ standard's check value for std::mt19937 (default seed 5489): the 10000th output is 4123659995. */
static void test_mt19937_reference_value(void) {
    vgen_torch_rng g;
    vgen_torch_rng_seed(&g, 5489);
    uint32_t v = 0;
    for (int i = 0; i < 10000; i++) v = vgen_torch_rng_u32(&g);
    CHECK_EQ_INT(v, 4123659995u);
}

/* torch keeps only the low 32 bits of the seed. */
static void test_seed_low_32_bits(void) {
    vgen_torch_rng a, b;
    vgen_torch_rng_seed(&a, 7);
    vgen_torch_rng_seed(&b, (UINT64_C(1) << 32) + 7);
    float xa[40], xb[40];
    vgen_torch_randn(&a, xa, 40);
    vgen_torch_randn(&b, xb, 40);
    CHECK(memcmp(xa, xb, sizeof xa) == 0);
}

/* n < 16 consumes pairs and caches the second normal: 7 + 1 elements equal 8 in one call; re-seeding clears it. */
static void test_small_path_cache(void) {
    vgen_torch_rng g;
    float one[8], split[8], again[8];
    vgen_torch_rng_seed(&g, 42);
    vgen_torch_randn(&g, one, 8);
    vgen_torch_rng_seed(&g, 42);
    vgen_torch_randn(&g, split, 7);
    vgen_torch_randn(&g, split + 7, 1);
    CHECK(memcmp(one, split, sizeof one) == 0);
    vgen_torch_rng_seed(&g, 42);
    vgen_torch_randn(&g, again, 3);
    vgen_torch_rng_seed(&g, 42); /* drops the cached normal of the 3-element call */
    vgen_torch_randn(&g, again, 8);
    CHECK(memcmp(one, again, sizeof one) == 0);
    /* n == 0 draws nothing */
    vgen_torch_rng_seed(&g, 42);
    vgen_torch_randn(&g, again, 0);
    vgen_torch_randn(&g, again, 8);
    CHECK(memcmp(one, again, sizeof one) == 0);
}

/* n >= 16 draws n uniforms, plus 16 more for a ragged tail; the values are finite and look standard normal. */
static void test_large_path_moments(void) {
    enum { N = 1 << 16 };
    float *x = malloc(N * sizeof(float));
    CHECK(x != NULL);
    if (!x) return;
    vgen_torch_rng g;
    vgen_torch_rng_seed(&g, 1234);
    vgen_torch_randn(&g, x, N);
    double s = 0, s2 = 0;
    int finite = 1;
    for (int i = 0; i < N; i++) {
        finite &= isfinite(x[i]) != 0;
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    double mean = s / N, var = s2 / N - mean * mean;
    CHECK(finite);
    CHECK_NEAR(mean, 0.0, 0.02);
    CHECK_NEAR(var, 1.0, 0.02);
    /* draws consumed: 17 elements use 17 + 16 uniforms */
    vgen_torch_rng a, b;
    vgen_torch_rng_seed(&a, 5);
    vgen_torch_rng_seed(&b, 5);
    vgen_torch_randn(&a, x, 17);
    for (int i = 0; i < 33; i++) (void)vgen_torch_rng_u32(&b);
    CHECK_EQ_INT(vgen_torch_rng_u32(&a), vgen_torch_rng_u32(&b));
    free(x);
}

int main(void) {
    RUN(test_fixture_cases);
    RUN(test_mt19937_reference_value);
    RUN(test_seed_low_32_bits);
    RUN(test_small_path_cache);
    RUN(test_large_path_moments);
    return test_summary();
}

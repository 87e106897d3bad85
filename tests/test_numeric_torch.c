/* test_numeric_torch.c - core/numeric.h against torch's own conversions (tests/fixtures/numerics, made with
 * torch 2.8.0): every e4m3fn code decoded, and float32 -> e4m3fn / bf16 / f16 encodings of specials, ties,
 * 448..480, random magnitudes and random bit patterns. Exact class: bit patterns must be equal, except that NaN
 * only has to stay NaN (payload and sign of NaN results are not specified by torch across code paths). */
#include <stdint.h>

#include "common/fixture.h"
#include "numeric.h"
#include "testutil.h"

static vgen_st_set *g_set;

static void test_e4m3_decode_all_codes(void) {
    size_t n = 0, m = 0;
    const uint8_t *codes = fixture_tensor(g_set, "e4m3.codes", VGEN_ST_U8, &n);
    const float *ref = fixture_tensor(g_set, "e4m3.decoded", VGEN_ST_F32, &m);
    CHECK(codes && ref && n == 256 && m == 256);
    for (size_t i = 0; codes && ref && i < n; i++) {
        float got = vgen_e4m3_to_f32(codes[i]);
        int same = isnan(ref[i]) ? isnan(got) : vgen_f32_bits(got) == vgen_f32_bits(ref[i]);
        CHECKF(same, "code 0x%02x: got %g, torch %g", codes[i], got, ref[i]);
    }
}

static void test_e4m3_encode(void) {
    size_t n = 0, m = 0;
    const float *in = fixture_tensor(g_set, "e4m3.enc.in", VGEN_ST_F32, &n);
    const uint8_t *bits = fixture_tensor(g_set, "e4m3.enc.bits", VGEN_ST_U8, &m);
    CHECK(in && bits && n == m && n > 100);
    int bad = 0;
    for (size_t i = 0; in && bits && i < n; i++) {
        uint8_t got = vgen_f32_to_e4m3(in[i]);
        int ref_nan = (bits[i] & 0x7f) == 0x7f, got_nan = (got & 0x7f) == 0x7f;
        int same = ref_nan ? got_nan : got == bits[i];
        if (!same && bad++ < 10) CHECKF(0, "e4m3(%a): got 0x%02x, torch 0x%02x", (double)in[i], got, bits[i]);
    }
    CHECKF(bad == 0, "%d of %zu e4m3 encodings differ", bad, n);
}

/* The fp8 quantization of a weight as torch does it: bits of (w / scale).to(float8_e4m3fn). */
static void test_e4m3_scaled_weight(void) {
    size_t n = 0, m = 0, s = 0;
    const float *w = fixture_tensor(g_set, "e4m3.scaled.w", VGEN_ST_F32, &n);
    const float *scale = fixture_tensor(g_set, "e4m3.scaled.scale", VGEN_ST_F32, &s);
    const uint8_t *bits = fixture_tensor(g_set, "e4m3.scaled.bits", VGEN_ST_U8, &m);
    CHECK(w && scale && bits && n == m && s == 1);
    int bad = 0;
    for (size_t i = 0; w && scale && bits && i < n; i++) bad += vgen_f32_to_e4m3(w[i] / scale[0]) != bits[i];
    CHECKF(bad == 0, "%d of %zu scaled weights differ", bad, n);
}

typedef uint16_t (*enc16_fn)(float);
typedef float (*dec16_fn)(uint16_t);

static int is_nan16(uint16_t h, int bf16) {
    return bf16 ? ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) : ((h & 0x7c00) == 0x7c00 && (h & 0x3ff));
}

static void check_16bit(const char *prefix, enc16_fn enc, dec16_fn dec, int bf16) {
    char name[64];
    size_t n = 0, m = 0, k = 0;
    snprintf(name, sizeof name, "%s.enc.in", prefix);
    const float *in = fixture_tensor(g_set, name, VGEN_ST_F32, &n);
    snprintf(name, sizeof name, "%s.enc.bits", prefix);
    const uint16_t *bits = fixture_tensor(g_set, name, VGEN_ST_I16, &m);
    snprintf(name, sizeof name, "%s.enc.back", prefix);
    const float *back = fixture_tensor(g_set, name, VGEN_ST_F32, &k);
    CHECK(in && bits && back && n == m && n == k && n > 100);
    int bad = 0;
    for (size_t i = 0; in && bits && back && i < n; i++) {
        uint16_t got = enc(in[i]);
        int same = is_nan16(bits[i], bf16) ? is_nan16(got, bf16) : got == bits[i];
        float wide = dec(bits[i]);
        same &= isnan(back[i]) ? isnan(wide) : vgen_f32_bits(wide) == vgen_f32_bits(back[i]);
        if (!same && bad++ < 10) CHECKF(0, "%s(%a): got 0x%04x, torch 0x%04x", prefix, (double)in[i], got, bits[i]);
    }
    CHECKF(bad == 0, "%d of %zu %s encodings differ", bad, n, prefix);
}

static void test_bf16_encode(void) { check_16bit("bf16", vgen_f32_to_bf16, vgen_bf16_to_f32, 1); }
static void test_f16_encode(void) { check_16bit("f16", vgen_f32_to_f16, vgen_f16_to_f32, 0); }

int main(void) {
    g_set = fixture_open("numerics/conversions.safetensors");
    if (!g_set) return 1;
    RUN(test_e4m3_decode_all_codes);
    RUN(test_e4m3_encode);
    RUN(test_e4m3_scaled_weight);
    RUN(test_bf16_encode);
    RUN(test_f16_encode);
    vgen_st_close(&g_set);
    return test_summary();
}

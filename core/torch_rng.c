/* torch_rng.c - PyTorch's CPU generator (MT19937) and its float32 rand/randn, bit for bit. See torch_rng.h.
 *
 * Every float operation below is one IEEE operation in float32 (or double for the small-size path), written one
 * per statement so that no compiler contracts them; where torch's build fuses a multiply and an add into one FMA
 * (its AVX2 kernel is compiled with FMA contraction), fmaf() says so explicitly. */
#include "torch_rng.h"

#include <math.h>
#include <string.h>

#include "numeric.h"

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfu
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu

void vgen_torch_rng_seed(vgen_torch_rng *g, uint64_t seed) {
    g->state[0] = (uint32_t)(seed & 0xffffffffu);
    for (uint32_t j = 1; j < VGEN_TORCH_MT_N; j++) {
        uint32_t prev = g->state[j - 1];
        g->state[j] = 1812433253u * (prev ^ (prev >> 30)) + j;
    }
    g->left = 1;
    g->next = 0;
    g->has_cached_normal = 0;
    g->cached_normal = 0.0;
}

static uint32_t mt_twist(uint32_t u, uint32_t v) {
    uint32_t mixed = (u & MT_UPPER) | (v & MT_LOWER);
    return (mixed >> 1) ^ ((v & 1u) ? MT_MATRIX_A : 0u);
}

/* Regenerates all 624 words (the classic MT19937 recurrence). */
static void mt_regenerate(vgen_torch_rng *g) {
    uint32_t *s = g->state;
    int k = 0;
    for (; k < VGEN_TORCH_MT_N - MT_M; k++) s[k] = s[k + MT_M] ^ mt_twist(s[k], s[k + 1]);
    for (; k < VGEN_TORCH_MT_N - 1; k++) s[k] = s[k + MT_M - VGEN_TORCH_MT_N] ^ mt_twist(s[k], s[k + 1]);
    s[VGEN_TORCH_MT_N - 1] = s[MT_M - 1] ^ mt_twist(s[VGEN_TORCH_MT_N - 1], s[0]);
    g->left = VGEN_TORCH_MT_N;
    g->next = 0;
}

uint32_t vgen_torch_rng_u32(vgen_torch_rng *g) {
    if (--g->left == 0) mt_regenerate(g);
    uint32_t y = g->state[g->next++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint64_t vgen_torch_rng_u64(vgen_torch_rng *g) {
    uint64_t hi = vgen_torch_rng_u32(g);
    uint64_t lo = vgen_torch_rng_u32(g);
    return (hi << 32) | lo;
}

/* uniform_real_distribution<float>(0, 1): the low 24 bits of one draw, times 2^-24 (exact). */
static float uniform_f32(vgen_torch_rng *g) {
    return (float)(vgen_torch_rng_u32(g) & 0xffffffu) * 0x1p-24f;
}

/* uniform_real_distribution<double>(0, 1): the low 53 bits of a 64-bit draw, times 2^-53 (exact). */
static double uniform_f64(vgen_torch_rng *g) {
    return (double)(vgen_torch_rng_u64(g) & ((UINT64_C(1) << 53) - 1)) * 0x1p-53;
}

void vgen_torch_rand(vgen_torch_rng *g, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = uniform_f32(g);
}

/* ---- n < 16: normal_distribution<double>, one element at a time, with the cached second normal ---- */

static double normal_f64(vgen_torch_rng *g) {
    if (g->has_cached_normal) {
        g->has_cached_normal = 0;
        return g->cached_normal * 1.0 + 0.0; /* transformation::normal(val, mean 0, std 1) */
    }
    double u1 = uniform_f64(g);
    double u2 = uniform_f64(g);
    double r = sqrt(-2.0 * log1p(-u2));
    double theta = 2.0 * 3.14159265358979323846 * u1;
    g->cached_normal = r * sin(theta);
    g->has_cached_normal = 1;
    return r * cos(theta) * 1.0 + 0.0;
}

/* ---- n >= 16: float32 Box-Muller with cephes-style polynomial log and sincos (torch's AVX2 kernel) ---- */

/* Natural log for x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) by a degree-9 polynomial in m - 1,
 * plus e log(2) split in two parts. The coefficients are the cephes logf ones, rounded to float. */
static float poly_log(float x) {
    static const float p[9] = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f,
                               -1.2420140846E-1f, 1.4249322787E-1f, -1.6668057665E-1f,
                               2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    if (x < 0x1p-126f) x = 0x1p-126f; /* denormals are cut off (x > 0 here) */
    uint32_t bits = vgen_f32_bits(x);
    float e = (float)((int32_t)(bits >> 23) - 127);
    float m = vgen_f32_from_bits((bits & ~0x7f800000u) | 0x3f000000u); /* mantissa in [0.5, 1) */
    e = e + 1.0f;
    float t = 0.0f;
    if (m < 0.707106781186547524f) {
        e = e - 1.0f;
        t = m;
    }
    m = m - 1.0f;
    m = m + t;
    float z = m * m;
    float y = p[0];
    for (int k = 1; k < 9; k++) y = fmaf(y, m, p[k]);
    y = y * m;
    float eq1 = e * ln2_lo;
    y = fmaf(y, z, eq1);
    float half_z = z * 0.5f;
    y = y - half_z;
    float r = m + y;
    return fmaf(e, ln2_hi, r);
}

/* sin and cos of x >= 0 (any x): reduction by multiples of pi/4 in three float parts (cephes), then the sine or
 * cosine polynomial on [-pi/4, pi/4] depending on the octant. */
static void poly_sincos(float x, float *s, float *c) {
    const float dp1 = -0.78515625f, dp2 = -2.4187564849853515625e-4f, dp3 = -3.77489497744594108e-8f;
    const float s0 = -1.9515295891E-4f, s1 = 8.3321608736E-3f, s2 = -1.6666654611E-1f;
    const float c0 = 2.443315711809948E-005f, c1 = -1.388731625493765E-003f, c2 = 4.166664568298827E-002f;
    uint32_t sign_sin = vgen_f32_bits(x) & 0x80000000u;
    float ax = fabsf(x);
    int32_t j = (int32_t)(ax * 1.27323954473516f); /* truncation, as cvttps2dq */
    j = (j + 1) & ~1;
    float yj = (float)j;
    sign_sin ^= ((uint32_t)j & 4u) << 29;
    uint32_t sign_cos = (~(uint32_t)(j - 2) & 4u) << 29;
    int use_sin_poly = (j & 2) == 0;
    float r = fmaf(yj, dp1, ax);
    r = fmaf(yj, dp2, r);
    r = fmaf(yj, dp3, r);
    float z = r * r;
    float pc = fmaf(c0, z, c1);
    pc = fmaf(pc, z, c2);
    pc = pc * z;
    float half_z = z * 0.5f;
    pc = fmaf(pc, z, -half_z);
    pc = pc + 1.0f;
    float ps = fmaf(s0, z, s1);
    ps = fmaf(ps, z, s2);
    ps = ps * z;
    ps = fmaf(ps, r, r);
    float sv = use_sin_poly ? ps : pc;
    float cv = use_sin_poly ? pc : ps;
    *s = vgen_f32_from_bits(vgen_f32_bits(sv + 0.0f) ^ sign_sin);
    *c = vgen_f32_from_bits(vgen_f32_bits(cv + 0.0f) ^ sign_cos);
}

/* d[0..16) holds uniforms; element j and j + 8 become the two normals of the pair (d[j], d[j + 8]). */
static void box_muller16(float *d) {
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j]; /* [0, 1) -> (0, 1] */
        float u2 = d[j + 8];
        float lg = poly_log(u1);
        float radius = sqrtf(-2.0f * lg);
        float theta = two_pi * u2;
        float sn, cs;
        poly_sincos(theta, &sn, &cs);
        float n1 = radius * cs;
        float n2 = radius * sn;
        d[j] = n1 + 0.0f; /* fma(n, std 1, mean 0) */
        d[j + 8] = n2 + 0.0f;
    }
}

void vgen_torch_randn(vgen_torch_rng *g, float *out, size_t n) {
    if (n < 16) {
        for (size_t i = 0; i < n; i++) out[i] = (float)normal_f64(g);
        return;
    }
    vgen_torch_rand(g, out, n);
    for (size_t i = 0; i + 16 <= n; i += 16) box_muller16(out + i);
    if (n % 16 != 0) {
        float *tail = out + n - 16;
        vgen_torch_rand(g, tail, 16);
        box_muller16(tail);
    }
}

/* unipc.c - UniPC multistep (B(h) = e^h - 1 "bh2", order 2, flow prediction, predict_x0, lower_order_final), one
 * diffusers UniPCMultistepScheduler.step() at a time.
 *
 * In flow terms alpha = 1 - sigma, lambda = ln(alpha) - ln(sigma), and the model's x0 prediction is x - sigma v.
 * At step i (sigma_s0 = sigmas[i] -> sigma_t = sigmas[i + 1]):
 *   corrector (i > 0, order of the previous predictor): recomputes x_i from the previous sample x_{i-1} with the new
 *     x0 prediction m_i (UniC), replacing the predictor's x_i;
 *   predictor (order 1 at step 0 and at the last step, else 2): x_{i+1} from x_i and m_i, m_{i-1} (UniP).
 * Both have the form  x_t = (sigma_t / sigma_s0) x - alpha_t (e^-h - 1) m0 - alpha_t (e^-h - 1) res  with
 * h = lambda_t - lambda_s0 and res a combination of D1 = (m1 - m0) / r (r = (lambda_s1 - lambda_s0) / h) and, in the
 * corrector, D1_t = m_new - m0; the weights are 0.5 (predictor order 2, corrector order 1) or the solution of
 * [[1, 1], [r, 1]] rho = [b0, b1] (corrector order 2).
 *
 * Every quantity is float32, computed in diffusers' operation order (sigmas are float32 tensors there, so are all
 * the scalars derived from them); one operation per statement so nothing is contracted. ln and expm1 are rounded
 * correctly here; torch uses MKL's ln and SLEEF's expm1 (within one ulp of these). */
#include <math.h>

#include "sampler_impl.h"

/* Scalars of one predictor or corrector update. */
typedef struct unipc_coef {
    int order;
    float c_x;   /* sigma_t / sigma_s0 */
    float c_m0;  /* alpha_t h_phi_1, h_phi_1 = expm1(-h) */
    float c_res; /* alpha_t B_h, B_h = expm1(-h) (bh2) */
    float rk;    /* (lambda_s1 - lambda_s0) / h, order 2 */
    float rho0;  /* weight of D1 (order 2) */
    float rho1;  /* corrector: weight of D1_t */
} unipc_coef;

static float ln_f32(float x) { return (float)log((double)x); }
static float expm1_f32(float x) { return (float)expm1((double)x); }

/* lambda = ln(1 - sigma) - ln(sigma), float32 (sigma in (0, 1)). */
static float flow_lambda(float sigma) {
    float alpha = 1.0f - sigma;
    float la = ln_f32(alpha);
    float ls = ln_f32(sigma);
    return la - ls;
}

/* Coefficients shared by predictor and corrector, for the move sigmas[s0] -> sigmas[t] with history at s1. */
static void coef_base(const float *sig, int t, int s0, int s1, int order, unipc_coef *c, float *h_out, float *hphi1) {
    const float sigma_t = sig[t], sigma_s0 = sig[s0];
    const float alpha_t = 1.0f - sigma_t;
    float h_phi_1 = -1.0f, h = INFINITY; /* sigma_t == 0: lambda_t = +inf, expm1(-inf) = -1 */
    float lambda_s0 = flow_lambda(sigma_s0);
    if (sigma_t > 0.0f) {
        float lambda_t = flow_lambda(sigma_t);
        h = lambda_t - lambda_s0;
        h_phi_1 = expm1_f32(-h);
    }
    c->order = order;
    c->c_x = sigma_t / sigma_s0;
    c->c_m0 = alpha_t * h_phi_1;
    c->c_res = alpha_t * h_phi_1; /* B_h = expm1(hh) = h_phi_1 */
    c->rk = 1.0f;
    c->rho0 = 0.5f;
    c->rho1 = 0.5f;
    if (order == 2) {
        float d = flow_lambda(sig[s1]) - lambda_s0;
        c->rk = d / h;
    }
    *h_out = h;
    *hphi1 = h_phi_1;
}

/* Corrector order 2: b = [h_phi_k / B_h, 2 h_phi_k2 / B_h] with h_phi_k = h_phi_1 / hh - 1, h_phi_k2 = h_phi_k / hh -
 * 1/2; rho = solve([[1, 1], [rk, 1]], b) as torch.linalg.solve does it for this matrix (LU of the transpose, no
 * pivoting since its first column is [1, 1]; back substitution multiplies by the reciprocal pivot). */
static void corrector_weights(unipc_coef *c, float h, float h_phi_1) {
    const float hh = -h, b_h = h_phi_1;
    float q = h_phi_1 / hh;
    float h_phi_k = q - 1.0f;
    float b0 = h_phi_k / b_h;
    float q2 = h_phi_k / hh;
    float h_phi_k2 = q2 - 0.5f;
    float b1n = h_phi_k2 * 2.0f;
    float b1 = b1n / b_h;
    float u22 = 1.0f - c->rk;
    float rb0 = c->rk * b0;
    float y1 = b1 - rb0;
    float inv_u22 = 1.0f / u22;
    c->rho1 = y1 * inv_u22;
    c->rho0 = b0 - c->rho1;
}

/* x_t_ = (sigma_t / sigma_s0) x - alpha_t h_phi_1 m0 */
static inline float base_update(const unipc_coef *c, float x, float m0) {
    float a = c->c_x * x;
    float b = c->c_m0 * m0;
    return a - b;
}

static inline float predict(const unipc_coef *c, float x, float m0, float m1) {
    float xt = base_update(c, x, m0);
    if (c->order == 1) return xt;
    float dm = m1 - m0;
    float d1 = dm / c->rk;
    float res = 0.5f * d1;
    float r = c->c_res * res;
    return xt - r;
}

static inline float correct(const unipc_coef *c, float x_prev, float m0, float m1, float m_new) {
    float xt = base_update(c, x_prev, m0);
    float d1t = m_new - m0;
    float res = c->rho1 * d1t;
    if (c->order == 2) {
        float dm = m1 - m0;
        float d1 = dm / c->rk;
        float corr = c->rho0 * d1;
        res = corr + res;
    }
    float r = c->c_res * res;
    return xt - r;
}

static int predictor_order(const vgen_sampler *s, int step) {
    int order = s->n_steps - step < 2 ? s->n_steps - step : 2; /* lower_order_final */
    return step == 0 ? 1 : order;                              /* warm-up: one x0 in the history */
}

void vgen_unipc_step(vgen_sampler *s, int step, const float *model_output, float *sample) {
    const float *sig = s->sigmas;
    const float sigma = sig[step];
    unipc_coef pc, cc;
    float h_p, phi_p, h_c, phi_c;
    int order = predictor_order(s, step);
    int use_corrector = step > 0;
    coef_base(sig, step + 1, step, step - 1, order, &pc, &h_p, &phi_p);
    if (use_corrector) {
        coef_base(sig, step, step - 1, step - 2, s->prev_order, &cc, &h_c, &phi_c);
        if (s->prev_order == 2) corrector_weights(&cc, h_c, phi_c);
    }
    float *m_prev = s->x0[s->newest];      /* x0 of step - 1 */
    float *m_slot = s->x0[1 - s->newest];  /* x0 of step - 2, overwritten with x0 of this step */
    for (size_t j = 0; j < s->numel; j++) {
        float sv = sigma * model_output[j];
        float m_new = sample[j] - sv;
        float x = sample[j];
        if (use_corrector) x = correct(&cc, s->last_sample[j], m_prev[j], m_slot[j], m_new);
        s->last_sample[j] = x;
        m_slot[j] = m_new;
        sample[j] = predict(&pc, x, m_new, m_prev[j]);
    }
    s->newest = 1 - s->newest;
    s->prev_order = order;
}

/* wan_rope.c - the 3-D rotary tables of Wan (diffusers WanRotaryPosEmbed).
 *
 * head_dim Dh splits into three axes: h and w get 2 * (Dh / 6) dims each, t gets the rest (Dh = 128: 44 | 42 | 42;
 * Dh = 32: 12 | 10 | 10), in that order. Pair k of an axis with d dims turns at w_k = 10000^(-2k/d) per position,
 * and the position is the raw integer index of the token along that axis. As in diffusers, the angles and their
 * cosines and sines are computed in float64 and stored as float32. */
#include <math.h>

#include "wan_internal.h"

void wan_rope_tables(int64_t head_dim, int64_t fp, int64_t hp, int64_t wp, float *cos_t, float *sin_t) {
    const int64_t half = head_dim / 2;          /* pairs per head */
    const int64_t hw_dims = 2 * (head_dim / 6); /* dims of the h axis and of the w axis */
    const int64_t t_pairs = (head_dim - 2 * hw_dims) / 2, hw_pairs = hw_dims / 2;
    for (int64_t f = 0; f < fp; f++)
        for (int64_t h = 0; h < hp; h++)
            for (int64_t w = 0; w < wp; w++) {
                const int64_t l = (f * hp + h) * wp + w;
                for (int64_t j = 0; j < half; j++) {
                    int64_t pos, k, d;
                    if (j < t_pairs) pos = f, k = j, d = 2 * t_pairs;
                    else if (j < t_pairs + hw_pairs) pos = h, k = j - t_pairs, d = hw_dims;
                    else pos = w, k = j - t_pairs - hw_pairs, d = hw_dims;
                    const double freq = 1.0 / pow(10000.0, (double)(2 * k) / (double)d);
                    const double angle = (double)pos * freq;
                    cos_t[l * half + j] = (float)cos(angle); /* [L, Dh/2] */
                    sin_t[l * half + j] = (float)sin(angle);
                }
            }
}

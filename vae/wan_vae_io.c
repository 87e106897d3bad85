/* wan_vae_io.c - what crosses between host and device in one decoder: the latent chunk in (denormalized on the
 * host, then uploaded unless the backend's memory is host memory), the output frames out (finiteness check, one
 * frame at a time downloaded, clamped on the host, emitted) and the debug taps (downloaded copies).
 * Host-addressable backends take the direct paths: no staging, nothing copied twice. */
#include <stdlib.h>
#include <string.h>

#include "device_image.h"
#include "wan_vae_internal.h"

/* zc [Z, nt, h, w] (device) = frames [t0, t0 + nt) of the host latent z, denormalized if d->denormalize. */
int wvae_latent_in(wvae_dec *d, const vgen_tensor *z, int64_t t0, vgen_tensor *zc, vgen_err *err) {
    if (d->dry) return VGEN_OK;
    if (d->host) {
        if (!d->denormalize) return wvae_copy_frames(d, z, t0, zc, 0, zc->shape[1], err);
        wvae_denormalize(&d->m->cfg, z, t0, zc);
        return VGEN_OK;
    }
    const size_t bytes = vgen_tensor_bytes(zc);
    vgen_tensor h = *zc;
    h.device = VGEN_DEVICE_CPU;
    h.data = malloc(bytes);
    if (!h.data) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "vae: cannot stage a %zu-byte latent chunk", bytes);
    const int64_t c_dim = zc->shape[0], nt = zc->shape[1], hw = zc->shape[2] * zc->shape[3];
    if (d->denormalize) {
        wvae_denormalize(&d->m->cfg, z, t0, &h);
    } else {
        for (int64_t c = 0; c < c_dim; c++)
            memcpy((float *)h.data + c * nt * hw, (const float *)z->data + (c * z->shape[1] + t0) * hw,
                   (size_t)(nt * hw) * sizeof(float));
    }
    int rc = d->be->upload(d->be, zc->data, h.data, bytes, err);
    free(h.data);
    return rc;
}

/* A host copy of x (device): malloc'd data, NULL on failure. */
static float *download_copy(wvae_dec *d, const vgen_tensor *x, vgen_err *err) {
    vgen_tensor h;
    return vgen_tensor_download_copy(d->be, x, &h, err) == VGEN_OK ? h.data : NULL;
}

void wvae_tap(wvae_dec *d, const char *name, const vgen_tensor *x) {
    if (!d->tap || d->dry) return;
    if (d->host) {
        d->tap(d->tap_user_data, name, x);
        return;
    }
    vgen_err ignored = {0};
    vgen_tensor h = *x;
    h.device = VGEN_DEVICE_CPU, h.owner = VGEN_OWNER_NONE;
    h.data = download_copy(d, x, &ignored);
    if (h.data) d->tap(d->tap_user_data, name, &h); /* a tap is a debugging aid: a failed copy only skips it */
    free(h.data);
}

/* VGEN_ERR_NUMERIC naming the first non-finite value of o [3, T, H, W]. On a device, the backend's check_finite
 * screens it and only a failing chunk is downloaded to find the position. */
static int check_frames(wvae_dec *d, const vgen_tensor *o, vgen_err *err) {
    vgen_tensor h = *o;
    float *copy = NULL;
    if (!d->host) {
        if (d->be->check_finite) {
            vgen_err e2 = {0};
            int rc = d->be->check_finite(d->be, o, "vae: decoded frames", &e2);
            if (rc == VGEN_OK) return VGEN_OK;
            if (rc != VGEN_ERR_NUMERIC) return vgen_err_set(err, rc, "%s", e2.msg);
        }
        if (!(copy = download_copy(d, o, err))) return err && err->code ? err->code : VGEN_ERR_OUT_OF_MEMORY;
        h.data = copy;
    }
    int64_t pos[4];
    const int bad = wvae_find_nonfinite(&h, pos);
    free(copy);
    if (!bad) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_NUMERIC, "vae: decoded frame %lld holds a non-finite value at [c=%lld, y=%lld, "
                        "x=%lld]", (long long)(d->frames_out + pos[1]), (long long)pos[0], (long long)pos[2],
                        (long long)pos[3]);
}

/* Every frame of o [3, T, H, W]: checked, then on the host clamped to [-1, 1] and emitted. */
int wvae_emit_frames(wvae_dec *d, const vgen_tensor *o, vgen_err *err) {
    const int64_t t_dim = o->shape[1], h = o->shape[2], w = o->shape[3], hw = h * w;
    int64_t f3[4] = {3, 1, h, w};
    int rc = d->dry ? VGEN_OK : check_frames(d, o, err);
    if (rc) return rc;
    const size_t mark = wvae_mark(d->mem);
    vgen_tensor fr;
    rc = wvae_alloc(d->mem, &fr, 4, f3, err);                                  /* fr [3, 1, H, W] */
    for (int64_t t = 0; t < t_dim && !rc; t++, d->frames_out++) {
        if (d->dry || !d->emit) continue;
        rc = wvae_copy_frames(d, o, t, &fr, 0, 1, err);
        float *p = fr.data;
        if (!rc && !d->host) rc = d->be->download(d->be, p = d->host_frame, fr.data, vgen_tensor_bytes(&fr), err);
        if (rc) break;
        for (int64_t i = 0; i < 3 * hw; i++) p[i] = p[i] < -1.0f ? -1.0f : (p[i] > 1.0f ? 1.0f : p[i]);
        rc = d->emit(d->emit_user_data, d->frames_out, p, (int)h, (int)w, err);
    }
    wvae_reset(d->mem, mark);
    return rc;
}

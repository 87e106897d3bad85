/* wan_place.c - the DiT's weights on a backend's device (wan_dit.h, vgen_dit_place): one image per block, every
 * piece (matrix data, scales, zero points, bias, norm weights, modulation table) at a 64-byte-aligned offset, the
 * globals likewise; resident images uploaded once, the others streamed through two device slots. */
#include <stdlib.h>
#include <string.h>

#include "device_image.h"
#include "wan_internal.h"

/* ---- image layout (core/device_image.h): one walk serves measuring, packing and pointing at a device copy ---- */

typedef vgen_image_walk layout;

static void linear_layout(layout *l, wan_linear *dst, const wan_linear *src) {
    *dst = *src;
    dst->own = NULL, dst->own_bytes = 0; /* the copy owns nothing */
    vgen_image_qmatrix(l, &dst->w, &src->w);
    dst->b = vgen_image_floats(l, src->b, src->w.rows);
}

static float *vec(layout *l, const float *src, int64_t n) { return vgen_image_floats(l, src, n); }

static size_t block_layout(layout *l, const vgen_wan_config *c, wan_block *dst, const wan_block *src) {
    const wan_linear *in[] = {&src->sa_q, &src->sa_k, &src->sa_v, &src->sa_o, &src->ca_q, &src->ca_k, &src->ca_v,
                              &src->ca_o, &src->ffn1, &src->ffn2};
    wan_linear *out[] = {&dst->sa_q, &dst->sa_k, &dst->sa_v, &dst->sa_o, &dst->ca_q, &dst->ca_k, &dst->ca_v,
                         &dst->ca_o, &dst->ffn1, &dst->ffn2};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) linear_layout(l, out[i], in[i]);
    dst->sa_nq = vec(l, src->sa_nq, c->dim), dst->sa_nk = vec(l, src->sa_nk, c->dim);
    dst->ca_nq = vec(l, src->ca_nq, c->dim), dst->ca_nk = vec(l, src->ca_nk, c->dim);
    dst->n2_w = vec(l, src->n2_w, c->dim), dst->n2_b = vec(l, src->n2_b, c->dim);
    dst->table = vec(l, src->table, 6 * c->dim);
    return vgen_image_bytes(l);
}

static size_t globals_layout(layout *l, const vgen_wan_config *c, wan_globals *dst, const wan_globals *src) {
    const wan_linear *in[] = {&src->patch, &src->time1, &src->time2, &src->tproj, &src->text1, &src->text2,
                              &src->head};
    wan_linear *out[] = {&dst->patch, &dst->time1, &dst->time2, &dst->tproj, &dst->text1, &dst->text2, &dst->head};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) linear_layout(l, out[i], in[i]);
    dst->head_table = vec(l, src->head_table, 2 * c->dim);
    return vgen_image_bytes(l);
}

/* ---- the placement ---- */

#define WAN_SLOTS 2

struct vgen_dit_placement {
    const vgen_dit_model *m;
    vgen_backend *be;
    int direct;                  /* host-addressable backend: the model's own weights */
    int64_t resident;            /* blocks [0, resident) stay on the device; the rest stream */
    wan_globals g;               /* pointing at the device */
    wan_block *blocks;           /* [layers]: resident blocks, and streamed ones while in a slot */
    void *gbuf;
    size_t gbytes;
    void **bbuf;                 /* [resident] device images */
    size_t *bbytes;              /* [layers] image bytes */
    uint8_t **image;             /* [layers] staging images of the streamed blocks */
    void *slot[WAN_SLOTS];
    size_t slot_bytes;
    vgen_fence *copied[WAN_SLOTS], *used[WAN_SLOTS];
    size_t device_bytes, staging_bytes;
    int64_t streamed;
};

static void *dev_alloc(vgen_dit_placement *p, size_t bytes, vgen_err *err) {
    void *d = p->be->alloc(p->be, bytes, err);
    if (d) p->device_bytes += bytes;
    return d;
}

/* Packs src into a staging image (sized by a measuring walk), then either uploads it to a new device buffer or
 * keeps it for streaming. */
static int upload_image(vgen_dit_placement *p, const void *host_struct, int is_block, void **dev, size_t *bytes,
                        vgen_err *err) {
    const vgen_wan_config *c = &p->m->cfg;
    layout l = {0};
    wan_block tb;
    wan_globals tg;
    *bytes = is_block ? block_layout(&l, c, &tb, host_struct) : globals_layout(&l, c, &tg, host_struct);
    uint8_t *img = p->be->host_alloc(p->be, *bytes, err);
    if (!img) return vgen_err_code(err, VGEN_ERR_OUT_OF_MEMORY);
    l = (layout){.image = img};
    if (is_block) block_layout(&l, c, &tb, host_struct);
    else globals_layout(&l, c, &tg, host_struct);
    *dev = dev_alloc(p, *bytes, err);
    int rc = *dev ? p->be->upload(p->be, *dev, img, *bytes, err) : vgen_err_code(err, VGEN_ERR_OUT_OF_MEMORY);
    p->be->host_free(p->be, img, *bytes);
    return rc;
}

/* Points a struct at its device copy at base (a second walk, rebasing only). */
static void rebase_block(vgen_dit_placement *p, int64_t b, void *base) {
    layout l = {.base = base};
    block_layout(&l, &p->m->cfg, &p->blocks[b], &p->m->blocks[b]);
}

static int place_streamed(vgen_dit_placement *p, int64_t b, vgen_err *err) {
    layout l = {0};
    wan_block tb;
    p->bbytes[b] = block_layout(&l, &p->m->cfg, &tb, &p->m->blocks[b]);
    p->image[b] = p->be->host_alloc(p->be, p->bbytes[b], err);
    if (!p->image[b]) return vgen_err_code(err, VGEN_ERR_OUT_OF_MEMORY);
    p->staging_bytes += p->bbytes[b];
    l = (layout){.image = p->image[b]};
    block_layout(&l, &p->m->cfg, &tb, &p->m->blocks[b]);
    if (p->bbytes[b] > p->slot_bytes) p->slot_bytes = p->bbytes[b];
    return VGEN_OK;
}

static int place_device(vgen_dit_placement *p, vgen_err *err) {
    const int64_t layers = p->m->cfg.layers;
    int rc = upload_image(p, &p->m->g, 0, &p->gbuf, &p->gbytes, err);
    if (!rc) {
        layout l = {.base = p->gbuf};
        globals_layout(&l, &p->m->cfg, &p->g, &p->m->g);
    }
    for (int64_t b = 0; !rc && b < p->resident; b++) {
        rc = upload_image(p, &p->m->blocks[b], 1, &p->bbuf[b], &p->bbytes[b], err);
        if (!rc) rebase_block(p, b, p->bbuf[b]);
    }
    for (int64_t b = p->resident; !rc && b < layers; b++) rc = place_streamed(p, b, err);
    for (int s = 0; !rc && s < WAN_SLOTS && p->resident + s < layers; s++) {
        p->slot[s] = dev_alloc(p, p->slot_bytes, err);
        rc = p->slot[s] ? p->be->fence_new(p->be, &p->copied[s], err) : vgen_err_code(err, VGEN_ERR_OUT_OF_MEMORY);
        if (!rc) rc = p->be->fence_new(p->be, &p->used[s], err);
    }
    return rc;
}

int vgen_dit_place(const vgen_dit_model *m, vgen_backend *be, int64_t resident_blocks, vgen_dit_placement **out,
                   vgen_err *err) {
    if (!m || !be || !out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_dit_place: NULL argument");
    *out = NULL;
    const int64_t layers = m->cfg.layers;
    vgen_dit_placement *p = calloc(1, sizeof *p);
    if (!p) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the DiT placement");
    p->m = m, p->be = be;
    p->direct = be->host_addressable;
    p->resident = p->direct || resident_blocks <= 0 || resident_blocks > layers ? layers : resident_blocks;
    int rc = VGEN_OK;
    if (p->direct) {
        p->g = m->g;
        p->blocks = m->blocks;
    } else {
        p->blocks = calloc((size_t)layers, sizeof *p->blocks);
        p->bbuf = calloc((size_t)layers, sizeof *p->bbuf);
        p->bbytes = calloc((size_t)layers, sizeof *p->bbytes);
        p->image = calloc((size_t)layers, sizeof *p->image);
        rc = p->blocks && p->bbuf && p->bbytes && p->image
                 ? place_device(p, err)
                 : vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate the DiT placement tables");
    }
    if (rc) {
        vgen_dit_placement_free(&p);
        return rc;
    }
    *out = p;
    return VGEN_OK;
}

void vgen_dit_placement_free(vgen_dit_placement **pp) {
    if (!pp || !*pp) return;
    vgen_dit_placement *p = *pp;
    if (!p->direct) {
        vgen_backend *be = p->be;
        vgen_err ignored;
        (void)be->synchronize(be, &ignored); /* queued copies may still read the images */
        for (int s = 0; s < WAN_SLOTS; s++) {
            if (p->slot[s]) be->buf_free(be, p->slot[s], p->slot_bytes);
            if (p->copied[s]) be->fence_free(be, p->copied[s]);
            if (p->used[s]) be->fence_free(be, p->used[s]);
        }
        for (int64_t b = 0; b < p->m->cfg.layers; b++) {
            if (p->bbuf && p->bbuf[b]) be->buf_free(be, p->bbuf[b], p->bbytes[b]);
            if (p->image && p->image[b]) be->host_free(be, p->image[b], p->bbytes[b]);
        }
        if (p->gbuf) be->buf_free(be, p->gbuf, p->gbytes);
        free(p->blocks);
        free(p->bbuf);
        free(p->bbytes);
        free(p->image);
    }
    free(p);
    *pp = NULL;
}

size_t vgen_dit_placement_device_bytes(const vgen_dit_placement *p) { return p ? p->device_bytes : 0; }
size_t vgen_dit_placement_staging_bytes(const vgen_dit_placement *p) { return p ? p->staging_bytes : 0; }
int64_t vgen_dit_placement_resident(const vgen_dit_placement *p) { return p ? p->resident : 0; }
int64_t vgen_dit_placement_streamed(const vgen_dit_placement *p) { return p ? p->streamed : 0; }

/* ---- streaming during a forward ---- */

static int slot_of(const vgen_dit_placement *p, int64_t b) { return (int)((b - p->resident) % WAN_SLOTS); }

/* Queues block b's image into its slot once the compute queue is done with what the slot held. */
static int queue_upload(vgen_dit_placement *p, int64_t b, vgen_err *err) {
    vgen_backend *be = p->be;
    const int s = slot_of(p, b);
    int rc = be->fence_wait(be, VGEN_QUEUE_COPY, p->used[s], err);
    if (!rc) rc = be->upload_async(be, p->slot[s], p->image[b], p->bbytes[b], err);
    if (!rc) rc = be->fence_record(be, p->copied[s], VGEN_QUEUE_COPY, err);
    if (rc) return rc;
    rebase_block(p, b, p->slot[s]);
    p->streamed++;
    return VGEN_OK;
}

int wan_place_begin(vgen_dit_placement *p, vgen_err *err) {
    int rc = VGEN_OK;
    for (int64_t b = p->resident; !rc && b < p->resident + WAN_SLOTS && b < p->m->cfg.layers; b++)
        rc = queue_upload(p, b, err);
    return rc;
}

int wan_place_block(vgen_dit_placement *p, int64_t b, const wan_block **out, vgen_err *err) {
    *out = &p->blocks[b];
    if (b < p->resident) return VGEN_OK;
    return p->be->fence_wait(p->be, VGEN_QUEUE_COMPUTE, p->copied[slot_of(p, b)], err);
}

int wan_place_done(vgen_dit_placement *p, int64_t b, vgen_err *err) {
    if (b < p->resident) return VGEN_OK;
    int rc = p->be->fence_record(p->be, p->used[slot_of(p, b)], VGEN_QUEUE_COMPUTE, err);
    if (!rc && b + WAN_SLOTS < p->m->cfg.layers) rc = queue_upload(p, b + WAN_SLOTS, err);
    return rc;
}

const wan_globals *wan_place_globals(const vgen_dit_placement *p) { return &p->g; }

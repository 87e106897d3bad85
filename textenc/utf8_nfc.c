/* utf8_nfc.c - NFC: canonical decomposition, canonical ordering, canonical composition (UAX #15). */
#include "utf8_nfc.h"

#include <stdlib.h>

enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7, LCOUNT = 19, VCOUNT = 21, TCOUNT = 28,
       NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

uint8_t vgen_nfc_combining_class(uint32_t cp) {
    size_t lo = 0, hi = vgen_nfc_ccc_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < vgen_nfc_ccc[mid].lo) hi = mid;
        else if (cp > vgen_nfc_ccc[mid].hi) lo = mid + 1;
        else return vgen_nfc_ccc[mid].ccc;
    }
    return 0;
}

static const vgen_nfc_decomp *decomp_find(uint32_t cp) {
    size_t lo = 0, hi = vgen_nfc_decomps_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < vgen_nfc_decomps[mid].cp) hi = mid;
        else if (cp > vgen_nfc_decomps[mid].cp) lo = mid + 1;
        else return &vgen_nfc_decomps[mid];
    }
    return NULL;
}

/* The primary composite of (a, b), or 0 if there is none. */
static uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
        return a + (b - TBASE);
    size_t lo = 0, hi = vgen_nfc_pairs_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vgen_nfc_pair *p = &vgen_nfc_pairs[mid];
        if (a < p->first || (a == p->first && b < p->second)) hi = mid;
        else if (a > p->first || b > p->second) lo = mid + 1;
        else return p->composite;
    }
    return 0;
}

static int decompose_one(uint32_t cp, vgen_u32s *out) {
    if (cp >= SBASE && cp < SBASE + SCOUNT) {
        uint32_t s = cp - SBASE, t = s % TCOUNT;
        uint32_t jamo[3] = {LBASE + s / NCOUNT, VBASE + (s % NCOUNT) / TCOUNT, TBASE + t};
        return vgen_u32s_append(out, jamo, t ? 3 : 2);
    }
    const vgen_nfc_decomp *d = decomp_find(cp);
    if (!d) return vgen_u32s_push(out, cp);
    return vgen_u32s_append(out, vgen_nfc_decomp_pool + d->off, d->len);
}

/* Stable insertion sort of each run of non-starters by combining class (runs are short). */
static void canonical_order(uint32_t *p, size_t n) {
    for (size_t i = 1; i < n; i++) {
        uint8_t c = vgen_nfc_combining_class(p[i]);
        if (c == 0) continue;
        size_t j = i;
        while (j > 0) {
            uint8_t cj = vgen_nfc_combining_class(p[j - 1]);
            if (cj == 0 || cj <= c) break;
            uint32_t t = p[j];
            p[j] = p[j - 1];
            p[j - 1] = t;
            j--;
        }
    }
}

/* Canonical composition in place; returns the new length. */
static size_t compose(uint32_t *p, size_t n) {
    if (n == 0) return 0;
    size_t starter = 0, out = 1;
    int have_starter = vgen_nfc_combining_class(p[0]) == 0;
    int last_ccc = have_starter ? 0 : 256;
    for (size_t i = 1; i < n; i++) {
        uint32_t c = p[i];
        int ccc = vgen_nfc_combining_class(c);
        uint32_t comp = 0;
        /* not blocked: the last kept character is the starter itself (class 0), or has a lower class than c */
        if (have_starter && (last_ccc < ccc || last_ccc == 0))
            comp = compose_pair(p[starter], c);
        if (comp) {
            p[starter] = comp;
            continue;
        }
        if (ccc == 0) {
            starter = out;
            have_starter = 1;
        }
        last_ccc = ccc;
        p[out++] = c;
    }
    return out;
}

int vgen_nfc(vgen_u32s *v) {
    vgen_u32s d = {0};
    for (size_t i = 0; i < v->n; i++) {
        int rc = decompose_one(v->p[i], &d);
        if (rc != VGEN_OK) {
            vgen_u32s_free(&d);
            return rc;
        }
    }
    canonical_order(d.p, d.n);
    d.n = compose(d.p, d.n);
    vgen_u32s_free(v);
    *v = d;
    return VGEN_OK;
}

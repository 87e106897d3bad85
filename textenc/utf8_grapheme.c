/* utf8_grapheme.c - extended grapheme cluster boundaries (see utf8_grapheme.h). */
#include "utf8_grapheme.h"

#include "utf8.h"

static const vgen_gcb_range *range_find(const vgen_gcb_range *t, size_t count, uint32_t cp) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < t[mid].lo) hi = mid;
        else if (cp > t[mid].hi) lo = mid + 1;
        else return &t[mid];
    }
    return NULL;
}

vgen_gcb vgen_grapheme_category(uint32_t cp) {
    const vgen_gcb_range *r = range_find(vgen_gcb_table, vgen_gcb_table_count, cp);
    return r ? (vgen_gcb)r->cat : VGEN_GCB_ANY;
}

static int is_linker(uint32_t cp) {
    for (size_t i = 0; i < vgen_incb_linkers_count; i++)
        if (vgen_incb_linkers[i] == cp) return 1;
    return 0;
}

static int is_incb_extend(uint32_t cp) {
    return range_find(vgen_incb_extend_table, vgen_incb_extend_table_count, cp) != NULL;
}

void vgen_grapheme_iter_init(vgen_grapheme_iter *it, const uint8_t *s, size_t n) {
    *it = (vgen_grapheme_iter){.s = s, .n = n};
}

/* Records character cp of category cat as consumed. */
static void consume(vgen_grapheme_iter *it, uint32_t cp, vgen_gcb cat) {
    it->ri_run = cat == VGEN_GCB_REGIONAL_INDICATOR ? it->ri_run + 1 : 0;
    it->emoji_zwj = cat == VGEN_GCB_ZWJ && it->pict_ext;
    if (cat == VGEN_GCB_EXTENDED_PICTOGRAPHIC) it->pict_ext = 1;
    else if (cat != VGEN_GCB_EXTEND) it->pict_ext = 0;
    if (is_linker(cp)) {
        if (it->incb) it->incb = 2;
    } else if (!is_incb_extend(cp)) {
        it->incb = cat == VGEN_GCB_INCB_CONSONANT ? 1 : 0;
    }
    it->prev = cat;
}

static int is_control_like(vgen_gcb c) { return c == VGEN_GCB_CONTROL || c == VGEN_GCB_CR || c == VGEN_GCB_LF; }

/* unicode-segmentation's check_pair plus the context rules, for a break between it->prev and `after`. */
static int is_break(const vgen_grapheme_iter *it, vgen_gcb after) {
    vgen_gcb before = it->prev;
    if (before == VGEN_GCB_CR && after == VGEN_GCB_LF) return 0;                      /* GB3 */
    if (is_control_like(before) || is_control_like(after)) return 1;                   /* GB4, GB5 */
    if (before == VGEN_GCB_L && (after == VGEN_GCB_L || after == VGEN_GCB_V || after == VGEN_GCB_LV ||
                                 after == VGEN_GCB_LVT))
        return 0;                                                                      /* GB6 */
    if ((before == VGEN_GCB_LV || before == VGEN_GCB_V) && (after == VGEN_GCB_V || after == VGEN_GCB_T))
        return 0;                                                                      /* GB7 */
    if ((before == VGEN_GCB_LVT || before == VGEN_GCB_T) && after == VGEN_GCB_T) return 0; /* GB8 */
    if (after == VGEN_GCB_EXTEND || after == VGEN_GCB_ZWJ) return 0;                   /* GB9 */
    if (after == VGEN_GCB_SPACINGMARK || before == VGEN_GCB_PREPEND) return 0;         /* GB9a, GB9b */
    if (after == VGEN_GCB_INCB_CONSONANT) return it->incb != 2;                        /* GB9c */
    if (before == VGEN_GCB_ZWJ && after == VGEN_GCB_EXTENDED_PICTOGRAPHIC) return !it->emoji_zwj; /* GB11 */
    if (before == VGEN_GCB_REGIONAL_INDICATOR && after == VGEN_GCB_REGIONAL_INDICATOR)
        return it->ri_run % 2 == 0;                                                    /* GB12, GB13 */
    return 1;                                                                          /* GB999 */
}

size_t vgen_grapheme_next(vgen_grapheme_iter *it) {
    size_t start = it->pos;
    while (it->pos < it->n) {
        size_t next = it->pos;
        uint32_t cp = vgen_utf8_next(it->s, it->n, &next);
        vgen_gcb cat = vgen_grapheme_category(cp);
        if (it->pos > start && is_break(it, cat)) break;
        consume(it, cp, cat);
        it->pos = next;
    }
    return it->pos - start;
}

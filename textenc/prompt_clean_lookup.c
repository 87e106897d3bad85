/* prompt_clean_lookup.c - lookups in the generated prompt cleaning tables (prompt_clean_table.c). */
#include "prompt_clean_tables.h"

int vgen_cp_sorted_contains(const uint32_t *t, size_t count, uint32_t cp) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] == cp) return 1;
        if (t[mid] > cp) hi = mid;
        else lo = mid + 1;
    }
    return 0;
}

const vgen_cp_map *vgen_cp_map_find(const vgen_cp_map *t, size_t count, uint32_t cp) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].cp == cp) return &t[mid];
        if (t[mid].cp > cp) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

int vgen_py_isspace(uint32_t cp) { return vgen_cp_sorted_contains(vgen_py_space, vgen_py_space_count, cp); }

int vgen_py_re_digit(uint32_t cp) {
    size_t lo = 0, hi = vgen_py_digit_ranges_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < vgen_py_digit_ranges[mid].lo) hi = mid;
        else if (cp > vgen_py_digit_ranges[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

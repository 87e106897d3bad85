/* safetensors_set.c - the open set: building it, looking tensors up, metadata, closing; message helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "safetensors_impl.h"

/* ---- building ------------------------------------------------------------------------------------- */

vgen_st_set *st_set_new(void) { return calloc(1, sizeof(vgen_st_set)); }

static int oom(vgen_err *err, const char *what) {
    return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory (%s)", what);
}

/* arr with room for need (> 0) items of elem bytes, reallocated (doubling) when *cap is short; NULL on failure,
 * leaving arr as it was. */
static void *grow(void *arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return arr;
    size_t n = *cap ? *cap : 8, bytes;
    while (n < need) {
        if (!vgen_mul_size(n, 2, &n)) return NULL;
    }
    if (!vgen_mul_size(n, elem, &bytes)) return NULL;
    void *p = realloc(arr, bytes);
    if (p) *cap = n;
    return p;
}

int st_set_add_shard(vgen_st_set *s, const char *path, vgen_mapped_file *file, int *index, vgen_err *err) {
    vgen_mapped_file taken = *file;
    memset(file, 0, sizeof *file);
    char show[ST_SHOW_MAX];
    st_shard sh = {strdup(path), strdup(st_show_path(path, show)), taken};
    st_shard *p = sh.path && sh.display ? realloc(s->shards, ((size_t)s->n_shards + 1) * sizeof *p) : NULL;
    if (!p) {
        free(sh.path);
        free(sh.display);
        vgen_mapped_file_close(&taken);
        return oom(err, "shard list");
    }
    s->shards = p;
    s->shards[s->n_shards] = sh;
    *index = s->n_shards++;
    return VGEN_OK;
}

int st_set_add_meta(vgen_st_set *s, const char *key, const char *value, vgen_err *err) {
    char **meta = grow(s->meta, &s->cap_meta, 2 * (s->n_meta + 1), sizeof *meta);
    if (!meta) return oom(err, "metadata");
    s->meta = meta;
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return oom(err, "metadata");
    }
    s->meta[2 * s->n_meta] = k;
    s->meta[2 * s->n_meta + 1] = v;
    s->n_meta++;
    return VGEN_OK;
}

int st_set_add_entries(vgen_st_set *s, int shard, const uint8_t *data_start, st_entry *e, size_t n,
                       vgen_err *err) {
    if (n == 0) return VGEN_OK;
    vgen_st_tensor *tensors = grow(s->tensors, &s->cap_tensors, s->n_tensors + n, sizeof *tensors);
    if (!tensors) {
        for (size_t i = 0; i < n; i++) free((char *)e[i].t.name);
        return oom(err, "tensor list");
    }
    s->tensors = tensors;
    for (size_t i = 0; i < n; i++) {
        vgen_st_tensor *t = &s->tensors[s->n_tensors++];
        *t = e[i].t;
        t->shard = shard;
        t->data = data_start ? data_start + e[i].begin : NULL;
        e[i].t.name = NULL;
    }
    return VGEN_OK;
}

static int cmp_by_name(const void *a, const void *b) {
    const vgen_st_tensor *x = *(const vgen_st_tensor *const *)a, *y = *(const vgen_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

int st_set_finalize(vgen_st_set *s, vgen_err *err) {
    free(s->by_name);
    s->by_name = malloc((s->n_tensors ? s->n_tensors : 1) * sizeof *s->by_name);
    if (!s->by_name) return oom(err, "name index");
    for (size_t i = 0; i < s->n_tensors; i++) s->by_name[i] = &s->tensors[i];
    qsort(s->by_name, s->n_tensors, sizeof *s->by_name, cmp_by_name);
    for (size_t i = 1; i < s->n_tensors; i++) {
        const vgen_st_tensor *a = s->by_name[i - 1], *b = s->by_name[i];
        if (strcmp(a->name, b->name) != 0) continue;
        char q[ST_SHOW_MAX];
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "tensor %s is in both shard %s and shard %s",
                            st_quote(a->name, q), s->shards[a->shard].display, s->shards[b->shard].display);
    }
    return VGEN_OK;
}

void vgen_st_close(vgen_st_set **set) {
    if (!set || !*set) return;
    vgen_st_set *s = *set;
    for (size_t i = 0; i < s->n_tensors; i++) free((char *)s->tensors[i].name);
    for (size_t i = 0; i < 2 * s->n_meta; i++) free(s->meta[i]);
    for (int i = 0; i < s->n_shards; i++) {
        free(s->shards[i].path);
        free(s->shards[i].display);
        vgen_mapped_file_close(&s->shards[i].file);
    }
    free(s->tensors);
    free(s->by_name);
    free(s->meta);
    free(s->shards);
    free(s);
    *set = NULL;
}

/* ---- queries -------------------------------------------------------------------------------------- */

size_t vgen_st_count(const vgen_st_set *set) { return set ? set->n_tensors : 0; }

const vgen_st_tensor *vgen_st_at(const vgen_st_set *set, size_t i) {
    return set && i < set->n_tensors ? &set->tensors[i] : NULL;
}

const vgen_st_tensor *vgen_st_find(const vgen_st_set *set, const char *name) {
    if (!set || !name || !set->by_name) return NULL;
    size_t lo = 0, hi = set->n_tensors; /* search [lo, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, set->by_name[mid]->name);
        if (c == 0) return set->by_name[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

size_t vgen_st_shard_count(const vgen_st_set *set) { return set ? (size_t)set->n_shards : 0; }

const char *vgen_st_shard_path(const vgen_st_set *set, int shard) {
    return set && shard >= 0 && shard < set->n_shards ? set->shards[shard].path : NULL;
}

size_t vgen_st_metadata_count(const vgen_st_set *set) { return set ? set->n_meta : 0; }

void vgen_st_metadata_at(const vgen_st_set *set, size_t i, const char **key, const char **value) {
    int ok = set && i < set->n_meta;
    if (key) *key = ok ? set->meta[2 * i] : NULL;
    if (value) *value = ok ? set->meta[2 * i + 1] : NULL;
}

const char *vgen_st_metadata_get(const vgen_st_set *set, const char *key) {
    for (size_t i = 0; set && key && i < set->n_meta; i++)
        if (strcmp(set->meta[2 * i], key) == 0) return set->meta[2 * i + 1];
    return NULL;
}

/* ---- message helpers ------------------------------------------------------------------------------ */

/* Appends the printable form of the character at p (escaping if needed) to buf[*o..), if it fits below limit.
 * Returns the number of source bytes consumed, or 0 if it did not fit. */
static size_t show_char(const unsigned char *p, int raw_utf8, char *buf, size_t *o, size_t limit) {
    char tmp[8];
    const char *src = (const char *)p;
    size_t k = 1, used = 1;
    if (*p == '"' || *p == '\\') {
        k = (size_t)snprintf(tmp, sizeof tmp, "\\%c", *p);
        src = tmp;
    } else if (*p < 0x20 || *p == 0x7F || (*p >= 0x80 && !raw_utf8)) {
        k = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", *p);
        src = tmp;
    } else if (*p >= 0x80) { /* valid UTF-8: copy the whole sequence */
        k = used = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2;
    }
    if (*o + k > limit) return 0;
    memcpy(buf + *o, src, k);
    *o += k;
    return used;
}

/* Appends s to buf[*o..) escaped, with at most ST_SHOW_MAX - 8 bytes of output. */
static void show(const char *s, char *buf, size_t *o) {
    int raw = vgen_utf8_validate((const uint8_t *)s, strlen(s), NULL, NULL);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t used = show_char(p, raw, buf, o, ST_SHOW_MAX - 8);
        if (!used) {
            memcpy(buf + *o, "...", 3);
            *o += 3;
            return;
        }
        p += used;
    }
}

const char *st_quote(const char *s, char *buf) {
    size_t o = 0;
    buf[o++] = '"';
    show(s ? s : "(null)", buf, &o);
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

const char *st_show_path(const char *path, char *buf) {
    size_t n = strlen(path), keep = ST_SHOW_MAX - 48;
    size_t o = 0;
    if (n > keep) { /* keep the tail: the file name is what tells files apart */
        const char *tail = path + n - keep;
        while ((*tail & 0xC0) == 0x80) tail++; /* do not start inside a UTF-8 sequence */
        memcpy(buf, "...", 3);
        o = 3;
        path = tail;
    }
    show(path, buf, &o);
    buf[o] = '\0';
    return buf;
}

int st_json_error(vgen_err *err, const char *file, const char *what, const vgen_json_error *e) {
    switch (e->kind) {
    case VGEN_JSON_BAD_UTF8:
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: %s is not valid UTF-8 (%s at %s byte %zu)", file, what,
                            e->why, what, e->offset);
    case VGEN_JSON_NO_MEMORY:
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory parsing %s", file, what);
    case VGEN_JSON_TRAILING:
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: %s has trailing data after the JSON value (at %s byte %zu)",
                            file, what, what, e->offset);
    case VGEN_JSON_EMPTY:
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: %s is not valid JSON (it is empty)", file, what);
    default:
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: %s is not valid JSON (%s at %s byte %zu)", file, what,
                            e->why, what, e->offset);
    }
}

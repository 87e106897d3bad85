/* safetensors_parse.c - one file image: header length, header JSON, metadata, unique names, data layout.
 *
 * File layout: [u64 LE n][n bytes of JSON header][data buffer: file size - 8 - n bytes]. */
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "safetensors_impl.h"

static uint64_t read_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* A torch.save file (zip, or a bare pickle with protocol 2..5) misread as a header length: say so. */
static const char *torch_hint(const uint8_t *base, size_t size) {
    int zip = size >= 4 && memcmp(base, "PK\x03\x04", 4) == 0;
    int pickle = size >= 2 && base[0] == 0x80 && base[1] >= 2 && base[1] <= 5;
    return zip || pickle ? " (this looks like a PyTorch checkpoint, not safetensors: convert it with "
                           "safetensors.torch.save_file)"
                         : "";
}

/* Reads and bounds the header length n: 8 + n <= size and n <= VGEN_ST_MAX_HEADER. */
static int header_length(const uint8_t *base, size_t size, const char *file, uint64_t *n_out, vgen_err *err) {
    if (size < 8)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: file is %zu bytes, shorter than the 8-byte header length",
                            file, size);
    uint64_t n = read_le64(base), stop = 0;
    if (n > VGEN_ST_MAX_HEADER)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: header length %llu exceeds the maximum %llu%s", file,
                            (unsigned long long)n, VGEN_ST_MAX_HEADER, torch_hint(base, size));
    if (!vgen_add_u64(8, n, &stop) || stop > size)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: header length %llu does not fit in the file (%zu bytes)%s",
                            file, (unsigned long long)n, size, torch_hint(base, size));
    *n_out = n;
    return VGEN_OK;
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* __metadata__: an object of string values with unique keys; kept in file order when keep is set. */
static int parse_metadata(vgen_st_set *s, const cJSON *m, const char *file, int keep, vgen_err *err) {
    char q[ST_SHOW_MAX];
    if (!cJSON_IsObject(m)) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: __metadata__ is not an object", file);
    size_t n = 0;
    for (const cJSON *c = m->child; c; c = c->next, n++)
        if (!cJSON_IsString(c))
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: __metadata__ value of key %s is not a string", file,
                                st_quote(c->string, q));
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", file);
    n = 0;
    for (const cJSON *c = m->child; c; c = c->next) keys[n++] = c->string;
    qsort(keys, n, sizeof *keys, cmp_cstr);
    int rc = VGEN_OK;
    for (size_t i = 1; i < n && !rc; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: __metadata__ key %s appears more than once", file,
                              st_quote(keys[i], q));
    free(keys);
    for (const cJSON *c = m->child; c && keep && !rc; c = c->next)
        rc = st_set_add_meta(s, c->string, c->valuestring, err);
    return rc;
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp(((const st_entry *)a)->t.name, ((const st_entry *)b)->t.name);
}

/* cJSON does not reject duplicate keys: a repeated tensor name is an error here, not "last one wins". */
static int check_unique(st_entry *e, size_t n, const char *file, vgen_err *err) {
    qsort(e, n, sizeof *e, cmp_entry_name);
    char q[ST_SHOW_MAX];
    for (size_t i = 1; i < n; i++)
        if (strcmp(e[i - 1].t.name, e[i].t.name) == 0)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: tensor %s appears more than once in the header", file,
                                st_quote(e[i].t.name, q));
    return VGEN_OK;
}

/* By (begin, end, name): empty tensors sort before a non-empty one at the same offset. */
static int cmp_entry_offsets(const void *a, const void *b) {
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->t.name, y->t.name);
}

int st_layout_check(st_entry *e, size_t n, uint64_t data_len, const char *file, vgen_err *err) {
    qsort(e, n, sizeof *e, cmp_entry_offsets);
    char q[ST_SHOW_MAX], qp[ST_SHOW_MAX];
    uint64_t pos = 0; /* end of the tiling so far */
    for (size_t i = 0; i < n; i++) {
        unsigned long long b = e[i].begin, p = pos;
        if (b > pos && pos == 0)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: tensor %s: data starts at %llu, leaving a gap at the "
                                "start of the data buffer", file, st_quote(e[i].t.name, q), b);
        if (b > pos)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: tensor %s: begins at %llu, leaving a gap of %llu bytes "
                                "after tensor %s (which ends at %llu)", file, st_quote(e[i].t.name, q), b, b - p,
                                st_quote(e[i - 1].t.name, qp), p);
        if (b < pos)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: tensor %s: begins at %llu, overlapping tensor %s (which "
                                "ends at %llu)", file, st_quote(e[i].t.name, q), b, st_quote(e[i - 1].t.name, qp), p);
        pos = e[i].end;
    }
    if (pos != data_len)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: %llu trailing bytes of the data buffer (from offset %llu to "
                            "%llu) are not covered by any tensor", file, (unsigned long long)(data_len - pos),
                            (unsigned long long)pos, (unsigned long long)data_len);
    return VGEN_OK;
}

static const char *json_type_name(const cJSON *v) {
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    return "null";
}

/* Checks every entry of the root object, then names and layout; hands the tensors to s on success. */
static int parse_entries(vgen_st_set *s, int shard, const cJSON *root, const uint8_t *data, uint64_t data_len,
                         int keep_meta, vgen_err *err) {
    const char *file = s->shards[shard].display;
    size_t count = 0, n = 0;
    for (const cJSON *c = root->child; c; c = c->next) count++;
    st_entry *e = calloc(count ? count : 1, sizeof *e);
    if (!e) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu entries", file, count);
    int rc = VGEN_OK, seen_meta = 0;
    for (const cJSON *c = root->child; c && !rc; c = c->next) {
        if (strcmp(c->string, "__metadata__") != 0) {
            rc = st_entry_parse(c, data_len, file, &e[n], err);
            n += rc ? 0 : 1;
        } else if (seen_meta++) {
            rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: __metadata__ appears more than once", file);
        } else {
            rc = parse_metadata(s, c, file, keep_meta, err);
        }
    }
    if (!rc) rc = check_unique(e, n, file, err);
    if (!rc) rc = st_layout_check(e, n, data_len, file, err);
    if (!rc) rc = st_set_add_entries(s, shard, data, e, n, err); /* takes the names */
    else
        for (size_t i = 0; i < n; i++) free((char *)e[i].t.name);
    free(e);
    return rc;
}

int st_parse_into(vgen_st_set *s, int shard, const uint8_t *base, size_t size, int keep_meta, vgen_err *err) {
    const char *file = s->shards[shard].display;
    uint64_t n = 0;
    int rc = header_length(base, size, file, &n, err);
    if (rc) return rc;
    vgen_json_error je;
    cJSON *root = vgen_json_parse_strict(base + 8, (size_t)n, &je);
    if (!root) return st_json_error(err, file, "header", &je);
    if (!cJSON_IsObject(root))
        rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: header is not a JSON object (it is %s)", file,
                          json_type_name(root));
    else
        rc = parse_entries(s, shard, root, base + 8 + n, (uint64_t)size - 8 - n, keep_meta, err);
    cJSON_Delete(root);
    return rc;
}

int vgen_st_parse(const uint8_t *base, size_t file_size, const char *display_name, vgen_st_set **out, vgen_err *err) {
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_st_parse: out is NULL");
    *out = NULL;
    if (!base && file_size > 0) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_st_parse: base is NULL");
    vgen_st_set *s = st_set_new();
    if (!s) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory");
    vgen_mapped_file none = {NULL, 0}; /* the bytes stay the caller's */
    int shard = 0;
    int rc = st_set_add_shard(s, display_name ? display_name : "<memory>", &none, &shard, err);
    if (!rc) rc = st_parse_into(s, shard, base, file_size, 1, err);
    if (!rc) rc = st_set_finalize(s, err);
    if (rc) vgen_st_close(&s);
    *out = s;
    return rc;
}

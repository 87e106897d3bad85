/* safetensors_write.c - the streaming, atomic writer.
 *
 * open: validates the declarations, lays the tensors out in declaration order, writes
 *   [u64 LE n][JSON header padded with spaces to n % 8 == 0]
 * to a temporary file beside path (core/atomic_file.h); write: streams each tensor's bytes in order; finish: fsync, rename onto path, fsync the
 * directory (best effort). Any failure removes the temporary file. A failed writer stays failed: later writes and
 * finish repeat the first error (code and message). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "checked.h"
#include "safetensors_impl.h"

struct vgen_st_writer {
    char *path;          /* the target, for messages */
    vgen_atomic_file file; /* the temporary file beside it, renamed onto path by finish */
    char **names;        /* [n] copies, for messages */
    uint64_t *sizes;     /* [n] byte size of each tensor, declaration order */
    size_t n;
    size_t cur;          /* the tensor being written */
    uint64_t cur_done;   /* bytes of it written so far */
    vgen_err first;      /* the first error; code VGEN_OK while the writer is healthy */
};

/* ---- a growable text buffer for the header ---------------------------------------------------------- */

typedef struct strbuf {
    char *p;
    size_t n, cap;
    int oom;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t k) {
    if (b->oom) return;
    if (b->n + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + k + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, k);
    b->n += k;
    b->p[b->n] = '\0';
}

static void sb_str(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(strbuf *b, uint64_t v) {
    char tmp[24];
    sb_put(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v));
}

/* A JSON string: quotes, backslashes and control characters escaped; UTF-8 passes through. */
static void sb_json_str(strbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        if (*p == '"' || *p == '\\') sb_put(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "\\%c", *p));
        else if (*p < 0x20) sb_put(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", *p));
        else sb_put(b, (const char *)p, 1);
    }
    sb_put(b, "\"", 1);
}

/* ---- validation --------------------------------------------------------------------------------------- */

static int bad_arg(vgen_err *err, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad_arg(vgen_err *err, const char *path, const char *fmt, ...) {
    char show[ST_SHOW_MAX], msg[VGEN_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: %s", st_show_path(path, show), msg);
}

static int valid_text(const char *s) { return s && vgen_utf8_validate((const uint8_t *)s, strlen(s), NULL, NULL); }

/* One declaration: a UTF-8 name, a known dtype, 0 <= rank <= 8, dims in [0, 2^53); *bytes its size. */
static int check_decl(const char *path, const vgen_st_decl *d, uint64_t *bytes, vgen_err *err) {
    char q[ST_SHOW_MAX];
    if (!d->name) return bad_arg(err, path, "a tensor name is NULL");
    if (!valid_text(d->name)) return bad_arg(err, path, "tensor name %s is not valid UTF-8", st_quote(d->name, q));
    if (strcmp(d->name, "__metadata__") == 0) return bad_arg(err, path, "\"__metadata__\" cannot name a tensor");
    if (vgen_st_dtype_size(d->dtype) == 0)
        return bad_arg(err, path, "tensor %s: unknown dtype %d", st_quote(d->name, q), (int)d->dtype);
    if (d->n_dims < 0 || d->n_dims > VGEN_ST_MAX_DIMS)
        return bad_arg(err, path, "tensor %s: rank %d is not in [0, %d]", st_quote(d->name, q), d->n_dims,
                       VGEN_ST_MAX_DIMS);
    for (int i = 0; i < d->n_dims; i++)
        if (d->shape[i] < 0 || (uint64_t)d->shape[i] > ST_MAX_JSON_INT)
            return bad_arg(err, path, "tensor %s: dim %d (%lld) is not in [0, 2^53)", st_quote(d->name, q), i,
                           (long long)d->shape[i]);
    uint64_t numel = 0;
    if (!vgen_shape_numel(d->shape, d->n_dims, &numel) || !vgen_mul_u64(numel, vgen_st_dtype_size(d->dtype), bytes))
        return bad_arg(err, path, "tensor %s: byte size overflows 64 bits", st_quote(d->name, q));
    return VGEN_OK;
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names (keys) must be unique; names[] is sorted in place. */
static int check_unique(const char *path, const char **names, size_t n, const char *what, vgen_err *err) {
    char q[ST_SHOW_MAX];
    qsort(names, n, sizeof *names, cmp_cstr);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return bad_arg(err, path, "%s %s is declared twice", what, st_quote(names[i], q));
    return VGEN_OK;
}

static int check_meta(const char *path, const char *const *keys, const char *const *values, size_t n, vgen_err *err) {
    if (n && (!keys || !values)) return bad_arg(err, path, "metadata keys or values are NULL");
    for (size_t i = 0; i < n; i++)
        if (!valid_text(keys[i]) || !valid_text(values[i]))
            return bad_arg(err, path, "metadata entry %zu is NULL or not valid UTF-8", i);
    const char **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory");
    if (n) memcpy(sorted, keys, n * sizeof *sorted);
    int rc = check_unique(path, sorted, n, "metadata key", err);
    free(sorted);
    return rc;
}

/* ---- header --------------------------------------------------------------------------------------------- */

static void header_meta(strbuf *b, const char *const *keys, const char *const *values, size_t n) {
    sb_str(b, "\"__metadata__\":{");
    for (size_t i = 0; i < n; i++) {
        if (i) sb_str(b, ",");
        sb_json_str(b, keys[i]);
        sb_str(b, ":");
        sb_json_str(b, values[i]);
    }
    sb_str(b, "}");
}

/* {"__metadata__":{..},"name":{"dtype":"F32","shape":[..],"data_offsets":[b,e]},..} padded with spaces. */
static void header_json(strbuf *b, const vgen_st_decl *decls, const uint64_t *sizes, size_t n, const char *const *keys,
                        const char *const *values, size_t n_meta) {
    uint64_t off = 0;
    sb_str(b, "{");
    if (n_meta) header_meta(b, keys, values, n_meta);
    for (size_t i = 0; i < n; i++) {
        if (i || n_meta) sb_str(b, ",");
        sb_json_str(b, decls[i].name);
        sb_str(b, ":{\"dtype\":\"");
        sb_str(b, vgen_st_dtype_name(decls[i].dtype));
        sb_str(b, "\",\"shape\":[");
        for (int d = 0; d < decls[i].n_dims; d++) {
            if (d) sb_str(b, ",");
            sb_u64(b, (uint64_t)decls[i].shape[d]);
        }
        sb_str(b, "],\"data_offsets\":[");
        sb_u64(b, off);
        sb_str(b, ",");
        sb_u64(b, off + sizes[i]);
        sb_str(b, "]}");
        off += sizes[i];
    }
    sb_str(b, "}");
    while (b->n % 8) sb_str(b, " ");
}

/* ---- file I/O --------------------------------------------------------------------------------------------- */

static void writer_free(vgen_st_writer *w) {
    if (!w) return;
    vgen_atomic_abort(&w->file); /* removes the temporary file unless it was committed */
    for (size_t i = 0; w->names && i < w->n; i++) free(w->names[i]);
    free(w->names);
    free(w->sizes);
    free(w->path);
    free(w);
}

/* Allocates w with its paths, names and sizes. */
static vgen_st_writer *writer_new(const char *path, const vgen_st_decl *decls, const uint64_t *sizes, size_t n) {
    vgen_st_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->file = vgen_atomic_file_none();
    w->n = n;
    w->path = strdup(path);
    w->names = calloc(n ? n : 1, sizeof *w->names);
    w->sizes = malloc((n ? n : 1) * sizeof *w->sizes);
    int ok = w->path && w->names && w->sizes;
    for (size_t i = 0; ok && i < n; i++) ok = (w->names[i] = strdup(decls[i].name)) != NULL;
    if (!ok) {
        writer_free(w);
        return NULL;
    }
    memcpy(w->sizes, sizes, n * sizeof *sizes);
    return w;
}

/* Creates the temporary file and writes the length and header. */
static int writer_start(vgen_st_writer *w, const strbuf *header, vgen_err *err) {
    int rc = vgen_atomic_open(&w->file, w->path, err);
    if (rc) return rc;
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)header->n >> (8 * i));
    rc = vgen_atomic_write(&w->file, len, sizeof len, err);
    return rc ? rc : vgen_atomic_write(&w->file, header->p, header->n, err);
}

/* ---- API ------------------------------------------------------------------------------------------------- */

/* Validates everything and computes the sizes; sizes: [n_decls]. */
static int check_all(const char *path, const vgen_st_decl *decls, size_t n, const char *const *keys,
                     const char *const *values, size_t n_meta, uint64_t *sizes, vgen_err *err) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = check_decl(path, &decls[i], &sizes[i], err);
        if (rc) return rc;
        if (!vgen_add_u64(total, sizes[i], &total) || total > ST_MAX_JSON_INT)
            return bad_arg(err, path, "the data would exceed 2^53 bytes");
    }
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (!names) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) names[i] = decls[i].name;
    int rc = check_unique(path, names, n, "tensor", err);
    free(names);
    return rc ? rc : check_meta(path, keys, values, n_meta, err);
}

int vgen_st_writer_open(const char *path, const vgen_st_decl *decls, size_t n_decls, const char *const *meta_keys,
                        const char *const *meta_values, size_t n_meta, vgen_st_writer **out, vgen_err *err) {
    if (!out || !path || !*path || (n_decls && !decls))
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_st_writer_open: NULL or empty argument");
    *out = NULL;
    uint64_t *sizes = malloc((n_decls ? n_decls : 1) * sizeof *sizes);
    if (!sizes) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory");
    strbuf header = {NULL, 0, 0, 0};
    vgen_st_writer *w = NULL;
    int rc = check_all(path, decls, n_decls, meta_keys, meta_values, n_meta, sizes, err);
    if (!rc) header_json(&header, decls, sizes, n_decls, meta_keys, meta_values, n_meta);
    if (!rc && (header.oom || !(w = writer_new(path, decls, sizes, n_decls))))
        rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory building the header of %s", path);
    if (!rc && header.n > VGEN_ST_MAX_HEADER)
        rc = bad_arg(err, path, "the header would be %zu bytes, more than the limit %llu", header.n,
                     VGEN_ST_MAX_HEADER);
    if (!rc) rc = writer_start(w, &header, err);
    free(header.p);
    free(sizes);
    if (rc) writer_free(w);
    else *out = w;
    return rc;
}

/* Skips tensors that are complete (including empty ones). */
static void writer_advance(vgen_st_writer *w) {
    while (w->cur < w->n && w->cur_done == w->sizes[w->cur]) {
        w->cur++;
        w->cur_done = 0;
    }
}

/* Records the error just set in err (rc) as the writer's first. */
static int writer_fail(vgen_st_writer *w, int rc, const vgen_err *err) {
    w->first.code = rc;
    snprintf(w->first.msg, sizeof w->first.msg, "%s", err ? err->msg : "an earlier write failed");
    return rc;
}

static int writer_repeat_failure(const vgen_st_writer *w, vgen_err *err) {
    return vgen_err_set(err, w->first.code, "%s", w->first.msg);
}

int vgen_st_writer_write(vgen_st_writer *w, const void *bytes, size_t n, vgen_err *err) {
    char q[ST_SHOW_MAX];
    if (!w || (n && !bytes)) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_st_writer_write: NULL argument");
    if (w->first.code != VGEN_OK) return writer_repeat_failure(w, err);
    if (n == 0) return VGEN_OK;
    writer_advance(w);
    if (w->cur == w->n)
        return writer_fail(w, bad_arg(err, w->path, "write of %zu bytes after the last tensor was complete", n), err);
    uint64_t left = w->sizes[w->cur] - w->cur_done;
    if ((uint64_t)n > left)
        return writer_fail(w, bad_arg(err, w->path, "tensor %s: write of %zu bytes exceeds its size (%llu of %llu "
                                      "bytes written)", st_quote(w->names[w->cur], q), n,
                                      (unsigned long long)w->cur_done, (unsigned long long)w->sizes[w->cur]),
                           err);
    int rc = vgen_atomic_write(&w->file, bytes, n, err);
    if (rc) return writer_fail(w, rc, err);
    w->cur_done += n;
    return VGEN_OK;
}

/* Checks completeness, syncs, renames. */
static int writer_commit(vgen_st_writer *w, vgen_err *err) {
    char q[ST_SHOW_MAX];
    if (w->first.code != VGEN_OK) return writer_repeat_failure(w, err);
    writer_advance(w);
    if (w->cur < w->n)
        return bad_arg(err, w->path, "tensor %s: only %llu of %llu bytes written", st_quote(w->names[w->cur], q),
                       (unsigned long long)w->cur_done, (unsigned long long)w->sizes[w->cur]);
    return vgen_atomic_commit(&w->file, err); /* fsync, rename, fsync of the directory */
}

int vgen_st_writer_finish(vgen_st_writer **wp, vgen_err *err) {
    if (!wp || !*wp) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_st_writer_finish: NULL writer");
    vgen_st_writer *w = *wp;
    *wp = NULL;
    int rc = writer_commit(w, err);
    writer_free(w);
    return rc;
}

void vgen_st_writer_abort(vgen_st_writer **wp) {
    if (!wp || !*wp) return;
    writer_free(*wp);
    *wp = NULL;
}

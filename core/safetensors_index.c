/* safetensors_index.c - a sharded checkpoint described by *.safetensors.index.json:
 *   {"metadata": {"total_size": 123, "k": "v"}, "weight_map": {"tensor name": "shard file name", ...}}
 * Each distinct shard (a plain file name in the index's directory) is opened once; the weight_map must name
 * exactly the tensors the shards hold, each in the shard that holds it. Unknown top-level keys are ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors_impl.h"

typedef struct map_entry {
    const char *tensor; /* points into the JSON tree */
    const char *shard;
    int shard_index;    /* into index_ctx.shards */
} map_entry;

typedef struct index_ctx {
    const char *file;     /* the index, printable */
    char *dir;            /* the index's directory */
    cJSON *root;
    map_entry *map;       /* [n_map] sorted by tensor */
    size_t n_map;
    const char **shards;  /* [n_shards] distinct shard names, sorted */
    size_t n_shards;
} index_ctx;

static void index_ctx_free(index_ctx *c) {
    free(c->dir);
    cJSON_Delete(c->root);
    free(c->map);
    free(c->shards);
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, slash ? path : ".", n);
        d[n] = '\0';
    }
    return d;
}

static int load_index(const char *path, index_ctx *c, vgen_err *err) {
    vgen_mapped_file f;
    int rc = vgen_mapped_file_open(path, c->file, &f, err);
    if (rc) return rc;
    vgen_json_error je;
    if (f.size > VGEN_ST_MAX_HEADER)
        rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: index is %zu bytes, more than the limit %llu", c->file, f.size,
                          VGEN_ST_MAX_HEADER);
    else if (!(c->root = vgen_json_parse_strict(f.data, f.size, &je)))
        rc = st_json_error(err, c->file, "index", &je);
    else if (!cJSON_IsObject(c->root))
        rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: index is not a JSON object", c->file);
    vgen_mapped_file_close(&f);
    return rc;
}

/* The string values of "metadata" (others, such as total_size, are skipped). */
static int read_metadata(const index_ctx *c, const cJSON *m, vgen_st_set *s, vgen_err *err) {
    if (!cJSON_IsObject(m)) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: \"metadata\" is not an object", c->file);
    int rc = VGEN_OK;
    for (const cJSON *k = m->child; k && !rc; k = k->next)
        if (cJSON_IsString(k)) rc = st_set_add_meta(s, k->string, k->valuestring, err);
    return rc;
}

/* Finds "weight_map" (required, once) and "metadata" (optional, once). */
static int read_root(const index_ctx *c, vgen_st_set *s, const cJSON **wm, vgen_err *err) {
    const cJSON *meta = NULL;
    *wm = NULL;
    for (const cJSON *k = c->root->child; k; k = k->next) {
        int is_wm = strcmp(k->string, "weight_map") == 0, is_meta = strcmp(k->string, "metadata") == 0;
        if ((is_wm && *wm) || (is_meta && meta))
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: key \"%s\" appears more than once", c->file, k->string);
        if (is_wm) *wm = k;
        if (is_meta) meta = k;
    }
    if (!*wm || !cJSON_IsObject(*wm))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: \"weight_map\" is missing or not an object", c->file);
    if (!(*wm)->child) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: \"weight_map\" is empty", c->file);
    return meta ? read_metadata(c, meta, s, err) : VGEN_OK;
}

/* A shard must be a file directly in the index's directory: no '/', '\\', "." or "..". */
static int plain_file_name(const char *s) {
    return *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/') && !strchr(s, '\\');
}

static int cmp_map_tensor(const void *a, const void *b) {
    return strcmp(((const map_entry *)a)->tensor, ((const map_entry *)b)->tensor);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int read_entries(index_ctx *c, const cJSON *wm, vgen_err *err) {
    char q[ST_SHOW_MAX], q2[ST_SHOW_MAX];
    size_t n = 0;
    for (const cJSON *k = wm->child; k; k = k->next) n++;
    c->map = calloc(n, sizeof *c->map);
    if (!c->map) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", c->file);
    for (const cJSON *k = wm->child; k; k = k->next) {
        if (!cJSON_IsString(k))
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: weight_map entry for tensor %s is not a string", c->file,
                                st_quote(k->string, q));
        if (!plain_file_name(k->valuestring))
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: weight_map entry for tensor %s: shard name %s is not a "
                                "plain file name in the index's directory (path traversal refused)", c->file,
                                st_quote(k->string, q), st_quote(k->valuestring, q2));
        c->map[c->n_map++] = (map_entry){k->string, k->valuestring, -1};
    }
    qsort(c->map, c->n_map, sizeof *c->map, cmp_map_tensor);
    for (size_t i = 1; i < c->n_map; i++)
        if (strcmp(c->map[i - 1].tensor, c->map[i].tensor) == 0)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: weight_map names tensor %s more than once", c->file,
                                st_quote(c->map[i].tensor, q));
    return VGEN_OK;
}

/* The distinct shard names, sorted; each map entry gets its shard's index. */
static int collect_shards(index_ctx *c, vgen_err *err) {
    c->shards = malloc(c->n_map * sizeof *c->shards);
    if (!c->shards) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", c->file);
    for (size_t i = 0; i < c->n_map; i++) c->shards[i] = c->map[i].shard;
    qsort(c->shards, c->n_map, sizeof *c->shards, cmp_cstr);
    for (size_t i = 0; i < c->n_map; i++)
        if (c->n_shards == 0 || strcmp(c->shards[c->n_shards - 1], c->shards[i]) != 0)
            c->shards[c->n_shards++] = c->shards[i];
    for (size_t i = 0; i < c->n_map; i++) {
        const char **hit = bsearch(&c->map[i].shard, c->shards, c->n_shards, sizeof *c->shards, cmp_cstr);
        c->map[i].shard_index = (int)(hit - c->shards);
    }
    return VGEN_OK;
}

static int open_shards(const index_ctx *c, vgen_st_set *s, vgen_err *err) {
    for (size_t i = 0; i < c->n_shards; i++) {
        size_t len = strlen(c->dir) + strlen(c->shards[i]) + 2;
        char *path = malloc(len);
        if (!path) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", c->file);
        snprintf(path, len, "%s/%s", c->dir, c->shards[i]);
        int rc = st_open_file_into(s, path, i == 0, err);
        free(path);
        if (rc) return vgen_err_prefix(err, "%s: shard %zu of %zu", c->file, i + 1, c->n_shards);
    }
    int rc = st_set_finalize(s, err);
    return rc ? vgen_err_prefix(err, "%s", c->file) : VGEN_OK;
}

/* Walks the set's and the map's names (both sorted) side by side. */
static int cross_check(const index_ctx *c, const vgen_st_set *s, vgen_err *err) {
    char q[ST_SHOW_MAX], q1[ST_SHOW_MAX], q2[ST_SHOW_MAX];
    size_t i = 0, j = 0;
    while (i < s->n_tensors || j < c->n_map) {
        const vgen_st_tensor *t = i < s->n_tensors ? s->by_name[i] : NULL;
        const map_entry *m = j < c->n_map ? &c->map[j] : NULL;
        int cmp = !t ? 1 : !m ? -1 : strcmp(t->name, m->tensor);
        if (cmp < 0)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: tensor %s of shard %s is not in the weight_map", c->file,
                                st_quote(t->name, q), st_quote(c->shards[t->shard], q1));
        if (cmp > 0)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: weight_map maps tensor %s to shard %s, which does not "
                                "hold it", c->file, st_quote(m->tensor, q), st_quote(m->shard, q1));
        if (t->shard != m->shard_index)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: tensor %s is in shard %s but the weight_map maps it to "
                                "shard %s", c->file, st_quote(t->name, q), st_quote(c->shards[t->shard], q1),
                                st_quote(m->shard, q2));
        i++;
        j++;
    }
    return VGEN_OK;
}

int st_open_index(const char *path, vgen_st_set **out, vgen_err *err) {
    char show[ST_SHOW_MAX];
    index_ctx c = {st_show_path(path, show), dir_of(path), NULL, NULL, 0, NULL, 0};
    vgen_st_set *s = st_set_new();
    const cJSON *wm = NULL;
    int rc = !c.dir || !s ? vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory") : VGEN_OK;
    if (!rc) rc = load_index(path, &c, err);
    if (!rc) rc = read_root(&c, s, &wm, err);
    if (!rc) rc = read_entries(&c, wm, err);
    if (!rc) rc = collect_shards(&c, err);
    if (!rc) rc = open_shards(&c, s, err);
    if (!rc) rc = cross_check(&c, s, err);
    index_ctx_free(&c);
    if (rc) vgen_st_close(&s);
    *out = s;
    return rc;
}

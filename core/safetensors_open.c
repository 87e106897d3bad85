/* safetensors_open.c - vgen_st_open: a file, an index (see safetensors_index.c), or a directory holding one. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safetensors_impl.h"

int st_open_file_into(vgen_st_set *s, const char *path, int keep_meta, vgen_err *err) {
    vgen_mapped_file f;
    char show[ST_SHOW_MAX];
    int rc = vgen_mapped_file_open(path, st_show_path(path, show), &f, err);
    if (rc) return rc;
    int shard = 0;
    rc = st_set_add_shard(s, path, &f, &shard, err);
    if (!rc) rc = st_parse_into(s, shard, s->shards[shard].file.data, s->shards[shard].file.size, keep_meta, err);
    return rc;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- directory: pick the one checkpoint it holds ----------------------------------------------------- */

typedef struct name_list {
    char **names; /* [n], sorted once filled */
    size_t n;
} name_list;

static void name_list_free(name_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

static int name_list_add(name_list *l, const char *name) {
    char **p = realloc(l->names, (l->n + 1) * sizeof *p);
    if (!p) return 0;
    l->names = p;
    l->names[l->n] = strdup(name);
    return l->names[l->n++] != NULL;
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) snprintf(p, a + b + 2, "%s%s%s", dir, a && dir[a - 1] == '/' ? "" : "/", name);
    return p;
}

static int is_regular(const char *dir, const char *name) {
    char *p = path_join(dir, name);
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode); /* follows symlinks (the Hugging Face cache) */
    free(p);
    return ok;
}

/* primary: model.safetensors, diffusion_pytorch_model.safetensors, *.safetensors.index.json; any: *.safetensors;
 * other: everything else that is not hidden (named when nothing fits). */
static int list_dir(const char *dir, name_list *primary, name_list *any, name_list *other, vgen_err *err) {
    char show[ST_SHOW_MAX];
    DIR *d = opendir(dir);
    if (!d)
        return vgen_err_set(err, VGEN_ERR_IO, "%s: cannot list directory (%s)", st_show_path(dir, show),
                            strerror(errno));
    int ok = 1;
    for (struct dirent *e = readdir(d); e && ok; e = readdir(d)) {
        const char *nm = e->d_name;
        int index = ends_with(nm, ".safetensors.index.json"), st = ends_with(nm, ".safetensors");
        if (nm[0] == '.') continue;
        if ((!index && !st) || !is_regular(dir, nm)) {
            ok = name_list_add(other, nm);
            continue;
        }
        if (index || strcmp(nm, "model.safetensors") == 0 || strcmp(nm, "diffusion_pytorch_model.safetensors") == 0)
            ok = name_list_add(primary, nm);
        if (ok && st) ok = name_list_add(any, nm);
    }
    closedir(d);
    if (!ok) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory listing %s", st_show_path(dir, show));
    name_list *lists[3] = {primary, any, other};
    for (int i = 0; i < 3; i++)
        if (lists[i]->n > 1) qsort(lists[i]->names, lists[i]->n, sizeof(char *), cmp_cstr);
    return VGEN_OK;
}

/* "a, b, c" (shortened to fit a message) */
static void join_names(const name_list *l, char *buf, size_t size) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && o + 1 < size; i++) {
        char show[ST_SHOW_MAX];
        int k = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", st_show_path(l->names[i], show));
        if (k < 0) break;
        o += (size_t)k;
    }
}

static int pick_in_dir(const char *dir, char **chosen, vgen_err *err) {
    name_list primary = {NULL, 0}, any = {NULL, 0}, other = {NULL, 0};
    char show[ST_SHOW_MAX], names[VGEN_ERR_MSG_MAX / 2];
    int rc = list_dir(dir, &primary, &any, &other, err);
    const name_list *from = primary.n ? &primary : &any;
    if (!rc && from->n == 1) {
        *chosen = path_join(dir, from->names[0]);
        if (!*chosen) rc = vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory");
    } else if (!rc && from->n == 0) {
        join_names(&other, names, sizeof names);
        rc = vgen_err_set(err, VGEN_ERR_NOT_FOUND, "%s: directory holds no *.safetensors or *.safetensors.index.json "
                          "file (found %s%s)", st_show_path(dir, show), other.n ? "" : "nothing", names);
    } else if (!rc) {
        join_names(from, names, sizeof names);
        rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: ambiguous directory: it holds %zu candidate "
                          "checkpoints (%s); open one of them by path", st_show_path(dir, show), from->n, names);
    }
    name_list_free(&primary);
    name_list_free(&any);
    name_list_free(&other);
    return rc;
}

/* ---- entry point ---------------------------------------------------------------------------------------- */

static int open_single(const char *path, vgen_st_set **out, vgen_err *err) {
    vgen_st_set *s = st_set_new();
    if (!s) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "out of memory");
    int rc = st_open_file_into(s, path, 1, err);
    if (!rc) rc = st_set_finalize(s, err);
    if (rc) vgen_st_close(&s);
    *out = s;
    return rc;
}

static int open_path(const char *path, int allow_dir, vgen_st_set **out, vgen_err *err) {
    char show[ST_SHOW_MAX];
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return vgen_err_set(err, e == ENOENT || e == ENOTDIR ? VGEN_ERR_NOT_FOUND : VGEN_ERR_IO, "%s: %s",
                            st_show_path(path, show), e == ENOENT ? "not found" : strerror(e));
    }
    if (S_ISDIR(st.st_mode) && allow_dir) {
        char *chosen = NULL;
        int rc = pick_in_dir(path, &chosen, err);
        if (!rc) rc = open_path(chosen, 0, out, err);
        free(chosen);
        return rc;
    }
    if (ends_with(path, ".index.json")) return st_open_index(path, out, err);
    return open_single(path, out, err);
}

int vgen_st_open(const char *path, vgen_st_set **out, vgen_err *err) {
    if (!out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_st_open: out is NULL");
    *out = NULL;
    if (!path || !*path) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "vgen_st_open: empty path");
    return open_path(path, 1, out, err);
}

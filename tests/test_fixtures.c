/* test_fixtures.c - the reference fixtures (tools/reference) are all present and loadable: every manifest entry
 * exists with its recorded size, .safetensors files open under the strict reader, .json files parse, every file
 * under tests/fixtures is listed, and the set stays under 20 MB. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safetensors.h"
#include "testutil.h"

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (buf) buf[got] = '\0';
    return buf;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void check_entry(const cJSON *e, long long *total) {
    const char *rel = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
    const cJSON *bytes = cJSON_GetObjectItem(e, "bytes");
    CHECK(rel && cJSON_IsNumber(bytes) && cJSON_GetObjectItem(e, "tolerance_class"));
    if (!rel) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", VGEN_FIXTURES_DIR, rel);
    struct stat st;
    CHECKF(stat(path, &st) == 0, "%s is missing", rel);
    CHECKF(st.st_size == (off_t)bytes->valuedouble, "%s: %lld bytes, manifest says %.0f", rel, (long long)st.st_size,
           bytes->valuedouble);
    *total += st.st_size;
    if (ends_with(rel, ".safetensors")) {
        vgen_st_set *set = NULL;
        vgen_err err = {0};
        CHECKF(vgen_st_open(path, &set, &err) == 0, "%s: %s", rel, err.msg);
        CHECKF(set && vgen_st_count(set) > 0, "%s holds no tensor", rel);
        vgen_st_close(&set);
    } else if (ends_with(rel, ".json")) {
        char *text = read_text(path);
        cJSON *j = text ? cJSON_Parse(text) : NULL;
        CHECKF(j != NULL, "%s does not parse as JSON", rel);
        cJSON_Delete(j);
        free(text);
    }
}

/* Every file under dir (relative prefix rel) must be listed in the manifest. */
static void check_listed(const cJSON *files, const char *dir, const char *rel, int *n_files) {
    DIR *d = opendir(dir);
    CHECKF(d != NULL, "cannot list %s", dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char sub[1024], subrel[1024];
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        snprintf(subrel, sizeof subrel, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        struct stat st;
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            check_listed(files, sub, subrel, n_files);
            continue;
        }
        if (strcmp(subrel, "manifest.json") == 0) continue;
        int found = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, files) found |= strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "path")), subrel) == 0;
        CHECKF(found, "%s is not listed in manifest.json", subrel);
        (*n_files)++;
    }
    if (d) closedir(d);
}

static void test_manifest(void) {
    char *text = read_text(VGEN_FIXTURES_DIR "/manifest.json");
    CHECK(text != NULL);
    cJSON *m = text ? cJSON_Parse(text) : NULL;
    CHECK(m != NULL);
    const cJSON *files = cJSON_GetObjectItem(m, "files");
    CHECK(cJSON_IsArray(files) && cJSON_GetArraySize(files) > 20);
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(m, "versions")));
    long long total = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, files) check_entry(e, &total);
    int n_files = 0;
    check_listed(files, VGEN_FIXTURES_DIR, "", &n_files);
    CHECKF(n_files == cJSON_GetArraySize(files), "%d files on disk, %d in the manifest", n_files,
           cJSON_GetArraySize(files));
    printf("fixtures: %d files, %.2f MB\n", n_files, (double)total / 1e6);
    CHECKF(total < 20 * 1000 * 1000, "fixtures total %lld bytes, over 20 MB", total);
    cJSON_Delete(m);
    free(text);
}

int main(void) {
    RUN(test_manifest);
    return test_summary();
}

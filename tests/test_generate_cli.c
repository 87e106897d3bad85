/* test_generate_cli.c - `vgen generate` / `vgen --model ...` as a user meets it, on the bundled tiny model: the demo
 * command works and writes what it says; Ctrl-C (a real SIGINT to the child) exits 130 and leaves neither the
 * outputs nor a temporary file; an unwritable output, a bad size, a preset with an unknown key and a missing
 * component fail with one clear line, and the first three before any model loading (the command prints
 * "vgen: loading" just before it loads). */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record_json.h"
#include "testutil.h"

#define TINY_WAN VGEN_FIXTURES_DIR "/../../samples/tiny-wan"
#define TMP VGEN_TEST_TMPDIR "/generate_cli"

typedef struct run_result {
    int exited, code;
    double seconds;
    char out[8192], err[8192];
} run_result;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void slurp(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

static void exec_vgen(const char *const *args) {
    char *argv[48] = {(char *)VGEN_CLI_PATH};
    for (int i = 0; args[i] && i < 46; i++) argv[i + 1] = (char *)args[i];
    execv(VGEN_CLI_PATH, argv);
    _exit(127);
}

/* Runs vgen with args (NULL-terminated, without argv[0]), stdout and stderr to files. */
static void run_vgen(const char *const *args, run_result *r) {
    memset(r, 0, sizeof *r);
    const char *out = TMP "/stdout.txt", *err = TMP "/stderr.txt";
    const double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        exec_vgen(args);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    r->seconds = now_s() - t0;
    r->exited = WIFEXITED(status);
    r->code = r->exited ? WEXITSTATUS(status) : -WTERMSIG(status);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

/* Removes path and, for a real folder, what it holds. Symbolic links are removed, never followed (the test
 * models link into tests/fixtures). */
static void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
    if (!d) {
        unlink(path);
        return;
    }
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        remove_tree(p);
    }
    closedir(d);
    rmdir(path);
}

static const char *fresh(char *buf, const char *name) {
    snprintf(buf, 512, "%s/%s", TMP, name);
    remove_tree(buf);
    mkdir(buf, 0755);
    return buf;
}

static int entries(const char *dir, char *names, size_t size) {
    int n = 0;
    names[0] = '\0';
    DIR *d = opendir(dir);
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        snprintf(names + strlen(names), size - strlen(names), "%s ", e->d_name);
    }
    if (d) closedir(d);
    return n;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* ---- tests --------------------------------------------------------------------------------------------------- */

static void test_demo_command(void) {
    char dir[512], mp4[1100], json[1100], png[1100];
    fresh(dir, "demo");
    snprintf(mp4, sizeof mp4, "%s/fox.mp4", dir);
    snprintf(json, sizeof json, "%s/fox.json", dir);
    snprintf(png, sizeof png, "%s/frames", dir);
    const char *args[] = {"--model", TINY_WAN, "--prompt", "a red fox in snow", "--size", "48x32", "--frames", "5",
                          "--steps", "3", "-o", mp4, "--json", json, "--png-dir", png, "--seed", "7", NULL};
    run_result r;
    run_vgen(args, &r);
    CHECKF(r.exited && r.code == 0, "exit %d: %s", r.code, r.err);
    CHECK(exists(mp4) && exists(json));
    CHECK_STR_CONTAINS(r.out, "wrote");
    CHECK_STR_CONTAINS(r.err, "denoise: 3/3 steps");
    char names[512];
    CHECKF(entries(png, names, sizeof names) == 5, "frames: %s", names);
    char text[8192];
    slurp(json, text, sizeof text);
    vgen_run_record rec;
    vgen_err err = {0};
    CHECKF(vgen_run_record_from_json(text, strlen(text), &rec, &err) == 0, "%s", err.msg);
    if (!err.code) {
        CHECK(rec.seed == 7 && rec.width == 48 && rec.height == 32 && rec.frames == 5 && rec.steps == 3);
        CHECK(!strcmp(rec.prompt, "a red fox in snow") && !strcmp(rec.preset, "cpu"));
        vgen_run_record_release(&rec);
    }
    /* `vgen generate` spelled out, the record beside the video by default, an empty prompt */
    fresh(dir, "demo_generate");
    snprintf(mp4, sizeof mp4, "%s/empty.mp4", dir);
    snprintf(json, sizeof json, "%s/empty.json", dir);
    const char *args2[] = {"generate", "--model", TINY_WAN, "--prompt", "", "--size", "48x32", "--frames", "1",
                           "--steps", "2", "-o", mp4, "-q", NULL};
    run_vgen(args2, &r);
    CHECKF(r.exited && r.code == 0, "exit %d: %s", r.code, r.err);
    CHECKF(exists(mp4) && exists(json) && r.err[0] == '\0', "stderr: %s", r.err);
}

/* Starts a long run with stderr on a pipe, waits for the denoise phase, sends SIGINT. */
static void test_sigint(void) {
    char dir[512], mp4[1100], names[1024];
    fresh(dir, "sigint");
    snprintf(mp4, sizeof mp4, "%s/fox.mp4", dir);
    const char *args[] = {"--model", TINY_WAN, "--prompt", "a red fox", "--size", "48x32", "--frames", "5",
                          "--steps", "5000", "-o", mp4, "--png-dir", TMP "/sigint/png", NULL};
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        exec_vgen(args);
    }
    close(fds[1]);
    char buf[8192] = "";
    size_t n = 0;
    const double t0 = now_s();
    while (!strstr(buf, "denoise: 0/5000") && now_s() - t0 < 60 && n < sizeof buf - 1) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0) continue;
        ssize_t k = read(fds[0], buf + n, sizeof buf - 1 - n);
        if (k <= 0) break;
        n += (size_t)k;
        buf[n] = '\0';
    }
    CHECKF(strstr(buf, "denoise: 0/5000"), "the run never reached the denoise phase: %s", buf);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)k;
    buf[n] = '\0';
    close(fds[0]);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d: %s", status, buf);
    CHECK_STR_CONTAINS(buf, "interrupted");
    CHECKF(entries(dir, names, sizeof names) == 0, "left behind: %s", names);
}

static void expect_failure(const char *const *args, int code, const char *needle, int loads) {
    run_result r;
    run_vgen(args, &r);
    CHECKF(r.exited && r.code == code, "exit %d (expected %d): %s", r.code, code, r.err);
    CHECKF(count_lines(r.err) == 1 + loads && strstr(r.err, "vgen: error: "), "stderr: %s", r.err);
    CHECK_STR_CONTAINS(r.err, needle);
    CHECKF(!strstr(r.err, "vgen: loading") == !loads, "model loading %s: %s", loads ? "expected" : "started", r.err);
    if (!loads) CHECKF(r.seconds < 2.0, "took %.2f s", r.seconds);
}

static void test_refusals(void) {
    char dir[512], bad[1100], file[1100], preset[1100], model[1100], mp4[1100];
    fresh(dir, "refusals");
    snprintf(file, sizeof file, "%s/a_file", dir);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    snprintf(bad, sizeof bad, "%s/a_file/out.mp4", dir);
    snprintf(mp4, sizeof mp4, "%s/out.mp4", dir);
    const char *unwritable[] = {"--model", TINY_WAN, "--prompt", "x", "--size", "48x32", "--frames", "5", "-o", bad,
                                NULL};
    expect_failure(unwritable, 1, "a_file is not a folder", 0);
    const char *size[] = {"--model", TINY_WAN, "--prompt", "x", "--size", "50x30", "-o", mp4, NULL};
    expect_failure(size, 2, "nearest valid size is 48x32", 0);
    snprintf(preset, sizeof preset, "%s/odd.json", dir);
    f = fopen(preset, "w");
    if (f) {
        fputs("{\"name\": \"odd\", \"target\": {\"device\": \"cpu\", \"memory_budget_gb\": 4}, \"turbo\": true}", f);
        fclose(f);
    }
    const char *odd[] = {"--model", TINY_WAN, "--prompt", "x", "--size", "48x32", "--frames", "5", "-o", mp4,
                         "--preset", preset, NULL};
    expect_failure(odd, 1, "unknown key \"turbo\"", 0);
    snprintf(model, sizeof model, "%s/no_vae", dir);
    mkdir(model, 0755);
    const char *parts[] = {"model_index.json", "transformer", "text_encoder", "tokenizer", "scheduler"};
    for (int i = 0; i < 5; i++) {
        char from[1100], to[1200], real[4096];
        snprintf(from, sizeof from, "%s/%s", TINY_WAN, parts[i]);
        snprintf(to, sizeof to, "%s/%s", model, parts[i]);
        CHECK(realpath(from, real) && symlink(real, to) == 0);
    }
    const char *no_vae[] = {"--model", model, "--prompt", "x", "--size", "48x32", "--frames", "5", "-o", mp4, NULL};
    expect_failure(no_vae, 1, "component vae not found", 1);
    remove_tree(model);
    remove(file);
    remove(preset);
    char names[512];
    CHECKF(entries(dir, names, sizeof names) == 0, "left behind: %s", names);
    run_result r;
    const char *no_prompt[] = {"--model", TINY_WAN, "-o", mp4, NULL};
    run_vgen(no_prompt, &r);
    CHECKF(r.exited && r.code == 2 && strstr(r.err, "--prompt"), "exit %d: %s", r.code, r.err);
}

int main(void) {
    mkdir(VGEN_TEST_TMPDIR, 0755);
    mkdir(TMP, 0755);
    RUN(test_refusals);
    RUN(test_demo_command);
    RUN(test_sigint);
    return test_summary();
}

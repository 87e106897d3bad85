/* quant_rules.c - format names, --keep patterns, rules files and the default selection (quant_rules.h). */
#include "quant_rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct format_alias {
    const char *alias;
    vgen_wformat format;
} format_alias;

static const format_alias k_aliases[] = {
    {"int8", VGEN_WF_INT8_ROW},          {"fp8", VGEN_WF_FP8_E4M3_ROW},
    {"fp8-tensor", VGEN_WF_FP8_E4M3_TENSOR}, {"int4", VGEN_WF_INT4_G32},
    {"int4-g32", VGEN_WF_INT4_G32},      {"int4-g64", VGEN_WF_INT4_G64},
    {"int4-g128", VGEN_WF_INT4_G128},    {"int4-zp", VGEN_WF_INT4_G32_ZP},
    {"int4-asym", VGEN_WF_INT4_G32_ZP},  {"int4-g32-zp", VGEN_WF_INT4_G32_ZP},
    {"int4-g64-zp", VGEN_WF_INT4_G64_ZP}, {"int4-g128-zp", VGEN_WF_INT4_G128_ZP},
};

int vgen_quant_parse_format(const char *s, vgen_wformat *out, vgen_err *err) {
    for (size_t i = 0; s && i < sizeof k_aliases / sizeof k_aliases[0]; i++) {
        if (strcmp(s, k_aliases[i].alias) == 0) {
            *out = k_aliases[i].format;
            return VGEN_OK;
        }
    }
    if (s && vgen_wformat_from_name(s, out) == VGEN_OK && *out != VGEN_WF_F32) return VGEN_OK;
    return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT,
                        "unknown weight format \"%s\" (use int8, fp8, fp8-tensor, int4, int4-g64, int4-g128, "
                        "int4-zp, or a format name such as int4_g64_zp)", s ? s : "(null)");
}

static int add_rule(vgen_quant_rules *r, const char *pattern, int action, int line, const char *where,
                    vgen_err *err) {
    vgen_quant_rule *grown = realloc(r->rules, (r->n_rules + 1) * sizeof *grown);
    if (!grown) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "cannot allocate quantization rules");
    r->rules = grown;
    vgen_quant_rule *q = &r->rules[r->n_rules];
    int rc = regcomp(&q->re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &q->re, msg, sizeof msg);
        if (line) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s:%d: bad regex \"%s\": %s", where, line, pattern, msg);
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "--keep: bad regex \"%s\": %s", pattern, msg);
    }
    q->action = action;
    q->line = line;
    r->n_rules++;
    return VGEN_OK;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* One rules-file line: "keep REGEX" or "FORMAT REGEX". */
static int parse_rule_line(vgen_quant_rules *r, char *line, int lineno, const char *path, vgen_err *err) {
    char *s = trim(line);
    if (*s == '\0' || *s == '#') return VGEN_OK;
    char *sep = s;
    while (*sep && !isspace((unsigned char)*sep)) sep++;
    if (*sep == '\0')
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s:%d: expected \"keep REGEX\" or \"FORMAT REGEX\"",
                            path, lineno);
    *sep = '\0';
    char *pattern = trim(sep + 1);
    int action = VGEN_RULE_KEEP;
    if (strcmp(s, "keep") != 0) {
        vgen_wformat f;
        if (vgen_quant_parse_format(s, &f, err)) return vgen_err_prefix(err, "%s:%d", path, lineno);
        action = (int)f;
    }
    return add_rule(r, pattern, action, lineno, path, err);
}

static int load_rules_file(vgen_quant_rules *r, const char *path, vgen_err *err) {
    FILE *f = fopen(path, "r");
    if (!f) return vgen_err_set(err, errno == ENOENT ? VGEN_ERR_NOT_FOUND : VGEN_ERR_IO, "%s: %s", path, strerror(errno));
    char line[4096];
    int lineno = 0, rc = VGEN_OK;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f))
            rc = vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s:%d: line longer than %zu bytes", path, lineno,
                              sizeof line - 2);
        else
            rc = parse_rule_line(r, line, lineno, path, err);
    }
    if (!rc && ferror(f)) rc = vgen_err_set(err, VGEN_ERR_IO, "%s: read error", path);
    fclose(f);
    return rc;
}

int vgen_quant_rules_init(vgen_quant_rules *r, const char *format, const char *const *keep, size_t n_keep,
                          const char *rules_file, vgen_err *err) {
    memset(r, 0, sizeof *r);
    int rc = vgen_quant_parse_format(format, &r->default_format, err);
    for (size_t i = 0; !rc && i < n_keep; i++) rc = add_rule(r, keep[i], VGEN_RULE_KEEP, 0, "--keep", err);
    if (!rc && rules_file) rc = load_rules_file(r, rules_file, err);
    if (rc) vgen_quant_rules_free(r);
    return rc;
}

void vgen_quant_rules_free(vgen_quant_rules *r) {
    for (size_t i = 0; i < r->n_rules; i++) regfree(&r->rules[i].re);
    free(r->rules);
    memset(r, 0, sizeof *r);
}

static int in_repeated_block(const char *name) {
    static const char *const k_blocks[] = {"blocks.", "block.", "layers."};
    for (size_t b = 0; b < sizeof k_blocks / sizeof k_blocks[0]; b++) {
        for (const char *p = strstr(name, k_blocks[b]); p; p = strstr(p + 1, k_blocks[b])) {
            int at_start = p == name || p[-1] == '.';
            const char *d = p + strlen(k_blocks[b]);
            if (at_start && isdigit((unsigned char)*d)) {
                while (isdigit((unsigned char)*d)) d++;
                if (*d == '.') return 1;
            }
        }
    }
    return 0;
}

static int is_default_linear(const vgen_st_tensor *t) {
    if (t->n_dims != 2 || (t->dtype != VGEN_ST_F32 && t->dtype != VGEN_ST_F16 && t->dtype != VGEN_ST_BF16)) return 0;
    if (t->shape[0] <= 0 || t->shape[1] <= 0) return 0;
    size_t n = strlen(t->name);
    if (n < 7 || strcmp(t->name + n - 7, ".weight") != 0) return 0;
    if (strstr(t->name, "norm") || strstr(t->name, "embed") || strstr(t->name, "relative_attention_bias")) return 0;
    return in_repeated_block(t->name);
}

static int quantizable(const vgen_st_tensor *t) {
    return t->n_dims == 2 && t->shape[0] > 0 && t->shape[1] > 0 &&
           (t->dtype == VGEN_ST_F32 || t->dtype == VGEN_ST_F16 || t->dtype == VGEN_ST_BF16);
}

int vgen_quant_rules_decide(const vgen_quant_rules *r, const vgen_st_tensor *t) {
    for (size_t i = 0; i < r->n_rules; i++) {
        if (regexec(&r->rules[i].re, t->name, 0, NULL, 0) == 0)
            return (r->rules[i].action == VGEN_RULE_KEEP || !quantizable(t)) ? VGEN_RULE_KEEP : r->rules[i].action;
    }
    return is_default_linear(t) ? (int)r->default_format : VGEN_RULE_KEEP;
}

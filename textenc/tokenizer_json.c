/* tokenizer_json.c - reads a tokenizers tokenizer.json (version "1.0") into a vgen_tok_spec.
 *
 * Implemented exactly as tokenizers 0.22.1 reads them, and nothing else (anything else is refused with
 * VGEN_ERR_UNSUPPORTED naming it): model Unigram; normalizers Sequence, Precompiled, Strip, Replace (a String
 * pattern, or the Regex " {2,}" that transformers' SentencePiece converter writes); pre-tokenizers Sequence,
 * Metaspace, WhitespaceSplit; post-processor TemplateProcessing; added tokens without lstrip/rstrip/single_word.
 * "truncation", "padding" and "decoder" are ignored (transformers overrides the first two per call; decoding is
 * not needed). */
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"
#include "tokenizer_impl.h"
#include "tokenizer_json_util.h"

enum { MAX_SEQUENCE_DEPTH = 16 };

/* A JSON string for a one-line message (a compound literal lives until the end of the enclosing block). */
#define PRINTABLE(s) vgen_json_printable((s), (char[72]){0}, 72)

static int grow_array(void **p, size_t n, size_t size) {
    void *q = realloc(*p, (n + 1) * size);
    if (!q) return 0;
    *p = q;
    return 1;
}

static int oom(const vgen_tok_spec *spec, vgen_err *err) {
    return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", spec->what);
}

/* ---- model ------------------------------------------------------------------------------------------------ */

static int json_piece(const cJSON *item, size_t i, vgen_tok_spec *spec, vgen_err *err) {
    const cJSON *s = cJSON_GetArrayItem(item, 0), *score = cJSON_GetArrayItem(item, 1);
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 2 || !cJSON_IsString(s) || !cJSON_IsNumber(score))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: model.vocab[%zu] must be [piece, score]", spec->what, i);
    size_t len = strlen(s->valuestring);
    if (len == 0) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: model.vocab[%zu] is empty", spec->what, i);
    spec->pieces[i] = (vgen_unigram_piece){(const uint8_t *)s->valuestring, len, score->valuedouble};
    return VGEN_OK;
}

static int json_model(const cJSON *model, vgen_tok_spec *spec, vgen_err *err) {
    const char *type = NULL;
    int rc = cJSON_IsObject(model) ? vgen_json_req_string(model, "type", spec->what, "model", &type, err)
                                   : vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: no model object", spec->what);
    if (rc != VGEN_OK) return rc;
    if (strcmp(type, "Unigram") != 0)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: model type \"%s\" is not supported (only Unigram)",
                            spec->what, PRINTABLE(type));
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_id");
    int byte_fallback = 0;
    rc = vgen_json_opt_bool(model, "byte_fallback", 0, spec->what, "model", &byte_fallback, err);
    if (rc != VGEN_OK) return rc;
    if (!cJSON_IsArray(vocab) || cJSON_GetArraySize(vocab) == 0)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: model.vocab must be a non-empty array", spec->what);
    spec->n_pieces = (size_t)cJSON_GetArraySize(vocab);
    spec->byte_fallback = byte_fallback;
    spec->pieces = calloc(spec->n_pieces, sizeof *spec->pieces);
    if (!spec->pieces) return oom(spec, err);
    size_t i = 0;
    for (const cJSON *item = vocab->child; item && rc == VGEN_OK; item = item->next) rc = json_piece(item, i++, spec, err);
    if (rc != VGEN_OK || !unk || cJSON_IsNull(unk)) return rc;
    int64_t id = 0;
    rc = vgen_json_int(unk, 0, (int64_t)spec->n_pieces - 1, spec->what, "model.unk_id", &id, err);
    spec->unk_id = (int32_t)id;
    return rc;
}

/* ---- normalizer ------------------------------------------------------------------------------------------- */

static int json_normalizer(const cJSON *n, vgen_tok_spec *spec, int depth, vgen_err *err);

static int add_norm_step(vgen_tok_spec *spec, vgen_norm_step step, vgen_err *err) {
    if (!grow_array((void **)&spec->norm, spec->n_norm, sizeof *spec->norm)) {
        vgen_spm_charsmap_free(&step.charsmap);
        vgen_bytes_free(&step.pattern);
        vgen_bytes_free(&step.content);
        return oom(spec, err);
    }
    spec->norm[spec->n_norm++] = step;
    return VGEN_OK;
}

static int norm_precompiled(const cJSON *n, vgen_tok_spec *spec, vgen_err *err) {
    const char *b64 = NULL;
    int rc = vgen_json_req_string(n, "precompiled_charsmap", spec->what, "normalizer", &b64, err);
    vgen_bytes blob = {0};
    if (rc == VGEN_OK) rc = vgen_base64_decode(b64, strlen(b64), spec->what, &blob, err);
    vgen_norm_step step = {.kind = VGEN_NORM_PRECOMPILED};
    if (rc == VGEN_OK) rc = vgen_spm_charsmap_parse(blob.p, blob.n, spec->what, &step.charsmap, err);
    vgen_bytes_free(&blob);
    return rc == VGEN_OK ? add_norm_step(spec, step, err) : rc;
}

static int norm_strip(const cJSON *n, vgen_tok_spec *spec, vgen_err *err) {
    vgen_norm_step step = {.kind = VGEN_NORM_STRIP};
    int rc = vgen_json_opt_bool(n, "strip_left", 1, spec->what, "Strip", &step.strip_left, err);
    if (rc == VGEN_OK) rc = vgen_json_opt_bool(n, "strip_right", 1, spec->what, "Strip", &step.strip_right, err);
    return rc == VGEN_OK ? add_norm_step(spec, step, err) : rc;
}

static int norm_replace(const cJSON *n, vgen_tok_spec *spec, vgen_err *err) {
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(n, "pattern");
    const cJSON *str = cJSON_GetObjectItemCaseSensitive(pat, "String");
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
    const char *content = NULL;
    int rc = vgen_json_req_string(n, "content", spec->what, "Replace", &content, err);
    if (rc != VGEN_OK) return rc;
    vgen_norm_step step = {.kind = VGEN_NORM_REPLACE};
    if (cJSON_IsString(re) && strcmp(re->valuestring, " {2,}") == 0) {
        step.regex_spaces = 1;
    } else if (cJSON_IsString(re)) {
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: Replace regex \"%s\" is not supported (only \" {2,}\")",
                            spec->what, PRINTABLE(re->valuestring));
    } else if (!cJSON_IsString(str) || str->valuestring[0] == 0) {
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: Replace.pattern must be {\"String\": non-empty} or "
                            "{\"Regex\": ...}", spec->what);
    } else if (vgen_bytes_append(&step.pattern, str->valuestring, strlen(str->valuestring)) != VGEN_OK) {
        return oom(spec, err);
    }
    if (vgen_bytes_append(&step.content, content, strlen(content)) != VGEN_OK) {
        vgen_bytes_free(&step.pattern);
        return oom(spec, err);
    }
    return add_norm_step(spec, step, err);
}

static int norm_sequence(const cJSON *n, vgen_tok_spec *spec, int depth, vgen_err *err) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
    if (!cJSON_IsArray(list))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: Sequence.normalizers must be an array", spec->what);
    int rc = VGEN_OK;
    for (const cJSON *item = list->child; item && rc == VGEN_OK; item = item->next)
        rc = json_normalizer(item, spec, depth + 1, err);
    return rc;
}

static int json_normalizer(const cJSON *n, vgen_tok_spec *spec, int depth, vgen_err *err) {
    if (!n || cJSON_IsNull(n)) return VGEN_OK;
    if (depth > MAX_SEQUENCE_DEPTH)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: normalizer sequences nested too deeply", spec->what);
    const char *type = NULL;
    int rc = cJSON_IsObject(n) ? vgen_json_req_string(n, "type", spec->what, "normalizer", &type, err)
                               : vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: normalizer must be an object", spec->what);
    if (rc != VGEN_OK) return rc;
    if (strcmp(type, "Sequence") == 0) return norm_sequence(n, spec, depth, err);
    if (strcmp(type, "Precompiled") == 0) return norm_precompiled(n, spec, err);
    if (strcmp(type, "Strip") == 0) return norm_strip(n, spec, err);
    if (strcmp(type, "Replace") == 0) return norm_replace(n, spec, err);
    return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: normalizer type \"%s\" is not supported", spec->what,
                        PRINTABLE(type));
}

/* ---- pre-tokenizer ---------------------------------------------------------------------------------------- */

static int json_pretokenizer(const cJSON *p, vgen_tok_spec *spec, int depth, vgen_err *err);

static int add_pretok_step(vgen_tok_spec *spec, vgen_pretok_step step, vgen_err *err) {
    if (!grow_array((void **)&spec->pretok, spec->n_pretok, sizeof *spec->pretok)) return oom(spec, err);
    spec->pretok[spec->n_pretok++] = step;
    return VGEN_OK;
}

static int metaspace_replacement(const cJSON *p, vgen_tok_spec *spec, uint32_t *cp, vgen_err *err) {
    const char *rep = NULL;
    int rc = vgen_json_req_string(p, "replacement", spec->what, "Metaspace", &rep, err);
    if (rc != VGEN_OK) return rc;
    size_t len = strlen(rep), pos = 0;
    if (len == 0 || vgen_utf8_check((const uint8_t *)rep, len, spec->what, err) != VGEN_OK ||
        (*cp = vgen_utf8_next((const uint8_t *)rep, len, &pos), pos != len))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: Metaspace.replacement must be one character", spec->what);
    return VGEN_OK;
}

/* Metaspace as tokenizers deserializes it: prepend_scheme (default "always"), add_prefix_space false forces
 * "never" (and must agree with an explicit scheme), split (default true). */
static int pretok_metaspace(const cJSON *p, vgen_tok_spec *spec, vgen_err *err) {
    vgen_pretok_step step = {.kind = VGEN_PRETOK_METASPACE, .prepend = VGEN_PREPEND_ALWAYS};
    int rc = metaspace_replacement(p, spec, &step.replacement, err);
    const cJSON *scheme = cJSON_GetObjectItemCaseSensitive(p, "prepend_scheme");
    if (rc == VGEN_OK && scheme) {
        const char *s = cJSON_IsString(scheme) ? scheme->valuestring : "";
        if (strcmp(s, "always") == 0) step.prepend = VGEN_PREPEND_ALWAYS;
        else if (strcmp(s, "first") == 0) step.prepend = VGEN_PREPEND_FIRST;
        else if (strcmp(s, "never") == 0) step.prepend = VGEN_PREPEND_NEVER;
        else rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: Metaspace.prepend_scheme \"%s\" is unknown", spec->what,
                               PRINTABLE(s));
    }
    int add_prefix_space = 1;
    if (rc == VGEN_OK) rc = vgen_json_opt_bool(p, "add_prefix_space", 1, spec->what, "Metaspace", &add_prefix_space, err);
    if (rc == VGEN_OK && !add_prefix_space) {
        if (step.prepend != VGEN_PREPEND_NEVER && scheme)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: add_prefix_space does not match declared prepend_scheme",
                                spec->what);
        step.prepend = VGEN_PREPEND_NEVER;
    }
    if (rc == VGEN_OK) rc = vgen_json_opt_bool(p, "split", 1, spec->what, "Metaspace", &step.split, err);
    return rc == VGEN_OK ? add_pretok_step(spec, step, err) : rc;
}

static int pretok_sequence(const cJSON *p, vgen_tok_spec *spec, int depth, vgen_err *err) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
    if (!cJSON_IsArray(list))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: Sequence.pretokenizers must be an array", spec->what);
    int rc = VGEN_OK;
    for (const cJSON *item = list->child; item && rc == VGEN_OK; item = item->next)
        rc = json_pretokenizer(item, spec, depth + 1, err);
    return rc;
}

static int json_pretokenizer(const cJSON *p, vgen_tok_spec *spec, int depth, vgen_err *err) {
    if (!p || cJSON_IsNull(p)) return VGEN_OK;
    if (depth > MAX_SEQUENCE_DEPTH)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: pre-tokenizer sequences nested too deeply", spec->what);
    const char *type = NULL;
    int rc = cJSON_IsObject(p) ? vgen_json_req_string(p, "type", spec->what, "pre_tokenizer", &type, err)
                               : vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: pre_tokenizer must be an object", spec->what);
    if (rc != VGEN_OK) return rc;
    if (strcmp(type, "Sequence") == 0) return pretok_sequence(p, spec, depth, err);
    if (strcmp(type, "Metaspace") == 0) return pretok_metaspace(p, spec, err);
    if (strcmp(type, "WhitespaceSplit") == 0)
        return add_pretok_step(spec, (vgen_pretok_step){.kind = VGEN_PRETOK_WHITESPACE_SPLIT}, err);
    return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: pre_tokenizer type \"%s\" is not supported", spec->what,
                        PRINTABLE(type));
}

/* ---- post-processor --------------------------------------------------------------------------------------- */

static int add_post(vgen_tok_spec *spec, int32_t id, vgen_err *err) {
    if (!grow_array((void **)&spec->post, spec->n_post, sizeof *spec->post)) return oom(spec, err);
    spec->post[spec->n_post++] = id;
    return VGEN_OK;
}

/* A {"SpecialToken": {"id": name}} item: the ids special_tokens[name].ids. */
static int post_special(const cJSON *tok, const cJSON *specials, vgen_tok_spec *spec, vgen_err *err) {
    const char *name = NULL;
    int rc = vgen_json_req_string(tok, "id", spec->what, "SpecialToken", &name, err);
    if (rc != VGEN_OK) return rc;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(specials, name), "ids");
    if (!cJSON_IsArray(ids))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: post_processor special token \"%s\" has no ids", spec->what,
                            PRINTABLE(name));
    for (const cJSON *id = ids->child; id && rc == VGEN_OK; id = id->next) {
        int64_t v = 0;
        rc = vgen_json_int(id, 0, INT32_MAX, spec->what, "special_tokens ids", &v, err);
        if (rc == VGEN_OK) rc = add_post(spec, (int32_t)v, err);
    }
    return rc;
}

static int post_item(const cJSON *item, const cJSON *specials, vgen_tok_spec *spec, vgen_err *err) {
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(item, "Sequence");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(item, "SpecialToken");
    if (tok) return post_special(tok, specials, spec, err);
    const char *id = NULL;
    int rc = seq ? vgen_json_req_string(seq, "id", spec->what, "Sequence", &id, err)
                 : vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: template item is neither Sequence nor SpecialToken",
                                spec->what);
    if (rc != VGEN_OK) return rc;
    if (strcmp(id, "A") != 0)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: the single template refers to sequence \"%s\"", spec->what,
                            PRINTABLE(id));
    return add_post(spec, -1, err);
}

static int json_post(const cJSON *p, vgen_tok_spec *spec, vgen_err *err) {
    if (!p || cJSON_IsNull(p)) return add_post(spec, -1, err);
    const char *type = NULL;
    int rc = cJSON_IsObject(p) ? vgen_json_req_string(p, "type", spec->what, "post_processor", &type, err)
                               : vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: post_processor must be an object", spec->what);
    if (rc != VGEN_OK) return rc;
    if (strcmp(type, "TemplateProcessing") != 0)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: post_processor type \"%s\" is not supported", spec->what,
                            PRINTABLE(type));
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(p, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(p, "special_tokens");
    if (!cJSON_IsArray(single))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: TemplateProcessing.single must be an array", spec->what);
    for (const cJSON *item = single->child; item && rc == VGEN_OK; item = item->next)
        rc = post_item(item, specials, spec, err);
    return rc;
}

/* ---- added tokens ----------------------------------------------------------------------------------------- */

static int json_added(const cJSON *list, vgen_tok_spec *spec, vgen_err *err) {
    if (!list || cJSON_IsNull(list)) return VGEN_OK;
    if (!cJSON_IsArray(list))
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: added_tokens must be an array", spec->what);
    size_t n = (size_t)cJSON_GetArraySize(list), i = 0;
    spec->added = calloc(n + 1, sizeof *spec->added);
    if (!spec->added) return oom(spec, err);
    int rc = VGEN_OK;
    for (const cJSON *t = list->child; t && rc == VGEN_OK; t = t->next, i++) {
        const char *content = NULL;
        int lstrip = 0, rstrip = 0, single_word = 0, normalized = 0;
        rc = vgen_json_req_string(t, "content", spec->what, "added_tokens[]", &content, err);
        if (rc == VGEN_OK) rc = vgen_json_opt_bool(t, "lstrip", 0, spec->what, "added_tokens[]", &lstrip, err);
        if (rc == VGEN_OK) rc = vgen_json_opt_bool(t, "rstrip", 0, spec->what, "added_tokens[]", &rstrip, err);
        if (rc == VGEN_OK) rc = vgen_json_opt_bool(t, "single_word", 0, spec->what, "added_tokens[]", &single_word, err);
        if (rc == VGEN_OK) rc = vgen_json_opt_bool(t, "normalized", 1, spec->what, "added_tokens[]", &normalized, err);
        if (rc == VGEN_OK && (lstrip || rstrip || single_word))
            rc = vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: added token \"%s\": lstrip/rstrip/single_word are not "
                              "supported", spec->what, PRINTABLE(content));
        if (rc == VGEN_OK) spec->added[spec->n_added++] = (vgen_added_token){(const uint8_t *)content,
                                                                             strlen(content), -1, normalized};
    }
    return rc;
}

/* ---- top level -------------------------------------------------------------------------------------------- */

static int json_version(const cJSON *root, const vgen_tok_spec *spec, vgen_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (v && (!cJSON_IsString(v) || strcmp(v->valuestring, "1.0") != 0))
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: unknown tokenizer version", spec->what);
    return VGEN_OK;
}

/* Parses data into *spec (strings point into *root_out, which the caller deletes after building). */
static int json_spec(const uint8_t *data, size_t n, const char *what, cJSON **root_out, vgen_tok_spec *spec,
                     vgen_err *err) {
    *spec = (vgen_tok_spec){.unk_id = -1, .what = what};
    vgen_json_error je = {0};
    cJSON *root = vgen_json_parse_strict(data, n, &je);
    *root_out = root;
    if (!root) {
        if (je.kind == VGEN_JSON_NO_MEMORY) return oom(spec, err);
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: not valid JSON at byte %zu (%s)", what, je.offset,
                            je.why ? je.why : "syntax error");
    }
    if (!cJSON_IsObject(root)) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: not a JSON object", what);
    int rc = json_version(root, spec, err);
    if (rc == VGEN_OK) rc = json_model(cJSON_GetObjectItemCaseSensitive(root, "model"), spec, err);
    if (rc == VGEN_OK) rc = json_normalizer(cJSON_GetObjectItemCaseSensitive(root, "normalizer"), spec, 0, err);
    if (rc == VGEN_OK) rc = json_pretokenizer(cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), spec, 0, err);
    if (rc == VGEN_OK) rc = json_post(cJSON_GetObjectItemCaseSensitive(root, "post_processor"), spec, err);
    if (rc == VGEN_OK) rc = json_added(cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), spec, err);
    return rc;
}

int vgen_tok_load_json_named(const uint8_t *data, size_t n, const char *what, vgen_tokenizer **out, vgen_err *err) {
    if (out) *out = NULL;
    if ((!data && n) || !out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: NULL argument", what);
    cJSON *root = NULL;
    vgen_tok_spec spec;
    int rc = json_spec(data, n, what, &root, &spec, err);
    if (rc == VGEN_OK) rc = vgen_tok_build(&spec, out, err);
    vgen_tok_spec_free(&spec);
    cJSON_Delete(root);
    return rc;
}

int vgen_tokenizer_load_json_buffer(const uint8_t *data, size_t n, vgen_tokenizer **out, vgen_err *err) {
    return vgen_tok_load_json_named(data, n, "tokenizer.json", out, err);
}

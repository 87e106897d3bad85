/* spm_model.c - reads a SentencePiece ModelProto (spiece.model) and describes the fast tokenizer transformers'
 * T5Converter makes of it (convert_slow_tokenizer.py, transformers 4.57):
 *   vocabulary  the pieces with their scores, then <extra_id_{E-1}> ... <extra_id_0> with score 0;
 *   unk         trainer_spec.unk_id; byte fallback off (the converter turns it off for T5);
 *   normalizer  Precompiled(normalizer_spec.precompiled_charsmap, if any), Strip(right), Replace(" {2,}" -> "▁");
 *   pre-tok     Metaspace("▁", prepend "always", split) (T5Tokenizer's add_prefix_space=True, legacy=True);
 *   template    $A </s> (the id of the piece "</s>");
 *   added       CONTROL and USER_DEFINED pieces, the unk piece and the extra ids, matched in the raw text.
 * normalizer_spec's name / add_dummy_prefix / remove_extra_whitespaces / escape_whitespaces are read, and, as in
 * the converter, do not change the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"
#include "spm_proto.h"
#include "tokenizer_impl.h"

enum { SPM_NORMAL = 1, SPM_UNKNOWN = 2, SPM_CONTROL = 3, SPM_USER_DEFINED = 4, SPM_UNUSED = 5, SPM_BYTE = 6 };
enum { SPM_UNIGRAM = 1 };
enum { EXTRA_ID_NAME = 16, MAX_EXTRA_IDS = 10000 };

typedef struct spm_info {
    vgen_unigram_piece *pieces;
    uint8_t *types;
    size_t n;
    int64_t model_type, unk_id, eos_id, pad_id, bos_id;
    int byte_fallback, add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
    const uint8_t *charsmap;
    size_t charsmap_len;
    const char *what;
} spm_info;

static int malformed(const spm_info *m, vgen_err *err, const char *where, size_t at, const char *why) {
    return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: %s at byte %zu: %s", m->what, where, at, why);
}

static int piece_field(spm_info *m, const vgen_pb_field *f, vgen_unigram_piece *p, uint8_t *type, vgen_err *err) {
    if (f->number == 1 && f->wire == VGEN_PB_LEN) {
        size_t bad = 0;
        const char *why = NULL;
        if (f->len == 0) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: piece %zu is empty", m->what, m->n);
        if (!vgen_utf8_validate(f->bytes, f->len, &bad, &why))
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: piece %zu: invalid UTF-8 at byte %zu (%s)", m->what,
                                m->n, bad, why);
        p->s = f->bytes;
        p->len = f->len;
    } else if (f->number == 2 && f->wire == VGEN_PB_FIXED32) {
        uint32_t bits = (uint32_t)f->varint;
        float score;
        memcpy(&score, &bits, sizeof score);
        if (score != score || score - score != 0.0f)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: piece %zu has a non-finite score", m->what, m->n);
        p->score = score;
    } else if (f->number == 3 && f->wire == VGEN_PB_VARINT) {
        if (f->varint < SPM_NORMAL || f->varint > SPM_BYTE)
            return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: piece %zu has unknown type %llu", m->what, m->n,
                                (unsigned long long)f->varint);
        *type = (uint8_t)f->varint;
    } else if (f->number <= 3) {
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: piece %zu: field %u has wire type %d", m->what, m->n,
                            f->number, f->wire);
    }
    return VGEN_OK;
}

static int parse_piece(spm_info *m, const uint8_t *p, size_t n, vgen_err *err) {
    vgen_pb_reader r = vgen_pb_reader_init(p, n);
    vgen_pb_field f;
    const char *why = NULL;
    vgen_unigram_piece piece = {0};
    uint8_t type = SPM_NORMAL;
    int got, rc = VGEN_OK;
    while (rc == VGEN_OK && (got = vgen_pb_next(&r, &f, &why)) != 0) {
        if (got < 0) return malformed(m, err, "piece", r.pos, why);
        rc = piece_field(m, &f, &piece, &type, err);
    }
    if (rc == VGEN_OK && !piece.s)
        rc = vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: piece %zu has no string", m->what, m->n);
    if (rc == VGEN_OK) {
        m->pieces[m->n] = piece;
        m->types[m->n++] = type;
    }
    return rc;
}

/* An int32 field as protobuf encodes it (negative values as 64-bit two's complement). */
static int64_t pb_int32(uint64_t v) { return (int64_t)(int32_t)(uint32_t)v; }

static void trainer_field(spm_info *m, const vgen_pb_field *f) {
    if (f->wire != VGEN_PB_VARINT) return;
    switch (f->number) {
    case 3: m->model_type = (int64_t)f->varint; break;
    case 35: m->byte_fallback = f->varint != 0; break;
    case 40: m->unk_id = pb_int32(f->varint); break;
    case 41: m->bos_id = pb_int32(f->varint); break;
    case 42: m->eos_id = pb_int32(f->varint); break;
    case 43: m->pad_id = pb_int32(f->varint); break;
    default: break;
    }
}

static void normalizer_field(spm_info *m, const vgen_pb_field *f) {
    if (f->number == 2 && f->wire == VGEN_PB_LEN) {
        m->charsmap = f->bytes;
        m->charsmap_len = f->len;
    } else if (f->wire == VGEN_PB_VARINT && f->number >= 3 && f->number <= 5) {
        int *flag[] = {&m->add_dummy_prefix, &m->remove_extra_whitespaces, &m->escape_whitespaces};
        *flag[f->number - 3] = f->varint != 0;
    }
}

/* trainer_spec (field 2) or normalizer_spec (field 3); repeated occurrences merge, as protobuf's do. */
static int parse_spec(spm_info *m, const vgen_pb_field *outer, vgen_err *err) {
    vgen_pb_reader r = vgen_pb_reader_init(outer->bytes, outer->len);
    vgen_pb_field f;
    const char *why = NULL;
    int got;
    while ((got = vgen_pb_next(&r, &f, &why)) != 0) {
        if (got < 0) return malformed(m, err, outer->number == 2 ? "trainer_spec" : "normalizer_spec", r.pos, why);
        if (outer->number == 2) trainer_field(m, &f);
        else normalizer_field(m, &f);
    }
    return VGEN_OK;
}

/* Counts the pieces (field 1), checking the top-level framing. */
static int count_pieces(spm_info *m, const uint8_t *data, size_t n, size_t *count, vgen_err *err) {
    vgen_pb_reader r = vgen_pb_reader_init(data, n);
    vgen_pb_field f;
    const char *why = NULL;
    int got;
    *count = 0;
    while ((got = vgen_pb_next(&r, &f, &why)) != 0) {
        if (got < 0) return malformed(m, err, "ModelProto", r.pos, why);
        if (f.number >= 1 && f.number <= 3 && f.wire != VGEN_PB_LEN)
            return malformed(m, err, "ModelProto", r.pos, "field 1..3 is not length-delimited");
        *count += f.number == 1;
    }
    return VGEN_OK;
}

static int parse_model(spm_info *m, const uint8_t *data, size_t n, vgen_err *err) {
    size_t count = 0;
    int rc = count_pieces(m, data, n, &count, err);
    if (rc != VGEN_OK) return rc;
    if (count == 0) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: no pieces (not a SentencePiece model?)", m->what);
    m->pieces = calloc(count, sizeof *m->pieces);
    m->types = calloc(count, 1);
    if (!m->pieces || !m->types) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", m->what);
    vgen_pb_reader r = vgen_pb_reader_init(data, n);
    vgen_pb_field f;
    const char *why = NULL;
    while (rc == VGEN_OK && vgen_pb_next(&r, &f, &why) > 0) {
        if (f.number == 1) rc = parse_piece(m, f.bytes, f.len, err);
        else if (f.number == 2 || f.number == 3) rc = parse_spec(m, &f, err);
    }
    return rc;
}

static int32_t piece_id(const spm_info *m, const char *s) {
    size_t len = strlen(s);
    int32_t id = -1;
    for (size_t i = 0; i < m->n; i++)
        if (m->pieces[i].len == len && memcmp(m->pieces[i].s, s, len) == 0) id = (int32_t)i;
    return id;
}

/* Checks what the converter relies on: a Unigram model, unk_id among the pieces, a "</s>" piece. */
static int check_model(const spm_info *m, vgen_err *err) {
    static const char *const types[] = {"?", "Unigram", "BPE", "WORD", "CHAR"};
    if (m->model_type != SPM_UNIGRAM)
        return vgen_err_set(err, VGEN_ERR_UNSUPPORTED, "%s: model type %s is not supported (only Unigram)", m->what,
                            m->model_type >= 1 && m->model_type <= 4 ? types[m->model_type] : "(unknown)");
    if (m->unk_id < 0 || (uint64_t)m->unk_id >= m->n)
        return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: unk_id %lld is not a piece", m->what, (long long)m->unk_id);
    if (piece_id(m, "</s>") < 0) return vgen_err_set(err, VGEN_ERR_MALFORMED, "%s: no \"</s>\" piece", m->what);
    return VGEN_OK;
}

static int spec_steps(const spm_info *m, vgen_tok_spec *spec, vgen_err *err) {
    spec->norm = calloc(3, sizeof *spec->norm);
    spec->pretok = calloc(1, sizeof *spec->pretok);
    spec->post = calloc(2, sizeof *spec->post);
    if (!spec->norm || !spec->pretok || !spec->post)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", m->what);
    int rc = VGEN_OK;
    if (m->charsmap_len) {
        spec->norm[0].kind = VGEN_NORM_PRECOMPILED;
        rc = vgen_spm_charsmap_parse(m->charsmap, m->charsmap_len, m->what, &spec->norm[0].charsmap, err);
        if (rc != VGEN_OK) return rc;
        spec->n_norm = 1;
    }
    spec->norm[spec->n_norm++] = (vgen_norm_step){.kind = VGEN_NORM_STRIP, .strip_right = 1};
    vgen_norm_step *rep = &spec->norm[spec->n_norm++];
    *rep = (vgen_norm_step){.kind = VGEN_NORM_REPLACE, .regex_spaces = 1};
    if (vgen_bytes_append_cp(&rep->content, VGEN_METASPACE_CHAR) != VGEN_OK)
        return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", m->what);
    spec->pretok[0] = (vgen_pretok_step){VGEN_PRETOK_METASPACE, VGEN_METASPACE_CHAR, VGEN_PREPEND_ALWAYS, 1};
    spec->n_pretok = 1;
    spec->post[0] = -1;
    spec->post[1] = piece_id(m, "</s>");
    spec->n_post = 2;
    return VGEN_OK;
}

/* Vocabulary and added tokens; names[] holds the extra ids' strings. */
static int spec_vocab(spm_info *m, int extra_ids, char *names, vgen_tok_spec *spec, vgen_err *err) {
    size_t total = m->n + (size_t)extra_ids;
    spec->pieces = calloc(total, sizeof *spec->pieces);
    spec->added = calloc(total, sizeof *spec->added);
    if (!spec->pieces || !spec->added) return vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", m->what);
    memcpy(spec->pieces, m->pieces, m->n * sizeof *m->pieces);
    for (size_t i = 0; i < m->n; i++) {
        if (m->types[i] == SPM_CONTROL || m->types[i] == SPM_USER_DEFINED || (int64_t)i == m->unk_id)
            spec->added[spec->n_added++] = (vgen_added_token){m->pieces[i].s, m->pieces[i].len, -1, 0};
    }
    for (int k = 0; k < extra_ids; k++) {
        char *name = names + (size_t)k * EXTRA_ID_NAME;
        int len = snprintf(name, EXTRA_ID_NAME, "<extra_id_%d>", extra_ids - 1 - k);
        spec->pieces[m->n + (size_t)k] = (vgen_unigram_piece){(const uint8_t *)name, (size_t)len, 0.0};
        spec->added[spec->n_added++] = (vgen_added_token){(const uint8_t *)name, (size_t)len, -1, 0};
    }
    spec->n_pieces = total;
    spec->unk_id = (int32_t)m->unk_id;
    return VGEN_OK;
}

int vgen_tok_load_spm_named(const uint8_t *data, size_t n, int extra_ids, const char *what, vgen_tokenizer **out,
                            vgen_err *err) {
    if (out) *out = NULL;
    if ((!data && n) || !out) return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: NULL argument", what);
    if (extra_ids < 0 || extra_ids > MAX_EXTRA_IDS)
        return vgen_err_set(err, VGEN_ERR_INVALID_ARGUMENT, "%s: extra_ids %d not in [0, %d]", what, extra_ids,
                            MAX_EXTRA_IDS);
    spm_info m = {.model_type = SPM_UNIGRAM, .unk_id = 0, .bos_id = 1, .eos_id = 2, .pad_id = -1,
                  .add_dummy_prefix = 1, .remove_extra_whitespaces = 1, .escape_whitespaces = 1, .what = what};
    vgen_tok_spec spec = {.unk_id = -1, .what = what};
    char *names = calloc((size_t)extra_ids + 1, EXTRA_ID_NAME);
    int rc = names ? parse_model(&m, data, n, err) : vgen_err_set(err, VGEN_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    if (rc == VGEN_OK) rc = check_model(&m, err);
    if (rc == VGEN_OK) rc = spec_steps(&m, &spec, err);
    if (rc == VGEN_OK) rc = spec_vocab(&m, extra_ids, names, &spec, err);
    if (rc == VGEN_OK) rc = vgen_tok_build(&spec, out, err);
    vgen_tok_spec_free(&spec);
    free(names);
    free(m.pieces);
    free(m.types);
    return rc;
}

int vgen_tokenizer_load_spm_buffer(const uint8_t *data, size_t n, int extra_ids, vgen_tokenizer **out,
                                   vgen_err *err) {
    return vgen_tok_load_spm_named(data, n, extra_ids, "spiece.model", out, err);
}

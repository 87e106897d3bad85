/* quant_rules.h - which tensors `vgen quantize` quantizes, and to what.
 *
 * Default rule: a tensor is quantized when it is a 2-D F32/F16/BF16 tensor named "*.weight" inside a repeated
 * block ("blocks.N.", "block.N.", "layers.N.") whose name has no "norm", "embed" or "relative_attention_bias";
 * everything else (norms, biases, embeddings, modulation tables, the stem and the head) is copied unchanged.
 * User rules come first, first match wins: --keep REGEX (keep as is), and a rules file whose lines are
 *     keep   REGEX
 *     FORMAT REGEX     (FORMAT as for --format: int8, fp8, int4-g64, int4_g128_zp, ...)
 * with '#' comments and blank lines. Regexes are POSIX extended, matched anywhere in the tensor name. */
#ifndef VGEN_PIPELINE_QUANT_RULES_H
#define VGEN_PIPELINE_QUANT_RULES_H

#include <regex.h>
#include <stddef.h>

#include "safetensors.h"
#include "wformat.h"

#define VGEN_RULE_KEEP (-1)

typedef struct vgen_quant_rule {
    regex_t re;
    int action;        /* VGEN_RULE_KEEP or a vgen_wformat */
    int line;          /* 0 for --keep patterns, else the rules file line */
} vgen_quant_rule;

typedef struct vgen_quant_rules {
    vgen_wformat default_format;
    vgen_quant_rule *rules;
    size_t n_rules;
} vgen_quant_rules;

/* "int8" -> int8_row, "fp8" -> fp8_e4m3_row, "fp8-tensor", "int4" -> int4_g32, "int4-g64", "int4-g128",
 * "int4-zp"/"int4-asym" and "int4-g64-zp" for zero points, or any table name ("int4_g64_zp"). */
int vgen_quant_parse_format(const char *s, vgen_wformat *out, vgen_err *err);

int vgen_quant_rules_init(vgen_quant_rules *r, const char *format, const char *const *keep, size_t n_keep,
                          const char *rules_file, vgen_err *err);
void vgen_quant_rules_free(vgen_quant_rules *r);

/* The format tensor t is written in, or VGEN_RULE_KEEP to copy it unchanged. */
int vgen_quant_rules_decide(const vgen_quant_rules *r, const vgen_st_tensor *t);

#endif

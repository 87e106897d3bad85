/* spm_proto.h - a bounds-checked reader of the protobuf wire format, for just what spiece.model needs: tags,
 * varints, 32/64-bit fixed values and length-delimited fields. Groups (wire types 3 and 4) are refused. */
#ifndef VGEN_TEXTENC_SPM_PROTO_H
#define VGEN_TEXTENC_SPM_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum { VGEN_PB_VARINT = 0, VGEN_PB_FIXED64 = 1, VGEN_PB_LEN = 2, VGEN_PB_FIXED32 = 5 };

typedef struct vgen_pb_reader {
    const uint8_t *p;
    size_t n, pos;
} vgen_pb_reader;

typedef struct vgen_pb_field {
    uint32_t number;
    int wire;             /* VGEN_PB_* */
    uint64_t varint;      /* VARINT, FIXED64, FIXED32 values */
    const uint8_t *bytes; /* LEN: the payload, inside the reader's buffer */
    size_t len;
} vgen_pb_field;

static inline vgen_pb_reader vgen_pb_reader_init(const uint8_t *p, size_t n) {
    return (vgen_pb_reader){p, n, 0};
}

/* Reads the next field: 1 with *f filled, 0 at the end of the buffer, -1 on malformed input (*why says what,
 * r->pos where). */
int vgen_pb_next(vgen_pb_reader *r, vgen_pb_field *f, const char **why);

#endif

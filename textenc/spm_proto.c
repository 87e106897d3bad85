/* spm_proto.c - protobuf wire format reader (see spm_proto.h). */
#include "spm_proto.h"

enum { MAX_VARINT_BYTES = 10 };

static int read_varint(vgen_pb_reader *r, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < MAX_VARINT_BYTES; i++) {
        if (r->pos >= r->n) return 0;
        uint8_t b = r->p[r->pos++];
        if (i == MAX_VARINT_BYTES - 1 && b > 1) return 0; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

static int read_fixed(vgen_pb_reader *r, int bytes, uint64_t *out) {
    if ((size_t)bytes > r->n - r->pos) return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)bytes;
    *out = v;
    return 1;
}

static int fail(const char **why, const char *msg) {
    *why = msg;
    return -1;
}

int vgen_pb_next(vgen_pb_reader *r, vgen_pb_field *f, const char **why) {
    if (r->pos >= r->n) return 0;
    uint64_t tag = 0;
    if (!read_varint(r, &tag)) return fail(why, "truncated or overlong tag");
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) return fail(why, "invalid field number");
    *f = (vgen_pb_field){.number = (uint32_t)(tag >> 3), .wire = (int)(tag & 7)};
    switch (f->wire) {
    case VGEN_PB_VARINT:
        return read_varint(r, &f->varint) ? 1 : fail(why, "truncated or overlong varint");
    case VGEN_PB_FIXED64:
        return read_fixed(r, 8, &f->varint) ? 1 : fail(why, "truncated fixed64");
    case VGEN_PB_FIXED32:
        return read_fixed(r, 4, &f->varint) ? 1 : fail(why, "truncated fixed32");
    case VGEN_PB_LEN: {
        uint64_t len = 0;
        if (!read_varint(r, &len)) return fail(why, "truncated length");
        if (len > r->n - r->pos) return fail(why, "length beyond the end of the data");
        f->bytes = r->p + r->pos;
        f->len = (size_t)len;
        r->pos += (size_t)len;
        return 1;
    }
    default:
        return fail(why, "unsupported wire type");
    }
}

/*
 * Frame header encode/decode (RFC 6455 section 5.2), branch-light scalar.
 *
 *   byte 0: FIN RSV1 RSV2 RSV3 opcode(4)
 *   byte 1: MASK payload-len(7)     126 -> 16-bit length follows,
 *                                   127 -> 64-bit length follows
 *   then the extended length (network byte order), then the 4-byte key.
 */
#include "wsf_internal.h"

static uint64_t load_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Decoding waits for the whole header (at most 14 bytes) before judging
 * it, so a header is decided once, with all its fields known. */
int wsf_header_decode(const uint8_t *p, size_t n, wsf_header *h)
{
    if (n < 2)
        return WSF_HEADER_NEED_MORE;
    uint8_t b0 = p[0], b1 = p[1];
    uint8_t len7 = b1 & 0x7F;
    /* Extra length bytes: 0 for 0..125, 2 for 126, 8 for 127. */
    int ext = len7 < 126 ? 0 : (len7 == 126 ? 2 : 8);
    int masked = b1 >> 7;
    size_t size = 2 + (size_t)ext + (size_t)(masked * 4);
    if (n < size)
        return WSF_HEADER_NEED_MORE;

    uint64_t length = ext ? load_be(p + 2, ext) : len7;
    /* RFC 6455 5.2: "the most significant bit MUST be 0". */
    if (length >> 63)
        return WSF_HEADER_BAD_LENGTH;

    h->length = length;
    h->fin = b0 >> 7;
    h->rsv1 = (b0 >> 6) & 1;
    h->rsv2 = (b0 >> 5) & 1;
    h->rsv3 = (b0 >> 4) & 1;
    h->opcode = b0 & 0x0F;
    h->masked = (uint8_t)masked;
    if (masked)
        memcpy(h->mask, p + 2 + ext, 4);
    else
        memset(h->mask, 0, 4);
    h->size = (uint8_t)size;
    return (int)size;
}

size_t wsf_header_encode(uint8_t *out, const wsf_header *h)
{
    out[0] = (uint8_t)((h->fin ? 0x80 : 0) | (h->rsv1 ? 0x40 : 0) | (h->rsv2 ? 0x20 : 0)
                       | (h->rsv3 ? 0x10 : 0) | (h->opcode & 0x0F));
    uint8_t mbit = h->masked ? 0x80 : 0;
    uint64_t len = h->length;
    size_t i;
    /* RFC 6455 5.2: the minimal number of bytes MUST be used. */
    if (len < 126) {
        out[1] = (uint8_t)(mbit | len);
        i = 2;
    } else if (len <= 0xFFFF) {
        out[1] = (uint8_t)(mbit | 126);
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        i = 4;
    } else {
        out[1] = (uint8_t)(mbit | 127);
        for (int k = 0; k < 8; k++)
            out[2 + k] = (uint8_t)(len >> (56 - 8 * k));
        i = 10;
    }
    if (h->masked) {
        memcpy(out + i, h->mask, 4);
        i += 4;
    }
    return i;
}

/*
 * libFuzzer harness: frame header decode/encode (RFC 6455 section 5.2).
 * Decoding arbitrary bytes agrees with a field-by-field reference, never
 * reads past the n bytes given (exactly sized copy), asks for more bytes
 * exactly when the header is incomplete, and re-encoding a decoded header
 * gives the shortest form, which decodes back to the same fields.
 */
#include "fuzz_support.h"

/* Reference: the header size the first two bytes announce. */
static size_t ref_size(const uint8_t *p)
{
    size_t size = 2;
    uint8_t len7 = p[1] & 0x7F;
    if (len7 == 126)
        size += 2;
    else if (len7 == 127)
        size += 8;
    if (p[1] & 0x80)
        size += 4;
    return size;
}

static void check_same(const wsf_header *a, const wsf_header *b)
{
    FUZZ_CHECK(a->length == b->length && a->fin == b->fin && a->rsv1 == b->rsv1 && a->rsv2 == b->rsv2 &&
                   a->rsv3 == b->rsv3 && a->opcode == b->opcode && a->masked == b->masked &&
                   (!a->masked || memcmp(a->mask, b->mask, 4) == 0),
               "re-encoded header decodes differently");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = fuzz_dup(data, size);
    wsf_header h;
    memset(&h, 0, sizeof h);
    int r = wsf_header_decode(p, size, &h);
    if (size < 2 || size < ref_size(data)) {
        FUZZ_CHECK(r == WSF_HEADER_NEED_MORE, "decoded %d from %zu bytes", r, size);
        free(p);
        return 0;
    }
    size_t want = ref_size(data);
    uint8_t len7 = data[1] & 0x7F;
    uint64_t length = len7;
    if (len7 == 126)
        length = ((uint64_t)data[2] << 8) | data[3];
    if (len7 == 127) {
        length = 0;
        for (int i = 0; i < 8; i++)
            length = (length << 8) | data[2 + i];
        if (length >> 63) {
            FUZZ_CHECK(r == WSF_HEADER_BAD_LENGTH, "MSB set but got %d", r);
            free(p);
            return 0;
        }
    }
    FUZZ_CHECK(r == (int)want && h.size == want, "size %d (h.size %u), want %zu", r, h.size, want);
    FUZZ_CHECK(h.length == length, "length %llu, want %llu", (unsigned long long)h.length, (unsigned long long)length);
    FUZZ_CHECK(h.fin == (data[0] >> 7) && h.rsv1 == ((data[0] >> 6) & 1) && h.rsv2 == ((data[0] >> 5) & 1) &&
                   h.rsv3 == ((data[0] >> 4) & 1) && h.opcode == (data[0] & 0x0F) && h.masked == (data[1] >> 7),
               "flags");
    if (h.masked)
        FUZZ_CHECK(memcmp(h.mask, data + want - 4, 4) == 0, "mask key");

    uint8_t out[14];
    size_t n = wsf_header_encode(out, &h);
    size_t shortest = 2 + (h.length > 65535 ? 8 : h.length > 125 ? 2 : 0) + (h.masked ? 4 : 0);
    FUZZ_CHECK(n == shortest, "encoded %zu bytes, shortest is %zu", n, shortest);
    uint8_t *enc = fuzz_dup(out, n);
    wsf_header back;
    FUZZ_CHECK(wsf_header_decode(enc, n, &back) == (int)n, "re-decode size");
    check_same(&h, &back);
    free(enc);
    free(p);
    return 0;
}

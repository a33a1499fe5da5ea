/*
 * wsframe kernels: the hot loops of WebSocket framing in plain C.
 *
 * No Python API here, so the kernels can be read, unit-tested, fuzzed and
 * run under sanitizers on their own. Every function is defined for every
 * length including 0 and never reads or writes outside [p, p + len).
 *
 * Each operation has a portable 64-bit C implementation and, on x86-64,
 * SSE2 / AVX2 / AVX-512 versions in files of their own (compiled with their
 * own flags). wsf_dispatch_init() picks one per operation once, at import.
 */
#ifndef WSF_KERNELS_H
#define WSF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dispatch ------------------------------------------------------- */

/* Choose the kernels. `force` is NULL or "" for the best the CPU has, or
 * one of "generic", "sse2", "avx2", "avx512" (WSFRAME_FORCE_SIMD).
 * Returns 0, or -1 when `force` is unknown or the CPU lacks that level
 * (the previous choice then stays). Safe to call more than once. */
int wsf_dispatch_init(const char *force);

/* On aarch64 the levels are "generic" and "neon" (NEON is always present
 * there, so "neon" is the default); other architectures have "generic". */

/* Name of the level in use for each operation ("generic", "sse2", ...). */
const char *wsf_mask_kernel_name(void);
const char *wsf_utf8_kernel_name(void);

/* Comma-separated list of levels this CPU and build support. */
const char *wsf_supported_levels(void);

/* ---- masking (RFC 6455 section 5.3) ----------------------------------- */

/* dst[i] = src[i] ^ key[(phase + i) % 4] for i in [0, len).
 * dst may equal src (in place); otherwise they must not overlap. */
void wsf_mask(uint8_t *dst, const uint8_t *src, size_t len,
              const uint8_t key[4], size_t phase);

/* ---- UTF-8 validation -------------------------------------------------- */

enum {
    WSF_UTF8_OK = 0,          /* every byte is part of a complete, valid code point */
    WSF_UTF8_INCOMPLETE = 1,  /* valid, but ends inside a code point: *pos = its first byte */
    WSF_UTF8_INVALID = 2      /* *pos = first byte of the first invalid sequence */
};

/* Validate s[0, len). The error position is exactly CPython's
 * UnicodeDecodeError.start for s.decode("utf-8"). INCOMPLETE is returned
 * only when the 1-3 trailing bytes can still become a valid code point
 * (e.g. "E0" or "F0 90"), never for bytes that are already wrong
 * ("E0 80", "ED A0", "F4 90", "C0"): fail-fast. */
int wsf_utf8_check(const uint8_t *s, size_t len, size_t *pos);

/* Unmask src into dst (as wsf_mask; may alias) and validate the unmasked
 * bytes in the same pass. dst is completely written whatever the result.
 * Returns as wsf_utf8_check, positions relative to dst. */
int wsf_unmask_utf8_check(uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4], size_t phase, size_t *pos);

/* Incremental validation over a stream fed in arbitrary chunks. */
typedef struct {
    uint64_t consumed;   /* bytes fed so far, including carried ones */
    uint8_t carry[4];    /* trailing bytes of an unfinished code point */
    uint8_t ncarry;      /* 0..3 */
    uint8_t failed;      /* sticky: 1 after an error */
    uint64_t error_pos;  /* absolute position of the error when failed */
} wsf_utf8_stream;

void wsf_utf8_stream_init(wsf_utf8_stream *st);

/* Feed s[0, len). Returns WSF_UTF8_OK (possibly with bytes carried) or
 * WSF_UTF8_INVALID with *pos = absolute offset of the bad sequence (as
 * decode() of everything fed would report). With final != 0, bytes still
 * carried at the end are an error at the carried sequence's position.
 * After an error every further call returns the same error. */
int wsf_utf8_stream_feed(wsf_utf8_stream *st, const uint8_t *s, size_t len,
                         int final, uint64_t *pos);

/* Unmask src[0, len) into dst (as wsf_mask; may alias) and feed the
 * unmasked bytes to the stream, in one pass: for fragmented masked text.
 * dst is completely written whatever the result; returns and reports as
 * wsf_utf8_stream_feed (positions are absolute in the stream). */
int wsf_utf8_stream_feed_unmask(wsf_utf8_stream *st, uint8_t *dst, const uint8_t *src,
                                size_t len, const uint8_t key[4], size_t phase,
                                int final, uint64_t *pos);

/* ---- frame headers (RFC 6455 section 5.2) ------------------------------ */

typedef struct {
    uint64_t length;   /* payload length */
    uint8_t fin, rsv1, rsv2, rsv3;
    uint8_t opcode;    /* 0..15, not checked here */
    uint8_t masked;
    uint8_t mask[4];   /* valid when masked */
    uint8_t size;      /* header size in bytes: 2..14 */
} wsf_header;

enum {
    WSF_HEADER_NEED_MORE = 0,
    WSF_HEADER_BAD_LENGTH = -1  /* 64-bit length with the most significant bit set */
};

/* Decode the header at p[0, n). Returns its size (2..14) and fills *h, or
 * WSF_HEADER_NEED_MORE, or WSF_HEADER_BAD_LENGTH. Only the length MSB is an
 * error here; opcode, RSV and size policy belong to the parser. */
int wsf_header_decode(const uint8_t *p, size_t n, wsf_header *h);

/* Encode *h (h->size is ignored) into out (at least 14 bytes), with the
 * shortest length encoding. Returns the header size. */
size_t wsf_header_encode(uint8_t *out, const wsf_header *h);

#ifdef __cplusplus
}
#endif
#endif /* WSF_KERNELS_H */

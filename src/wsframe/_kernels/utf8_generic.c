/*
 * Portable UTF-8 validation with CPython's error positions.
 *
 * The scalar state machine follows RFC 3629 section 4 (the well-formed
 * byte sequences table) and reports, like CPython's strict decoder, the
 * first byte of the first maximal invalid subpart: every error is reported
 * at the lead byte of the sequence it breaks. Runs of ASCII are skipped
 * 32 then 8 bytes at a time.
 */
#include "wsf_internal.h"

#define WSF_HIGH_BITS 0x8080808080808080ULL

/* Is b a continuation byte 10xxxxxx? */
static inline int is_cont(uint8_t b)
{
    return (b & 0xC0) == 0x80;
}

/* Index (0..7) of the first byte in memory order whose bit is set in
 * `high` (a nonzero word of 0x80 bits from wsf_load64). */
static inline size_t first_high_byte(uint64_t high)
{
#if defined(__GNUC__) || defined(__clang__)
#if WSF_BIG_ENDIAN
    return (size_t)__builtin_clzll(high) >> 3;
#else
    return (size_t)__builtin_ctzll(high) >> 3;
#endif
#else
    size_t j = 0;
    while (!(wsf_key_byte(high, j) & 0x80))
        j++;
    return j;
#endif
}

/* Skip ASCII from i: 32 then 8 bytes per step, then to the first byte with
 * the high bit inside the last word. Returns the first non-ASCII index, or
 * an index in [len - 7, len] from which plain bytes remain to be checked. */
static inline size_t skip_ascii(const uint8_t *s, size_t len, size_t i)
{
    while (i + 32 <= len) {
        uint64_t w = wsf_load64(s + i) | wsf_load64(s + i + 8)
                   | wsf_load64(s + i + 16) | wsf_load64(s + i + 24);
        if (w & WSF_HIGH_BITS)
            break;
        i += 32;
    }
    while (i + 8 <= len) {
        uint64_t high = wsf_load64(s + i) & WSF_HIGH_BITS;
        if (high)
            return i + first_high_byte(high);
        i += 8;
    }
    return i;
}

int wsf_utf8_scalar_from(const uint8_t *s, size_t len, size_t start, size_t *pos)
{
    size_t i = start;

    while (i < len) {
        uint8_t b = s[i];
        if (b < 0x80) {
            /* Only an ASCII byte starts a word-wise skip, so runs of
             * multibyte text do not pay for it at every code point. */
            i = skip_ascii(s, len, i + 1);
            continue;
        }
        /* Fast path for runs of 2- and 3-byte code points (most non-Latin
         * text): decode and range-check the code point without branching
         * per byte; anything unusual drops to the exact checks below. */
        if (b >= 0xC2 && b < 0xF0 && len - i >= 3) {
            uint32_t b1 = s[i + 1], b2 = s[i + 2];
            if (b < 0xE0) {
                if ((b1 & 0xC0) == 0x80) {
                    i += 2;
                    continue;
                }
            } else {
                uint32_t cp = ((uint32_t)(b & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F);
                int bad = ((b1 & 0xC0) != 0x80) | ((b2 & 0xC0) != 0x80) | (cp < 0x800)
                        | ((cp - 0xD800) < 0x800);
                if (!bad) {
                    i += 3;
                    continue;
                }
            }
        }
        /* RFC 3629 section 4 (well-formed sequences): the second byte's range
         * depends on the lead; E0/ED/F0/F4 narrow it to exclude overlongs,
         * surrogates and code points above U+10FFFF. Fail fast: a wrong byte
         * is INVALID even when the data ends soon after; only a valid prefix
         * cut by the end is INCOMPLETE. Both report the lead byte, which is
         * CPython's UnicodeDecodeError.start. */
        *pos = i;
        size_t left = len - i;
        if (b < 0xE0) {
            if (b < 0xC2)               /* stray continuation, or overlong C0/C1 */
                return WSF_UTF8_INVALID;
            if (left < 2)
                return WSF_UTF8_INCOMPLETE;
            if (!is_cont(s[i + 1]))
                return WSF_UTF8_INVALID;
            i += 2;
        } else if (b < 0xF0) {
            uint8_t lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
            if (left < 2)
                return WSF_UTF8_INCOMPLETE;
            if (s[i + 1] < lo || s[i + 1] > hi)
                return WSF_UTF8_INVALID;
            if (left < 3)
                return WSF_UTF8_INCOMPLETE;
            if (!is_cont(s[i + 2]))
                return WSF_UTF8_INVALID;
            i += 3;
        } else {
            if (b > 0xF4)
                return WSF_UTF8_INVALID;
            uint8_t lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
            if (left < 2)
                return WSF_UTF8_INCOMPLETE;
            if (s[i + 1] < lo || s[i + 1] > hi)
                return WSF_UTF8_INVALID;
            if (left < 3)
                return WSF_UTF8_INCOMPLETE;
            if (!is_cont(s[i + 2]))
                return WSF_UTF8_INVALID;
            if (left < 4)
                return WSF_UTF8_INCOMPLETE;
            if (!is_cont(s[i + 3]))
                return WSF_UTF8_INVALID;
            i += 4;
        }
    }
    return WSF_UTF8_OK;
}

int wsf_utf8_check_generic(const uint8_t *s, size_t len, size_t *pos)
{
    return wsf_utf8_scalar_from(s, len, 0, pos);
}

/* Unmask and validate in L1-sized chunks: each chunk is validated right
 * after it is written, while still in cache, so memory is crossed once.
 * A code point cut by a chunk boundary is simply revalidated from its lead
 * byte together with the next chunk. */
#define WSF_FUSE_CHUNK 4096

int wsf_unmask_utf8_check_generic(uint8_t *dst, const uint8_t *src, size_t len,
                                  const uint8_t key[4], size_t phase, size_t *pos)
{
    size_t done = 0;      /* bytes unmasked into dst */
    size_t checked = 0;   /* dst[0, checked) is known valid */

    while (done < len) {
        size_t n = len - done < WSF_FUSE_CHUNK ? len - done : WSF_FUSE_CHUNK;
        wsf_mask_generic(dst + done, src + done, n, key, phase + done);
        done += n;
        size_t p = 0;
        int r = wsf_utf8_scalar_from(dst, done, checked, &p);
        if (r == WSF_UTF8_OK) {
            checked = done;
        } else if (r == WSF_UTF8_INCOMPLETE && done < len) {
            checked = p;
        } else {
            /* Contract: dst is fully written whatever the result. */
            if (done < len)
                wsf_mask_generic(dst + done, src + done, len - done, key, phase + done);
            *pos = p;
            return r;
        }
    }
    return WSF_UTF8_OK;
}

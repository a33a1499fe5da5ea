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

int wsf_utf8_scalar_from(const uint8_t *s, size_t len, size_t start, size_t *pos)
{
    size_t i = start;

    while (i < len) {
        /* ASCII fast path: 32, then 8 bytes per step while no high bit. */
        while (i + 32 <= len) {
            uint64_t w = wsf_load64(s + i) | wsf_load64(s + i + 8)
                       | wsf_load64(s + i + 16) | wsf_load64(s + i + 24);
            if (w & WSF_HIGH_BITS)
                break;
            i += 32;
        }
        while (i + 8 <= len && !(wsf_load64(s + i) & WSF_HIGH_BITS))
            i += 8;
        if (i >= len)
            break;

        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        /* RFC 3629 section 4: the second byte's range depends on the lead;
         * E0/ED/F0/F4 narrow it to exclude overlongs, surrogates and
         * code points above U+10FFFF. */
        uint8_t lo = 0x80, hi = 0xBF;
        int n = wsf_utf8_seq_len(b);
        if (n == 0) {
            *pos = i;
            return WSF_UTF8_INVALID;
        }
        if (b == 0xE0) lo = 0xA0;
        else if (b == 0xED) hi = 0x9F;
        else if (b == 0xF0) lo = 0x90;
        else if (b == 0xF4) hi = 0x8F;

        /* Fail fast: a wrong byte inside the sequence is INVALID even when
         * the data ends soon after; only a valid prefix cut by the end of
         * data is INCOMPLETE. Both report the lead byte. */
        if (i + 1 >= len) {
            *pos = i;
            return WSF_UTF8_INCOMPLETE;
        }
        if (s[i + 1] < lo || s[i + 1] > hi) {
            *pos = i;
            return WSF_UTF8_INVALID;
        }
        for (int k = 2; k < n; k++) {
            if (i + (size_t)k >= len) {
                *pos = i;
                return WSF_UTF8_INCOMPLETE;
            }
            if (!is_cont(s[i + (size_t)k])) {
                *pos = i;
                return WSF_UTF8_INVALID;
            }
        }
        i += (size_t)n;
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

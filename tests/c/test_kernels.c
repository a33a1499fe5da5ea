/*
 * Unit tests of the C kernels, run at every SIMD level this CPU supports.
 *
 * Each level is compared with small reference implementations written here
 * independently of the kernels (byte loops that follow RFC 6455 section 5.3
 * and RFC 3629 section 4 literally). Built and run by tests/test_c_kernels.py
 * under AddressSanitizer and UBSan; or by hand: make -C tests/c test.
 * Prints one line per failure (at most a few per check) and exits 1 if any.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_kernels.h"
#include "wsf_internal.h"   /* the generic kernels, to compare levels with */

static int failures;
static const char *level = "?";

#define CHECK(cond, ...)                                        \
    do {                                                        \
        if (!(cond)) {                                          \
            if (++failures <= 30) {                             \
                printf("FAIL [%s] %s:%d: ", level, __FILE__, __LINE__); \
                printf(__VA_ARGS__);                            \
                printf("\n");                                   \
            }                                                   \
        }                                                       \
    } while (0)

/* ---- references ---------------------------------------------------------- */

static void ref_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = (uint8_t)(src[i] ^ key[(phase + i) % 4]);
}

/* Decode the code point of a complete sequence; -1 when not well formed. */
static long decode_cp(const uint8_t *s, int n)
{
    static const long min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    long cp = s[0] & (0x7F >> n);
    for (int k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (cp < min_cp[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return -1;
    return cp;
}

/* Reference validator: status and the lead byte of the first bad or
 * unfinished sequence. An unfinished sequence is INCOMPLETE only if some
 * continuation makes it well formed (tried exhaustively). */
static int ref_utf8(const uint8_t *s, size_t len, size_t *pos)
{
    size_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        int need = b >= 0xF8 ? 0 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
        *pos = i;
        if (need == 0)
            return WSF_UTF8_INVALID;
        if (len - i >= (size_t)need) {
            if (decode_cp(s + i, need) < 0)
                return WSF_UTF8_INVALID;
            i += (size_t)need;
            continue;
        }
        uint8_t t[4];
        size_t avail = len - i;
        memcpy(t, s + i, avail);
        for (int c2 = 0x80; c2 <= 0xBF; c2++) {
            for (int k = (int)avail; k < need; k++)
                t[k] = k == 1 ? (uint8_t)c2 : 0x80;
            if (decode_cp(t, need) >= 0)
                return WSF_UTF8_INCOMPLETE;
        }
        return WSF_UTF8_INVALID;
    }
    return WSF_UTF8_OK;
}

/* ---- inputs ----------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Valid text of exactly n bytes mixing 1-4 byte code points (boundary
 * code points included); `kind` 0 = ASCII, 1 = mixed, 2 = no ASCII. */
static void make_text(uint8_t *p, size_t n, int kind)
{
    static const char *pieces[] = {
        "\xc2\x80", "\xdf\xbf", "\xc3\xa9", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbf", "\xe4\xb8\xad", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xf0\x9f\x98\x80",
    };
    size_t i = 0;
    while (i < n) {
        const char *piece;
        if (kind == 0 || (kind == 1 && rnd() % 3 == 0))
            piece = "a";
        else
            piece = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
        size_t m = strlen(piece);
        if (i + m > n)
            piece = "z", m = 1;
        memcpy(p + i, piece, m);
        i += m;
    }
}

/* Bad or unfinished fragments to plant into valid text. */
static const char *const bad[] = {
    "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41", "\xe0", "\xe0\x80", "\xe0\x9f\xbf",
    "\xe0\xa0", "\xe1\x80", "\xe1\x41", "\xed\xa0\x80", "\xed\xbf\xbf", "\xef\xbf", "\xf0",
    "\xf0\x8f\xbf\xbf", "\xf0\x90", "\xf0\x90\x80", "\xf1\x80\x80\x41", "\xf4\x90\x80\x80",
    "\xf4\x8f\xbf", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
};
#define NBAD (sizeof bad / sizeof *bad)

/* ---- masking ------------------------------------------------------------------ */

static void test_mask(void)
{
    static const uint8_t key[4] = {0xA1, 0x5B, 0x07, 0xE9};
    uint8_t buf[300 + 64 + 128], want[300], orig[300 + 64 + 128];
    for (size_t len = 0; len <= 300; len++) {
        for (size_t off = 0; off < 64; off++) {
            size_t phase = (len + off) % 7;   /* phases 0..6 (beyond 3 wraps) */
            /* src in an exact-size heap block: ASan flags any over-read. */
            uint8_t *src = malloc(len ? len : 1);
            for (size_t i = 0; i < len; i++)
                src[i] = (uint8_t)rnd();
            ref_mask(want, src, len, key, phase);

            /* copy-out into a buffer with guard bytes around the target */
            for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = orig[i] = (uint8_t)rnd();
            size_t doff = 64 + (off * 7 + 3) % 64;
            wsf_mask(buf + doff, src, len, key, phase);
            CHECK(memcmp(buf + doff, want, len) == 0, "mask copy len=%zu off=%zu", len, off);
            CHECK(memcmp(buf, orig, doff) == 0 && memcmp(buf + doff + len, orig + doff + len,
                  sizeof buf - doff - len) == 0, "mask copy wrote outside len=%zu off=%zu", len, off);

            /* in place at every alignment */
            memcpy(buf + 64 + off, src, len);
            memcpy(orig, buf, sizeof buf);
            wsf_mask(buf + 64 + off, buf + 64 + off, len, key, phase);
            CHECK(memcmp(buf + 64 + off, want, len) == 0, "mask in place len=%zu off=%zu", len, off);
            CHECK(memcmp(buf, orig, 64 + off) == 0 && memcmp(buf + 64 + off + len, orig + 64 + off + len,
                  sizeof buf - 64 - off - len) == 0, "mask in place wrote outside len=%zu off=%zu", len, off);
            free(src);
        }
    }
    /* large, odd sizes through the unrolled loops */
    static const size_t big[] = {511, 512, 513, 4096 + 37, 65536 + 5};
    for (size_t b = 0; b < sizeof big / sizeof *big; b++) {
        size_t len = big[b];
        uint8_t *src = malloc(len), *dst = malloc(len), *w = malloc(len);
        for (size_t i = 0; i < len; i++)
            src[i] = (uint8_t)rnd();
        for (size_t phase = 0; phase < 4; phase++) {
            ref_mask(w, src, len, key, phase);
            wsf_mask(dst + 0, src, len, key, phase);
            CHECK(memcmp(dst, w, len) == 0, "mask big %zu phase %zu", len, phase);
        }
        free(src), free(dst), free(w);
    }
}

/* ---- UTF-8 --------------------------------------------------------------------- */

/* Check one input (copied to an exact-size heap block at offset `off` of a
 * larger one) through wsf_utf8_check and wsf_unmask_utf8_check. */
static void check_utf8_case(const uint8_t *text, size_t len, size_t off, const char *what)
{
    static const uint8_t key[4] = {0x3C, 0x99, 0x00, 0xF1};
    size_t want_pos = 0, got_pos = 0;
    int want = ref_utf8(text, len, &want_pos);

    uint8_t *block = malloc(len + off + 1);
    uint8_t *s = block + off;
    memcpy(s, text, len);
    int got = wsf_utf8_check(s, len, &got_pos);
    CHECK(got == want && (want == WSF_UTF8_OK || got_pos == want_pos),
          "utf8 %s len=%zu off=%zu: got %d@%zu want %d@%zu", what, len, off, got, got_pos, want, want_pos);

    /* fused: masked copy at `off`, unmasked into dst (copy) and in place */
    size_t phase = off % 4;
    uint8_t *dst = malloc(len + 1);
    uint8_t *masked = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        masked[i] = (uint8_t)(text[i] ^ key[(phase + i) % 4]);
    memcpy(s, masked, len);
    got = wsf_unmask_utf8_check(dst, s, len, key, phase, &got_pos);
    CHECK(got == want && (want == WSF_UTF8_OK || got_pos == want_pos) && memcmp(dst, text, len) == 0,
          "unmask_utf8 %s len=%zu off=%zu: got %d@%zu want %d@%zu", what, len, off, got, got_pos, want, want_pos);
    got = wsf_unmask_utf8_check(s, s, len, key, phase, &got_pos);
    CHECK(got == want && (want == WSF_UTF8_OK || got_pos == want_pos) && memcmp(s, text, len) == 0,
          "unmask_utf8 in place %s len=%zu off=%zu: got %d@%zu want %d@%zu", what, len, off, got, got_pos, want, want_pos);
    free(dst), free(masked), free(block);
}

static void test_utf8(void)
{
    uint8_t text[400];
    /* every length and alignment, valid text of three kinds */
    for (int kind = 0; kind < 3; kind++)
        for (size_t len = 0; len <= 300; len++) {
            make_text(text, len, kind);
            for (size_t off = 0; off < 64; off++)
                check_utf8_case(text, len, off, "valid");
        }
    /* a bad fragment at every position of valid text (errors at every
     * position, also straddling 16/32/64-byte blocks), and truncations */
    for (int kind = 0; kind < 3; kind++) {
        for (size_t b = 0; b < NBAD; b++) {
            size_t blen = strlen(bad[b]);
            for (size_t at = 0; at + blen <= 260; at++) {
                make_text(text, 260, kind);
                memcpy(text + at, bad[b], blen);
                check_utf8_case(text, 260, at % 5, "planted");
                check_utf8_case(text, at + blen, 0, "planted-at-end");
            }
        }
        make_text(text, 300, kind);
        for (size_t len = 0; len <= 300; len++)
            check_utf8_case(text, len, len % 3, "truncated");
    }
    /* every 1-3 byte sequence, after 0..70 ASCII bytes */
    for (uint32_t v = 0; v < (1u << 16); v++) {
        uint8_t seq[3] = {(uint8_t)(v >> 8), (uint8_t)v, 0x80};
        size_t pre = v % 71;
        memset(text, 'x', pre);
        memcpy(text + pre, seq, 3);
        check_utf8_case(text, pre + 2, 0, "pairs");
        check_utf8_case(text, pre + 3, 0, "triples");
    }
    /* every 4-byte sequence over bytes at the class boundaries, placed to
     * straddle 16/32/64-byte blocks (one-shot check only: it is many) */
    static const uint8_t edge[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                   0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
    size_t ne = sizeof edge / sizeof *edge, n = 0;
    for (size_t a = 0; a < ne; a++)
        for (size_t b = 0; b < ne; b++)
            for (size_t c = 0; c < ne; c++)
                for (size_t d = 0; d < ne; d++, n++) {
                    size_t pre = 58 + n % 9, len = pre + 4, want_pos = 0, got_pos = 0;
                    memset(text, 'x', pre);
                    text[pre] = edge[a], text[pre + 1] = edge[b], text[pre + 2] = edge[c], text[pre + 3] = edge[d];
                    int want = ref_utf8(text, len, &want_pos);
                    int got = wsf_utf8_check(text, len, &got_pos);
                    CHECK(got == want && (want == WSF_UTF8_OK || got_pos == want_pos),
                          "quad %02x %02x %02x %02x at %zu: got %d@%zu want %d@%zu", edge[a], edge[b], edge[c],
                          edge[d], pre, got, got_pos, want, want_pos);
                }
}

/* Random mutations of valid text: every level must agree with the generic
 * kernel (and the reference) on status and position. */
static void test_utf8_vs_generic(void)
{
    uint8_t text[1100];
    for (int n = 0; n < 3000; n++) {
        size_t len = rnd() % 1100, gpos = 0, lpos = 0, rpos = 0;
        make_text(text, len, (int)(rnd() % 3));
        for (int m = (int)(rnd() % 4); m > 0 && len; m--)
            text[rnd() % len] = (uint8_t)rnd();
        int g = wsf_utf8_check_generic(text, len, &gpos);
        int l = wsf_utf8_check(text, len, &lpos);
        int r = ref_utf8(text, len, &rpos);
        CHECK(g == r && (r == WSF_UTF8_OK || gpos == rpos), "generic vs reference len=%zu", len);
        CHECK(l == g && (g == WSF_UTF8_OK || lpos == gpos), "level vs generic len=%zu: %d@%zu vs %d@%zu",
              len, l, lpos, g, gpos);
    }
}

/* Feed text split at the given cut points; the result must be what the
 * one-shot reference says about the whole (an unfinished end is INVALID
 * with final). Runs the plain and the unmasking feed. */
static void check_stream(const uint8_t *text, size_t len, const size_t *cuts, size_t ncuts, const char *what)
{
    static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    size_t want_pos = 0;
    int want = ref_utf8(text, len, &want_pos);
    if (want == WSF_UTF8_INCOMPLETE)
        want = WSF_UTF8_INVALID;
    for (int unmask = 0; unmask < 2; unmask++) {
        wsf_utf8_stream st;
        wsf_utf8_stream_init(&st);
        int got = WSF_UTF8_OK;
        uint64_t pos = 0;
        size_t prev = 0;
        for (size_t c = 0; c <= ncuts && got == WSF_UTF8_OK; c++) {
            size_t end = c < ncuts ? cuts[c] : len;
            size_t n = end - prev;
            int final = c == ncuts;
            uint8_t *chunk = malloc(n + 1);
            if (unmask) {
                for (size_t i = 0; i < n; i++)
                    chunk[i] = (uint8_t)(text[prev + i] ^ key[(prev + i) % 4]);
                got = wsf_utf8_stream_feed_unmask(&st, chunk, chunk, n, key, prev, final, &pos);
                CHECK(memcmp(chunk, text + prev, n) == 0, "stream unmask output %s", what);
            } else {
                memcpy(chunk, text + prev, n);
                got = wsf_utf8_stream_feed(&st, chunk, n, final, &pos);
            }
            free(chunk);
            prev = end;
        }
        CHECK(got == want && (want == WSF_UTF8_OK || pos == want_pos),
              "stream%s %s len=%zu cuts=%zu: got %d@%llu want %d@%zu", unmask ? " unmask" : "", what, len,
              ncuts, got, (unsigned long long)pos, want, want_pos);
        CHECK(st.ncarry <= 3, "carry over 3");
        if (got == WSF_UTF8_INVALID) {   /* sticky */
            uint64_t again = 0;
            CHECK(wsf_utf8_stream_feed(&st, (const uint8_t *)"a", 1, 0, &again) == WSF_UTF8_INVALID
                  && again == pos, "stream error not sticky");
        }
    }
}

static void test_stream(void)
{
    uint8_t text[200];
    size_t cuts[200];
    for (int kind = 0; kind < 3; kind++) {
        for (size_t b = 0; b <= NBAD; b++) {
            make_text(text, 150, kind);
            size_t len = 150;
            if (b < NBAD) {   /* b == NBAD: valid text */
                memcpy(text + 70, bad[b], strlen(bad[b]));
            }
            /* split at every point, and at every pair of points near the error */
            for (size_t c = 0; c <= len; c++) {
                cuts[0] = c;
                check_stream(text, len, cuts, 1, "split1");
            }
            for (size_t c1 = 60; c1 <= 80; c1++)
                for (size_t c2 = c1; c2 <= 80; c2++) {
                    cuts[0] = c1, cuts[1] = c2;
                    check_stream(text, len, cuts, 2, "split2");
                }
            /* byte by byte, including empty chunks */
            for (size_t c = 0; c < len; c++)
                cuts[c] = c;
            check_stream(text, len, cuts, len, "bytes");
            /* truncated: the end comes inside a code point */
            for (size_t end = 140; end <= 150; end++) {
                cuts[0] = end / 2;
                check_stream(text, end, cuts, 1, "truncated");
            }
        }
    }
    /* an unfinished sequence at the end of the stream is an error with final */
    wsf_utf8_stream st;
    uint64_t pos = 0;
    wsf_utf8_stream_init(&st);
    CHECK(wsf_utf8_stream_feed(&st, (const uint8_t *)"ab\xe4\xb8", 4, 0, &pos) == WSF_UTF8_OK, "carry ok");
    CHECK(st.ncarry == 2 && st.consumed == 4, "carry state");
    CHECK(wsf_utf8_stream_feed(&st, NULL, 0, 1, &pos) == WSF_UTF8_INVALID && pos == 2, "final carry");
}

/* ---- headers ---------------------------------------------------------------------- */

static void test_header(void)
{
    static const uint64_t lengths[] = {0, 1, 125, 126, 127, 65535, 65536, 0xFFFFFFFFULL, 0x100000000ULL,
                                       0x7FFFFFFFFFFFFFFFULL};
    static const uint8_t sizes[] = {2, 2, 2, 4, 4, 4, 10, 10, 10, 10};
    uint8_t out[14];
    for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++) {
        for (int bits = 0; bits < 64; bits++) {
            wsf_header h = {0}, d;
            h.length = lengths[l];
            h.fin = bits & 1, h.rsv1 = (bits >> 1) & 1, h.rsv2 = (bits >> 2) & 1, h.rsv3 = (bits >> 3) & 1;
            h.masked = (bits >> 4) & 1;
            h.opcode = (uint8_t)((bits * 5) & 15);
            memcpy(h.mask, "\x01\x02\xfe\xff", 4);
            size_t n = wsf_header_encode(out, &h);
            CHECK(n == (size_t)(sizes[l] + (h.masked ? 4 : 0)), "encode size len=%llu", (unsigned long long)h.length);
            for (size_t k = 0; k < n; k++)   /* every prefix needs more */
                CHECK(wsf_header_decode(out, k, &d) == WSF_HEADER_NEED_MORE, "prefix %zu", k);
            CHECK(wsf_header_decode(out, n, &d) == (int)n, "decode size");
            CHECK(d.length == h.length && d.fin == h.fin && d.rsv1 == h.rsv1 && d.rsv2 == h.rsv2
                  && d.rsv3 == h.rsv3 && d.opcode == h.opcode && d.masked == h.masked && d.size == n
                  && (!h.masked || memcmp(d.mask, h.mask, 4) == 0), "round trip len=%llu bits=%d",
                  (unsigned long long)h.length, bits);
        }
    }
    /* RFC 6455 5.7 examples */
    wsf_header d;
    CHECK(wsf_header_decode((const uint8_t *)"\x81\x05Hello", 7, &d) == 2 && d.fin && d.opcode == 1
          && d.length == 5 && !d.masked, "RFC unmasked Hello");
    CHECK(wsf_header_decode((const uint8_t *)"\x81\x85\x37\xfa\x21\x3d", 6, &d) == 6 && d.masked
          && memcmp(d.mask, "\x37\xfa\x21\x3d", 4) == 0, "RFC masked Hello");
    CHECK(wsf_header_decode((const uint8_t *)"\x82\x7E\x01\x00", 4, &d) == 4 && d.length == 256, "RFC 256");
    CHECK(wsf_header_decode((const uint8_t *)"\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10, &d) == 10
          && d.length == 65536, "RFC 64 KiB");
    /* non-minimal lengths are accepted (docs/decisions.md) */
    CHECK(wsf_header_decode((const uint8_t *)"\x82\x7E\x00\x05", 4, &d) == 4 && d.length == 5, "non-minimal 16");
    /* the 64-bit length MSB */
    const uint8_t msb[10] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0};
    CHECK(wsf_header_decode(msb, 10, &d) == WSF_HEADER_BAD_LENGTH, "MSB set");
    CHECK(wsf_header_decode(msb, 9, &d) == WSF_HEADER_NEED_MORE, "MSB needs whole header");
    const uint8_t msb_masked[14] = {0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4};
    CHECK(wsf_header_decode(msb_masked, 14, &d) == WSF_HEADER_BAD_LENGTH, "MSB set, masked");
}

/* ---- dispatch -------------------------------------------------------------------------- */

static void test_dispatch(void)
{
    level = "dispatch";
    CHECK(wsf_dispatch_init("generic") == 0, "generic always available");
    CHECK(strcmp(wsf_mask_kernel_name(), "generic") == 0, "name after generic");
    CHECK(wsf_dispatch_init("nonsense") == -1, "unknown level refused");
    CHECK(strcmp(wsf_mask_kernel_name(), "generic") == 0, "refusal keeps the choice");
    CHECK(wsf_dispatch_init(NULL) == 0 && wsf_dispatch_init("") == 0, "best level");
    CHECK(strncmp(wsf_supported_levels(), "generic", 7) == 0, "levels start with generic");
    /* a known name this CPU/architecture lacks is refused, the choice kept */
    static const char *const names[] = {"generic", "sse2", "avx2", "avx512", "neon"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char list[128];
        snprintf(list, sizeof list, ",%s,", wsf_supported_levels());
        char needle[32];
        snprintf(needle, sizeof needle, ",%s,", names[i]);
        int have = strstr(list, needle) != NULL;
        CHECK(wsf_dispatch_init("generic") == 0, "reset");
        CHECK(wsf_dispatch_init(names[i]) == (have ? 0 : -1), "force %s", names[i]);
        CHECK(strcmp(wsf_mask_kernel_name(), have ? names[i] : "generic") == 0, "name after force %s", names[i]);
    }
}

/* Empty input may come as NULL pointers: every kernel must accept it. */
static void test_empty_null(void)
{
    static const uint8_t key[4] = {1, 2, 3, 4};
    size_t pos = 7;
    uint64_t pos64 = 0;
    wsf_utf8_stream st;
    wsf_mask(NULL, NULL, 0, key, 3);
    CHECK(wsf_utf8_check(NULL, 0, &pos) == WSF_UTF8_OK, "empty utf8");
    CHECK(wsf_unmask_utf8_check(NULL, NULL, 0, key, 1, &pos) == WSF_UTF8_OK, "empty unmask_utf8");
    wsf_utf8_stream_init(&st);
    CHECK(wsf_utf8_stream_feed(&st, NULL, 0, 0, &pos64) == WSF_UTF8_OK, "empty feed");
    CHECK(wsf_utf8_stream_feed_unmask(&st, NULL, NULL, 0, key, 0, 1, &pos64) == WSF_UTF8_OK, "empty feed unmask");
}

int main(void)
{
    char levels[128];
    snprintf(levels, sizeof levels, "%s", wsf_supported_levels());
    printf("supported levels: %s\n", levels);
    test_dispatch();
    level = "none";
    test_header();
    for (char *lv = strtok(levels, ","); lv; lv = strtok(NULL, ",")) {
        level = lv;
        CHECK(wsf_dispatch_init(lv) == 0, "init %s", lv);
        printf("level %s: mask=%s utf8=%s\n", lv, wsf_mask_kernel_name(), wsf_utf8_kernel_name());
        test_empty_null();
        test_mask();
        test_utf8();
        test_utf8_vs_generic();
        test_stream();
        fflush(stdout);
    }
    printf(failures ? "%d FAILURES\n" : "all passed\n", failures);
    return failures ? 1 : 0;
}
